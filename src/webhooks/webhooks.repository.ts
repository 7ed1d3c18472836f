import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { PaymentObject, RefundObject, WebhookEventRow, WebhookEventType } from './webhook-events.js';

/** A delivery a worker holds by lease: what it needs to send it, and when its first attempt was. */
export interface ClaimedDelivery {
  id: string;
  /** This worker's lease: only its holder records the outcome. */
  leaseId: string;
  attempts: number;
  /** The first failure of its current streak (none yet, or reset by a redelivery): the give-up time runs from it. */
  failingSince: string | null;
  endpointId: string;
  url: string;
  secret: string;
  endpointStatus: 'enabled' | 'disabled';
  event: Pick<WebhookEventRow, 'id' | 'type' | 'data' | 'createdAt'>;
}

export interface DeliveryAttempt {
  attemptedAt: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

/** What became of one attempt, for the delivery's row. */
export type AttemptOutcome =
  | { kind: 'delivered' }
  /** Tried again at `nextAttemptAt`. */
  | { kind: 'retry'; nextAttemptAt: Date }
  /** Given up; `disableEndpoint` also disables its endpoint (410 Gone, or failing past the give-up time). */
  | { kind: 'failed'; disableEndpoint?: string };

export interface EventQuery {
  merchantId?: string;
  type?: string;
  createdGte?: Date;
  createdLte?: Date;
  /** An event id: the page starts after it (newest first). */
  startingAfter?: string;
  limit: number;
}

/**
 * The webhook tables as the stage, the delivery workers and the events API use them: events stored with
 * their deliveries, deliveries leased and their attempts recorded, events listed and queued again
 * (migration 1764280000000). The endpoints are WebhookEndpointsRepository's.
 */
@Injectable()
export class WebhooksRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores outcomes as events, each once (its id is the outcome's), and for each event stored now one
   * delivery per enabled endpoint of its merchant subscribed to its type: in one transaction, before
   * the stage commits the offsets. A redelivered record adds nothing.
   */
  async ingest(events: WebhookEventRow[]): Promise<void> {
    if (events.length === 0) return;
    await this.dataSource.query(
      `WITH incoming AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS e(id text, "merchantId" text, type text, "paymentId" uuid, "refundId" uuid, data jsonb, "createdAt" timestamptz)
       ), stored AS (
         INSERT INTO webhook_events (id, merchant_id, type, payment_id, refund_id, data, created_at)
         SELECT id, "merchantId", type, "paymentId", "refundId", data, "createdAt" FROM incoming
         ON CONFLICT (id) DO NOTHING
         RETURNING id, merchant_id, type
       )
       INSERT INTO webhook_deliveries (event_id, endpoint_id)
       SELECT s.id, w.id FROM stored s
       JOIN webhook_endpoints w ON w.merchant_id = s.merchant_id AND w.status = 'enabled' AND w.deleted_at IS NULL
         AND (s.type = ANY(w.events) OR '*' = ANY(w.events))
       ON CONFLICT ON CONSTRAINT webhook_deliveries_once_per_endpoint DO NOTHING`,
      [JSON.stringify(events)],
    );
  }

  /**
   * Up to `limit` due deliveries, each leased to this worker for `leaseMs` (FOR UPDATE SKIP LOCKED:
   * several workers never take the same one). A worker that dies mid-delivery leaves its lease to run
   * out; the delivery is then due again and sent again: at least once.
   */
  async claimDue(limit: number, leaseMs: number, perEndpoint: number): Promise<ClaimedDelivery[]> {
    const rows: {
      id: string;
      lease_id: string;
      attempts: number;
      failing_since: Date | null;
      endpoint_id: string;
      url: string;
      secret: string;
      endpoint_status: 'enabled' | 'disabled';
      event_id: string;
      type: WebhookEventType;
      data: PaymentObject | RefundObject;
      created_at: Date;
    }[] = await this.dataSource.query(
      `WITH due AS (
         SELECT id FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
           -- A few per endpoint at a time: one that hangs cannot hold every worker slot.
           AND endpoint_id NOT IN (SELECT endpoint_id FROM webhook_deliveries WHERE status = 'pending' AND locked_until >= now()
                                   GROUP BY endpoint_id HAVING count(*) >= $3)
         ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
       ), leased AS (
         UPDATE webhook_deliveries d SET locked_until = now() + ($2::int * interval '1 millisecond'), lease_id = gen_random_uuid() FROM due WHERE d.id = due.id
         RETURNING d.id, d.lease_id, d.attempts, d.failing_since, d.event_id, d.endpoint_id
       )
       SELECT l.id, l.lease_id, l.attempts, l.failing_since,
              l.endpoint_id, w.url, w.secret, w.status AS endpoint_status, l.event_id, e.type, e.data, e.created_at
       FROM leased l JOIN webhook_endpoints w ON w.id = l.endpoint_id JOIN webhook_events e ON e.id = l.event_id`,
      [limit, leaseMs, perEndpoint],
    );
    return rows.map((r) => ({
      id: r.id,
      leaseId: r.lease_id,
      attempts: r.attempts,
      failingSince: r.failing_since?.toISOString() ?? null,
      endpointId: r.endpoint_id,
      url: r.url,
      secret: r.secret,
      endpointStatus: r.endpoint_status,
      event: { id: r.event_id, type: r.type, data: r.data, createdAt: r.created_at.toISOString() },
    }));
  }

  /**
   * One attempt's record and, if this worker still holds the delivery's lease, its new state, together.
   * A lease that ran out (another worker took the delivery) or was taken back (a redelivery, the
   * endpoint deleted or disabled) leaves the state to whoever holds it now.
   */
  async recordAttempt(delivery: Pick<ClaimedDelivery, 'id' | 'endpointId' | 'leaseId'>, attempt: DeliveryAttempt, outcome: AttemptOutcome): Promise<void> {
    if (outcome.kind === 'failed' && outcome.disableEndpoint) return this.recordAttemptDisabling(delivery, attempt, outcome.disableEndpoint);
    // The common outcomes in one statement (one round trip, atomic): this runs once per delivery, and
    // at five round trips (a transaction of three) a busy endpoint's deliveries fell behind its
    // payments in `npm run chaos`. Data-modifying CTEs all run, referenced or not.
    const status = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'failed' ? 'failed' : 'pending';
    await this.dataSource.query(
      `WITH attempt AS (
         INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, duration_ms, error) VALUES ($1, $7, $3, $8, $4)
       ), updated AS (
         UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2::text, locked_until = NULL, lease_id = NULL, last_status_code = $3, last_error = $4,
           next_attempt_at = COALESCE($5::timestamptz, next_attempt_at), delivered_at = CASE WHEN $2::text = 'delivered' THEN now() ELSE delivered_at END,
           failing_since = CASE WHEN $2::text = 'delivered' THEN NULL ELSE COALESCE(failing_since, $7::timestamptz) END
         WHERE id = $1 AND lease_id = $6 AND status = 'pending'
         RETURNING endpoint_id
       )
       -- A success ends the endpoint's failing streak; a first failure starts one (only by the lease's holder).
       UPDATE webhook_endpoints w SET failing_since = CASE WHEN $2::text = 'delivered' THEN NULL ELSE now() END
       FROM updated u
       WHERE w.id = u.endpoint_id AND CASE WHEN $2::text = 'delivered' THEN w.failing_since IS NOT NULL ELSE w.failing_since IS NULL END`,
      [
        delivery.id,
        status,
        attempt.statusCode,
        attempt.error?.slice(0, 500) ?? null,
        outcome.kind === 'retry' ? outcome.nextAttemptAt : null,
        delivery.leaseId,
        attempt.attemptedAt,
        Math.round(attempt.durationMs),
      ],
    );
  }

  /** An attempt that gives up and disables its endpoint: its other pending deliveries are cancelled with it. */
  private async recordAttemptDisabling(delivery: Pick<ClaimedDelivery, 'id' | 'endpointId' | 'leaseId'>, attempt: DeliveryAttempt, reason: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(`INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, duration_ms, error) VALUES ($1, $2, $3, $4, $5)`, [
        delivery.id,
        attempt.attemptedAt,
        attempt.statusCode,
        Math.round(attempt.durationMs),
        attempt.error?.slice(0, 500) ?? null,
      ]);
      const [, updated]: [unknown, number] = await tx.query(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, status = 'failed', locked_until = NULL, lease_id = NULL, last_status_code = $2, last_error = $3,
           failing_since = COALESCE(failing_since, $5::timestamptz)
         WHERE id = $1 AND lease_id = $4 AND status = 'pending'`,
        [delivery.id, attempt.statusCode, attempt.error?.slice(0, 500) ?? null, delivery.leaseId, attempt.attemptedAt],
      );
      if (updated === 0) return;
      await tx.query(`UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, failing_since = COALESCE(failing_since, now()) WHERE id = $1`, [delivery.endpointId, reason]);
      await tx.query(`UPDATE webhook_deliveries SET status = 'cancelled', locked_until = NULL WHERE endpoint_id = $1 AND status = 'pending' AND id <> $2`, [delivery.endpointId, delivery.id]);
    });
  }

  /** A delivery of a disabled or deleted endpoint that was already leased: it is not sent. */
  async cancel(deliveryId: string): Promise<void> {
    await this.dataSource.query(`UPDATE webhook_deliveries SET status = 'cancelled', locked_until = NULL WHERE id = $1 AND status = 'pending'`, [deliveryId]);
  }

  /** How long the endpoint has been failing (null: it is not), for the give-up rule. */
  async failingSince(endpointId: string): Promise<Date | null> {
    const [row] = await this.dataSource.query(`SELECT failing_since FROM webhook_endpoints WHERE id = $1`, [endpointId]);
    return row?.failing_since ?? null;
  }

  async events(query: EventQuery): Promise<WebhookEventRow[]> {
    const rows = await this.dataSource.query(
      `SELECT id, merchant_id AS "merchantId", type, payment_id AS "paymentId", refund_id AS "refundId", data, created_at AS "createdAt"
       FROM webhook_events e
       WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR type = $2)
         AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at <= $4)
         AND ($5::text IS NULL OR (created_at, id) < (SELECT created_at, id FROM webhook_events WHERE id = $5))
       ORDER BY created_at DESC, id DESC LIMIT $6`,
      [query.merchantId ?? null, query.type ?? null, query.createdGte ?? null, query.createdLte ?? null, query.startingAfter ?? null, query.limit],
    );
    return rows.map(eventOf);
  }

  async event(id: string, merchantId?: string): Promise<WebhookEventRow | null> {
    const [row] = await this.dataSource.query(
      `SELECT id, merchant_id AS "merchantId", type, payment_id AS "paymentId", refund_id AS "refundId", data, created_at AS "createdAt"
       FROM webhook_events WHERE id = $1 AND ($2::text IS NULL OR merchant_id = $2)`,
      [id, merchantId ?? null],
    );
    return row ? eventOf(row) : null;
  }

  /**
   * Queues the event again for every enabled endpoint of its merchant subscribed to its type: a new
   * delivery where it had none, the earlier one due now (its attempts kept) where it had. Returns how many.
   */
  async redeliver(event: Pick<WebhookEventRow, 'id' | 'merchantId' | 'type'>): Promise<number> {
    const rows = await this.dataSource.query(
      `INSERT INTO webhook_deliveries (event_id, endpoint_id)
       SELECT $1, w.id FROM webhook_endpoints w
       WHERE w.merchant_id = $2 AND w.status = 'enabled' AND w.deleted_at IS NULL AND ($3 = ANY(w.events) OR '*' = ANY(w.events))
       ON CONFLICT ON CONSTRAINT webhook_deliveries_once_per_endpoint
       DO UPDATE SET status = 'pending', next_attempt_at = now(), locked_until = NULL, lease_id = NULL, failing_since = NULL
       RETURNING id`,
      [event.id, event.merchantId, event.type],
    );
    return rows.length;
  }

  /** Deliveries due now, and the age of the oldest, for the gauges. */
  async backlog(): Promise<{ due: number; oldestDueSeconds: number }> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS due, COALESCE(EXTRACT(EPOCH FROM now() - min(next_attempt_at)), 0)::float AS oldest
       FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()`,
    );
    return { due: row.due, oldestDueSeconds: row.oldest };
  }
}

function eventOf(row: WebhookEventRow & { createdAt: Date }): WebhookEventRow {
  return { ...row, createdAt: row.createdAt.toISOString() };
}
