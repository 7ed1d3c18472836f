import type { EntityManager } from 'typeorm';

export interface InvariantViolation {
  invariant: string;
  detail: Record<string, unknown>;
}

/**
 * The ledger's invariants, checked with SQL against what PostgreSQL holds. An empty list means: every
 * currency's debits equal its credits, every account's posted totals equal the sum of its transfers,
 * no wallet is below zero, and each completed payment has exactly one transfer of its amount while
 * no other payment has any.
 */
export async function checkLedgerInvariants(manager: EntityManager, scope?: { userIds: string[] }): Promise<InvariantViolation[]> {
  if (scope) return checkPayersInvariants(manager, scope.userIds);
  const checks: { invariant: string; sql: string }[] = [
    {
      invariant: 'debits and credits of each currency balance',
      sql: `SELECT currency, SUM(debits_posted)::text AS debits, SUM(credits_posted)::text AS credits
            FROM ledger_accounts GROUP BY currency HAVING SUM(debits_posted) <> SUM(credits_posted)`,
    },
    {
      invariant: "each account's posted totals equal the sum of its transfers",
      sql: `SELECT a.id, a.debits_posted::text, a.credits_posted::text, d.total::text AS transfer_debits, c.total::text AS transfer_credits
            FROM ledger_accounts a
            LEFT JOIN (SELECT debit_account_id AS id, SUM(amount) AS total FROM ledger_transfers GROUP BY 1) d ON d.id = a.id
            LEFT JOIN (SELECT credit_account_id AS id, SUM(amount) AS total FROM ledger_transfers GROUP BY 1) c ON c.id = a.id
            WHERE a.debits_posted <> COALESCE(d.total, 0) OR a.credits_posted <> COALESCE(c.total, 0)`,
    },
    {
      invariant: 'no wallet is below zero',
      sql: `SELECT id, (credits_posted - debits_posted)::text AS balance FROM ledger_accounts
            WHERE kind = 'wallet' AND credits_posted < debits_posted`,
    },
    {
      invariant: 'each completed payment has exactly one transfer of its amount, and no other payment has one',
      sql: `SELECT p.id, p.status, p.amount_minor::text, COUNT(t.id) AS transfers, SUM(t.amount)::text AS moved
            FROM payments p LEFT JOIN ledger_transfers t ON t.payment_id = p.id
            GROUP BY p.id
            HAVING (p.status = 'COMPLETED' AND (COUNT(t.id) <> 1 OR SUM(t.amount) <> p.amount_minor))
                OR (p.status <> 'COMPLETED' AND COUNT(t.id) > 0)`,
    },
    {
      invariant: 'every payment transfer belongs to a completed payment',
      sql: `SELECT t.id FROM ledger_transfers t LEFT JOIN payments p ON p.id = t.payment_id
            WHERE t.code = 'PAYMENT' AND (p.id IS NULL OR p.status <> 'COMPLETED')`,
    },
  ];
  return run(manager, checks, []);
}

/**
 * The same invariants over these payers only: their wallets and their payments. For a test that
 * shares the database with others (whose accounts it must neither depend on nor vouch for); the
 * ledger-wide balance of debits and credits is left to the unscoped check.
 */
function checkPayersInvariants(manager: EntityManager, userIds: string[]): Promise<InvariantViolation[]> {
  const wallets = `(SELECT id FROM ledger_accounts WHERE kind = 'wallet' AND owner_id = ANY($1))`;
  return run(
    manager,
    [
      {
        invariant: "each account's posted totals equal the sum of its transfers",
        sql: `SELECT a.id, a.debits_posted::text, a.credits_posted::text
              FROM ledger_accounts a
              LEFT JOIN (SELECT debit_account_id AS id, SUM(amount) AS total FROM ledger_transfers WHERE debit_account_id IN ${wallets} GROUP BY 1) d ON d.id = a.id
              LEFT JOIN (SELECT credit_account_id AS id, SUM(amount) AS total FROM ledger_transfers WHERE credit_account_id IN ${wallets} GROUP BY 1) c ON c.id = a.id
              WHERE a.id IN ${wallets} AND (a.debits_posted <> COALESCE(d.total, 0) OR a.credits_posted <> COALESCE(c.total, 0))`,
      },
      {
        invariant: 'no wallet is below zero',
        sql: `SELECT id, (credits_posted - debits_posted)::text AS balance FROM ledger_accounts WHERE id IN ${wallets} AND credits_posted < debits_posted`,
      },
      {
        invariant: 'each completed payment has exactly one transfer of its amount, and no other payment has one',
        sql: `SELECT p.id, p.status, p.amount_minor::text, COUNT(t.id) AS transfers FROM payments p LEFT JOIN ledger_transfers t ON t.payment_id = p.id
              WHERE p.user_id = ANY($1) GROUP BY p.id
              HAVING (p.status = 'COMPLETED' AND (COUNT(t.id) <> 1 OR SUM(t.amount) <> p.amount_minor)) OR (p.status <> 'COMPLETED' AND COUNT(t.id) > 0)`,
      },
      {
        invariant: 'every payment transfer belongs to a completed payment',
        sql: `SELECT t.id FROM ledger_transfers t LEFT JOIN payments p ON p.id = t.payment_id
              WHERE t.code = 'PAYMENT' AND t.debit_account_id IN ${wallets} AND (p.id IS NULL OR p.status <> 'COMPLETED')`,
      },
    ],
    [userIds],
  );
}

async function run(manager: EntityManager, checks: { invariant: string; sql: string }[], parameters: unknown[]): Promise<InvariantViolation[]> {
  const violations: InvariantViolation[] = [];
  for (const { invariant, sql } of checks) {
    const rows: Record<string, unknown>[] = await manager.query(sql, parameters);
    violations.push(...rows.map((detail) => ({ invariant, detail })));
  }
  return violations;
}
