import type { EntityManager } from 'typeorm';

export interface InvariantViolation {
  invariant: string;
  detail: Record<string, unknown>;
}

/**
 * The ledger's invariants, checked with SQL against what PostgreSQL holds. An empty list means: every
 * currency's debits equal its credits, every account's posted totals equal the sum of its transfers,
 * no wallet is below zero, each completed payment has exactly one transfer of its amount while
 * no other payment has any, and each succeeded refund has exactly one reversal transfer (merchant to
 * payer) of its amount while no payment is refunded beyond its amount.
 *
 * With `scope`, the same checks over these payers only (their wallets and payments), for a test that
 * shares the database with others whose accounts it must neither depend on nor vouch for; the
 * ledger-wide balance of debits and credits is then left to the unscoped check.
 */
export async function checkLedgerInvariants(manager: EntityManager, scope?: { userIds: string[] }): Promise<InvariantViolation[]> {
  // SQL conditions that keep every check to the scope's rows ($1: the payers), or to all of them.
  const wallets = `(SELECT id FROM ledger_accounts WHERE kind = 'wallet' AND owner_id = ANY($1))`;
  const only = scope
    ? { accounts: `a.id IN ${wallets}`, payments: 'p.user_id = ANY($1)', refunds: 'r.user_id = ANY($1)', transfers: `(t.debit_account_id IN ${wallets} OR t.credit_account_id IN ${wallets})` }
    : { accounts: 'TRUE', payments: 'TRUE', refunds: 'TRUE', transfers: 'TRUE' };
  const checks: { invariant: string; sql: string; unscopedOnly?: boolean }[] = [
    {
      invariant: 'debits and credits of each currency balance',
      unscopedOnly: true,
      sql: `SELECT currency, SUM(debits_posted)::text AS debits, SUM(credits_posted)::text AS credits
            FROM ledger_accounts GROUP BY currency HAVING SUM(debits_posted) <> SUM(credits_posted)`,
    },
    {
      invariant: "each account's posted totals equal the sum of its transfers",
      sql: `SELECT a.id, a.debits_posted::text, a.credits_posted::text, d.total::text AS transfer_debits, c.total::text AS transfer_credits
            FROM ledger_accounts a
            LEFT JOIN (SELECT debit_account_id AS id, SUM(amount) AS total FROM ledger_transfers GROUP BY 1) d ON d.id = a.id
            LEFT JOIN (SELECT credit_account_id AS id, SUM(amount) AS total FROM ledger_transfers GROUP BY 1) c ON c.id = a.id
            WHERE ${only.accounts} AND (a.debits_posted <> COALESCE(d.total, 0) OR a.credits_posted <> COALESCE(c.total, 0))`,
    },
    {
      invariant: 'no wallet is below zero',
      sql: `SELECT a.id, (a.credits_posted - a.debits_posted)::text AS balance FROM ledger_accounts a
            WHERE ${only.accounts} AND a.kind = 'wallet' AND a.credits_posted < a.debits_posted`,
    },
    {
      invariant: 'each completed payment has exactly one transfer of its amount, and no other payment has one',
      sql: `SELECT p.id, p.status, p.amount_minor::text, COUNT(t.id) AS transfers, SUM(t.amount)::text AS moved
            FROM payments p LEFT JOIN ledger_transfers t ON t.payment_id = p.id
            WHERE ${only.payments}
            GROUP BY p.id
            HAVING (p.status = 'COMPLETED' AND (COUNT(t.id) <> 1 OR SUM(t.amount) <> p.amount_minor))
                OR (p.status <> 'COMPLETED' AND COUNT(t.id) > 0)`,
    },
    {
      invariant: 'every payment transfer belongs to a completed payment',
      sql: `SELECT t.id FROM ledger_transfers t LEFT JOIN payments p ON p.id = t.payment_id
            WHERE ${only.transfers} AND t.code = 'PAYMENT' AND (p.id IS NULL OR p.status <> 'COMPLETED')`,
    },
    {
      invariant: 'each succeeded refund has exactly one reversal transfer of its amount, and no other refund has one',
      sql: `SELECT r.id, r.status, r.amount_minor::text, COUNT(t.id) AS transfers, SUM(t.amount)::text AS moved
            FROM refunds r LEFT JOIN ledger_transfers t ON t.refund_id = r.id
            WHERE ${only.refunds}
            GROUP BY r.id
            HAVING (r.status = 'SUCCEEDED' AND (COUNT(t.id) <> 1 OR SUM(t.amount) <> r.amount_minor
                     OR MIN(t.debit_account_id) <> 'merchant:' || r.merchant_id || ':' || r.currency
                     OR MIN(t.credit_account_id) <> 'wallet:' || r.user_id || ':' || r.currency))
                OR (r.status <> 'SUCCEEDED' AND COUNT(t.id) > 0)`,
    },
    {
      invariant: "no payment is refunded beyond its amount, and its refunded total is the sum of its succeeded refunds",
      sql: `SELECT p.id, p.amount_minor::text, p.amount_refunded_minor::text AS refunded, COALESCE(SUM(r.amount_minor), 0)::text AS succeeded
            FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id AND r.status = 'SUCCEEDED'
            WHERE ${only.payments}
            GROUP BY p.id
            HAVING p.amount_refunded_minor > p.amount_minor OR p.amount_refunded_minor <> COALESCE(SUM(r.amount_minor), 0)`,
    },
    {
      invariant: 'every refund transfer belongs to a succeeded refund',
      sql: `SELECT t.id FROM ledger_transfers t LEFT JOIN refunds r ON r.id = t.refund_id
            WHERE ${only.transfers} AND t.code = 'REFUND' AND (r.id IS NULL OR r.status <> 'SUCCEEDED')`,
    },
  ];
  const violations: InvariantViolation[] = [];
  for (const { invariant, sql, unscopedOnly } of checks) {
    if (scope && unscopedOnly) continue;
    const rows: Record<string, unknown>[] = await manager.query(sql, scope ? [scope.userIds] : []);
    violations.push(...rows.map((detail) => ({ invariant, detail })));
  }
  return violations;
}
