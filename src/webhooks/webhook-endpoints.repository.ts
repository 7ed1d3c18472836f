import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { DeliveryAttempt } from './webhooks.repository.js';

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  url: string;
  events: string[];
  description: string | null;
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempts: DeliveryAttempt[];
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

const ENDPOINT_COLUMNS = `id, merchant_id AS "merchantId", url, events, description, status, disabled_reason AS "disabledReason", created_at AS "createdAt"`;

/** A merchant's webhook endpoints and the history of their deliveries: what the endpoints API reads and writes. */
@Injectable()
export class WebhookEndpointsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async createEndpoint(endpoint: { merchantId: string; url: string; events: string[]; description: string | null; secret: string }): Promise<WebhookEndpoint> {
    const [row] = await this.dataSource.query(
      `INSERT INTO webhook_endpoints (id, merchant_id, url, events, description, secret) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ENDPOINT_COLUMNS}`,
      [`we_${randomBytes(12).toString('hex')}`, endpoint.merchantId, endpoint.url, endpoint.events, endpoint.description, endpoint.secret],
    );
    return endpointOf(row);
  }

  async endpoints(merchantId?: string): Promise<WebhookEndpoint[]> {
    const rows = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL AND ($1::text IS NULL OR merchant_id = $1) ORDER BY created_at DESC`,
      [merchantId ?? null],
    );
    return rows.map(endpointOf);
  }

  async endpoint(id: string, merchantId?: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL AND ($2::text IS NULL OR merchant_id = $2)`,
      [id, merchantId ?? null],
    );
    return row ? endpointOf(row) : null;
  }

  /** Deletes the endpoint (kept for its deliveries' history) and cancels what it had still to get. */
  async deleteEndpoint(id: string): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await tx.query(`UPDATE webhook_endpoints SET deleted_at = now(), status = 'disabled', disabled_reason = 'deleted' WHERE id = $1`, [id]);
      await tx.query(`UPDATE webhook_deliveries SET status = 'cancelled', locked_until = NULL, lease_id = NULL WHERE endpoint_id = $1 AND status = 'pending'`, [id]);
    });
  }

  async rotateSecret(id: string, secret: string): Promise<void> {
    await this.dataSource.query(`UPDATE webhook_endpoints SET secret = $2 WHERE id = $1`, [id, secret]);
  }

  /** The endpoint's deliveries, newest first, each with its attempts. */
  async deliveries(endpointId: string, limit: number): Promise<DeliveryView[]> {
    const rows = await this.dataSource.query(
      `SELECT d.id, d.event_id AS "eventId", e.type AS "eventType", d.status, d.next_attempt_at AS "nextAttemptAt", d.delivered_at AS "deliveredAt", d.created_at AS "createdAt",
              COALESCE((SELECT jsonb_agg(jsonb_build_object('attemptedAt', a.attempted_at, 'statusCode', a.status_code, 'durationMs', a.duration_ms, 'error', a.error) ORDER BY a.attempted_at)
                        FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempts
       FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
       WHERE d.endpoint_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2`,
      [endpointId, limit],
    );
    return rows.map((r: DeliveryView & { nextAttemptAt: Date; deliveredAt: Date | null; createdAt: Date }) => ({
      ...r,
      nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt.toISOString() : null,
      deliveredAt: r.deliveredAt?.toISOString() ?? null,
      createdAt: r.createdAt.toISOString(),
    }));
  }
}

function endpointOf(row: WebhookEndpoint & { createdAt: Date }): WebhookEndpoint {
  return { ...row, createdAt: row.createdAt.toISOString() };
}
