import { Injectable } from '@nestjs/common';
import { DataSource, In, type EntityManager } from 'typeorm';
import type { PaymentPayload } from './payment-events.js';
import { PaymentRecord } from './payment-record.entity.js';
import type { PaymentStage, PaymentStatus } from './payment-status.js';

/** A payment's one outcome, as its terminal row records it. */
export interface TerminalOutcome {
  status: Extract<PaymentStatus, 'COMPLETED' | 'DECLINED' | 'REJECTED' | 'FAILED'>;
  stage: PaymentStage;
  reason: string | null;
  riskScore?: number | null;
  detail?: Record<string, unknown>;
}

export interface TerminalRow {
  paymentId: string;
  payment: PaymentPayload;
  outcome: TerminalOutcome;
}

/** The columns of a terminal row the intake's Idempotency-Key recall compares and replays. */
export type RecalledPayment = Pick<PaymentRecord, 'id' | 'merchantId' | 'orderId' | 'userId' | 'amountMinor' | 'currency' | 'status' | 'stage' | 'reason' | 'acceptedAt'>;

/**
 * Where a write runs: a caller's open transaction (the ledger's posting), or on its own. Opaque to
 * services; only repositories open it.
 */
export type Transaction = EntityManager;

/**
 * The `payments` table: the one writer of terminal rows (the stages, the dead letters, the intake's
 * abandonment and the ledger's postings all go through `insertTerminal`) and its readers.
 */
@Injectable()
export class PaymentRecords {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Writes the rows in one statement and returns the ids it wrote. `keep-first`: a row that exists
   * stays and this one is dropped (first outcome wins). `fail`: a row that exists fails the statement,
   * so that inside the ledger's transaction the money moved with it rolls back.
   */
  async insertTerminal(rows: TerminalRow[], onConflict: 'keep-first' | 'fail', tx: Transaction = this.dataSource.manager): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const inserted: { id: string }[] = await tx.query(
      `INSERT INTO payments (id, merchant_id, order_id, user_id, amount_minor, currency, status, stage, reason, risk_score, accepted_at)
       SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::bigint[], $6::char(3)[],
                            $7::varchar[], $8::varchar[], $9::varchar[], $10::integer[], $11::timestamptz[])
       ${onConflict === 'keep-first' ? 'ON CONFLICT (id) DO NOTHING' : ''}
       RETURNING id`,
      [
        rows.map((r) => r.paymentId),
        rows.map((r) => r.payment.merchantId),
        rows.map((r) => r.payment.orderId),
        rows.map((r) => r.payment.userId),
        rows.map((r) => r.payment.amountMinor),
        rows.map((r) => r.payment.currency),
        rows.map((r) => r.outcome.status),
        rows.map((r) => r.outcome.stage),
        rows.map((r) => r.outcome.reason),
        rows.map((r) => r.outcome.riskScore ?? null),
        rows.map((r) => r.payment.acceptedAt),
      ],
    );
    return new Set(inserted.map((row) => row.id));
  }

  async findByIds(ids: string[], tx: Transaction = this.dataSource.manager): Promise<Map<string, PaymentRecord>> {
    if (ids.length === 0) return new Map();
    const rows = await tx.getRepository(PaymentRecord).findBy({ id: In(ids) });
    return new Map(rows.map((row) => [row.id, row]));
  }

  findById(id: string): Promise<PaymentRecord | null> {
    return this.dataSource.manager.getRepository(PaymentRecord).findOneBy({ id });
  }

  /** A primary-key read in SQL: on the intake's path, TypeORM's find() cost more CPU than the query itself. */
  recall(ids: string[]): Promise<RecalledPayment[]> {
    return this.dataSource.query(
      `SELECT id, merchant_id AS "merchantId", order_id AS "orderId", user_id AS "userId", amount_minor::text AS "amountMinor",
              currency, status, stage, reason, accepted_at AS "acceptedAt"
         FROM payments WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  /** Each of these payments' terminal status, for those that have a row (the verifier's check). */
  async statuses(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows: { id: string; status: string }[] = await this.dataSource.query(`SELECT id, status FROM payments WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((row) => [row.id, row.status]));
  }

  /** Which of these (merchant, order) pairs already have a COMPLETED payment, as `merchant\0order`. */
  async completedOrders(orders: { merchantId: string; orderId: string }[], tx: Transaction): Promise<Set<string>> {
    if (orders.length === 0) return new Set();
    const rows: { merchant_id: string; order_id: string }[] = await tx.query(
      `SELECT p.merchant_id, p.order_id FROM payments p
       JOIN unnest($1::varchar[], $2::varchar[]) AS o(merchant_id, order_id)
         ON p.merchant_id = o.merchant_id AND p.order_id = o.order_id
       WHERE p.status = 'COMPLETED'`,
      [orders.map((o) => o.merchantId), orders.map((o) => o.orderId)],
    );
    return new Set(rows.map((row) => orderKey({ merchantId: row.merchant_id, orderId: row.order_id })));
  }
}

export function orderKey(order: { merchantId: string; orderId: string }): string {
  return `${order.merchantId}\u0000${order.orderId}`;
}
