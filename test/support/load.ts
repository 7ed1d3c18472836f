import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { request } from './http.js';

/**
 * Steady load for failover tests: a few concurrent clients posting payments without pause, recording
 * every paymentId that got a 202 (what the service promised) and counting every other answer.
 */
export class PaymentLoad {
  readonly accepted: { paymentId: string; userId: string; amountMinor: number }[] = [];
  readonly statuses = new Map<string, number>();
  /** 202s per second of the run, to see a failover's dip. */
  readonly timeline: { at: number; accepted: number; other: number }[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private started = 0;

  constructor(
    private readonly urls: string[],
    private readonly payers: string[],
    private readonly concurrency = 4,
  ) {}

  start(): void {
    this.running = true;
    this.started = Date.now();
    this.loops = Array.from({ length: this.concurrency }, (_, i) => this.loop(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  get count(): number {
    return this.accepted.length;
  }

  private async loop(worker: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const userId = this.payers[(worker + i * this.concurrency) % this.payers.length];
      const url = this.urls[(worker + i) % this.urls.length];
      const second = Math.floor((Date.now() - this.started) / 1000);
      const slot = (this.timeline[second] ??= { at: second, accepted: 0, other: 0 });
      let status: string;
      try {
        const { status: code, body } = await request(`${url}/api/payments`, {
          body: { orderId: `LOAD-${randomUUID()}`, amount: '1.00', currency: 'USD', userId },
        });
        status = String(code);
        if (code === 202) {
          this.accepted.push({ paymentId: body.paymentId, userId, amountMinor: 100 });
          slot.accepted++;
        } else {
          slot.other++;
          if (code >= 500) await new Promise((resolve) => setTimeout(resolve, 100)); // as a client honouring Retry-After would, briefly
        }
      } catch (error) {
        status = `error:${(error as Error).message}`;
        slot.other++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    }
  }

  summary(): string {
    const timeline = [...this.timeline].map((s) => (s ? `${s.accepted}${s.other ? `/${s.other}!` : ''}` : '0')).join(' ');
    return `answers ${JSON.stringify(Object.fromEntries(this.statuses))}; 202s per second (/non-202!): ${timeline}`;
  }
}

/** Funds each payer's USD wallet through the API (deposits), so payments of 1.00 complete. */
export async function fundPayers(apiUrl: string, payers: string[], amount = '1000'): Promise<void> {
  for (const userId of payers) {
    const { status } = await request(`${apiUrl}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount, currency: 'USD' } });
    if (status !== 201) throw new Error(`deposit for ${userId} answered ${status}`);
  }
}

/** Waits until every payment has a terminal row in PostgreSQL; returns the ids still without one. */
export async function waitForTerminal(dataSource: DataSource, paymentIds: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = paymentIds;
  while (missing.length > 0) {
    const rows: { id: string }[] = await dataSource.query(`SELECT id FROM payments WHERE id = ANY($1::uuid[])`, [missing]);
    const found = new Set(rows.map((r) => r.id));
    missing = missing.filter((id) => !found.has(id));
    if (missing.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return missing;
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
