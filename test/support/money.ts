/** What a load did to money, from PostgreSQL, and the funding the failover suites give their payers first. */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { request } from './http.js';

/** Funds each payer's USD wallet through the API (deposits), so payments of 1.00 complete. */
export async function fundPayers(apiUrl: string, payers: string[], amount = '1000'): Promise<void> {
  for (const userId of payers) {
    const { status } = await request(`${apiUrl}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount, currency: 'USD' } });
    if (status !== 201) throw new Error(`deposit for ${userId} answered ${status}`);
  }
}

export interface MoneyCheck {
  /** Accepted (202) payments without a terminal row. */
  lost: string[];
  /** Accepted payments with more than one transfer, and payers debited more than their completed payments. */
  doubled: string[];
  /** Accepted (202) payments that ended FAILED: a 202 promised the event was durable. */
  failedAfterAccept: string[];
  byStatus: Record<string, number>;
}

/**
 * What a failover must not do to money, from PostgreSQL: every 202 has one terminal row, no payment
 * moved money twice, and each payer's wallet was debited exactly the sum of its completed payments.
 */
export async function checkMoney(dataSource: DataSource, accepted: { paymentId: string; userId: string }[]): Promise<MoneyCheck> {
  const ids = accepted.map((a) => a.paymentId);
  const rows: { id: string; status: string; reason: string | null }[] = await dataSource.query(
    `SELECT id, status, reason FROM payments WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const found = new Map(rows.map((r) => [r.id, r]));
  const byStatus: Record<string, number> = {};
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  const doubledTransfers: { payment_id: string }[] = await dataSource.query(
    `SELECT payment_id FROM ledger_transfers WHERE payment_id = ANY($1::uuid[]) GROUP BY payment_id HAVING COUNT(*) > 1`,
    [ids],
  );
  const payers = [...new Set(accepted.map((a) => a.userId))];
  const overDebited: { user_id: string }[] = await dataSource.query(
    `SELECT a.owner_id AS user_id FROM ledger_accounts a
       LEFT JOIN (SELECT user_id, SUM(amount_minor) AS total FROM payments WHERE status = 'COMPLETED' AND user_id = ANY($1) GROUP BY user_id) p
         ON p.user_id = a.owner_id
      WHERE a.id = ANY($2) AND a.debits_posted <> COALESCE(p.total, 0)`,
    [payers, payers.map((p) => `wallet:${p}:USD`)],
  );
  return {
    lost: ids.filter((id) => !found.has(id)),
    doubled: [...doubledTransfers.map((d) => d.payment_id), ...overDebited.map((o) => `payer ${o.user_id}`)],
    failedAfterAccept: rows.filter((r) => r.status === 'FAILED').map((r) => `${r.id} ${r.reason ?? ''}`),
    byStatus,
  };
}
