import type { EntityManager } from 'typeorm';

/** As the ledger's invariants report theirs (the verifier lists both). */
export interface WebhookInvariantViolation {
  invariant: string;
  detail: Record<string, unknown>;
}

/**
 * Webhooks' invariant, checked with SQL: every outcome of a payment or refund, of a merchant with an
 * enabled endpoint subscribed to its type that existed when the outcome was decided, has its event
 * (the id derived from the outcome, as the webhooks stage derives it) and a delivery to that endpoint.
 * Outcomes the intake wrote for a request it answered 503 are no events. Only outcomes decided before
 * `decidedBefore` are checked: the webhooks stage stores the later ones in a moment.
 */
export async function checkWebhookInvariants(manager: EntityManager, decidedBefore: Date): Promise<WebhookInvariantViolation[]> {
  const rows: { kind: string; id: string; type: string; endpoint_id: string; event: boolean }[] = await manager.query(
    `WITH outcomes AS (
       SELECT 'payment' AS kind, id::text AS id, merchant_id, 'payment.' || lower(status) AS type, updated_at AS decided_at
       FROM payments WHERE COALESCE(reason, '') <> 'PUBLISH_UNCONFIRMED' AND updated_at < $1
       UNION ALL
       SELECT 'refund', id::text, merchant_id, 'refund.' || lower(status), created_at
       FROM refunds WHERE COALESCE(outcome_reason, '') <> 'PUBLISH_UNCONFIRMED' AND created_at < $1
     ), expected AS (
       SELECT o.kind, o.id, o.type, w.id AS endpoint_id,
              'evt_' || left(encode(sha256(convert_to(o.id || '/' || o.type, 'UTF8')), 'hex'), 32) AS event_id
       FROM outcomes o JOIN webhook_endpoints w ON w.merchant_id = o.merchant_id AND w.status = 'enabled' AND w.deleted_at IS NULL
         AND w.created_at < o.decided_at AND (o.type = ANY(w.events) OR '*' = ANY(w.events))
     )
     SELECT x.kind, x.id, x.type, x.endpoint_id, (e.id IS NOT NULL) AS event
     FROM expected x LEFT JOIN webhook_events e ON e.id = x.event_id
     LEFT JOIN webhook_deliveries d ON d.event_id = x.event_id AND d.endpoint_id = x.endpoint_id
     WHERE e.id IS NULL OR d.id IS NULL
     LIMIT 100`,
    [decidedBefore],
  );
  return rows.map((r) => ({
    invariant: r.event ? 'every outcome has a delivery to each endpoint subscribed to it' : 'every outcome of a merchant with a subscribed endpoint has its event',
    detail: { [r.kind === 'payment' ? 'paymentId' : 'refundId']: r.id, type: r.type, endpointId: r.endpoint_id },
  }));
}
