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
export async function checkLedgerInvariants(manager: EntityManager): Promise<InvariantViolation[]> {
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
  const violations: InvariantViolation[] = [];
  for (const { invariant, sql } of checks) {
    const rows: Record<string, unknown>[] = await manager.query(sql);
    violations.push(...rows.map((detail) => ({ invariant, detail })));
  }
  return violations;
}
