/**
 * What the stores say after one fault of `npm run chaos` (runner.ts): of the payments, whether any was
 * lost or doubled, stuck or made twice by a retry, and what the deployment verifier finds; of the
 * refunds, whether one moved money other than once; of the webhooks, whether every outcome reached the
 * merchant's receiver, once under one id, signed.
 */
import type { DataSource } from 'typeorm';
import type { RedisClient } from '../src/redis/redis.module.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { paymentsWithoutRow, type SentRequest } from '../tools/load.js';
import { acceptedRefundIds, type SentRefund } from '../tools/refund-load.js';
import type { Fault } from './faults.js';
import type { ChaosRun } from './runner.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What PostgreSQL and the deployment verifier say about one fault's requests. */
export async function checkStores(run: ChaosRun, fault: Fault, records: SentRequest[], sample: SentRequest[], acceptedIds: Set<string>, dataSource: DataSource, redis: RedisClient) {
  const outcomes: { status: string; n: string }[] = await dataSource.query(
    `SELECT status || COALESCE(':' || reason, '') AS status, COUNT(*)::text AS n FROM payments WHERE id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 1`,
    [[...acceptedIds]],
  );
  const orders = [...new Set(records.map((r) => r.orderId))];
  // Doubled: an order completed twice, or a payment that moved money other than exactly once.
  const doubledOrders: unknown[] = await dataSource.query(
    `SELECT merchant_id, order_id, COUNT(*)::int AS completed FROM payments
     WHERE order_id = ANY($1) AND status = 'COMPLETED' GROUP BY 1, 2 HAVING COUNT(*) > 1`,
    [orders],
  );
  const doubledPayments: unknown[] = await dataSource.query(
    `SELECT p.id, p.status, COUNT(t.id)::int AS transfers FROM payments p LEFT JOIN ledger_transfers t ON t.payment_id = p.id
     WHERE p.order_id = ANY($1) GROUP BY p.id, p.status
     HAVING (p.status = 'COMPLETED' AND COUNT(t.id) <> 1) OR (p.status <> 'COMPLETED' AND COUNT(t.id) > 0)`,
    [orders],
  );
  // A 503 promises the payment was not taken: its order must not have completed unless a 202 came for it.
  const ordersWith202 = new Set(records.filter((r) => r.status === 202 || r.retry?.status === 202).map((r) => r.orderId));
  const orders503 = records.filter((r) => r.status === 503 && !r.repeatOrder && !ordersWith202.has(r.orderId)).map((r) => r.orderId);
  const behind503: unknown[] = orders503.length
    ? await dataSource.query(`SELECT id, order_id FROM payments WHERE order_id = ANY($1) AND status = 'COMPLETED'`, [orders503])
    : [];
  // A 409 that names an earlier payment of the order must name one that exists (and ends).
  const named = [...new Set(records.flatMap((r) => (r.retry?.namedPaymentId ? [r.retry.namedPaymentId] : [])))];
  const stuckOrders = await paymentsWithoutRow(dataSource, named);
  // A keyed retry must never become a payment of its own, which the ledger would decline as DUPLICATE_ORDER:
  // of the sampled orders (one key each), only a repeat-order request's payment may be declined so.
  const repeatIds = records.filter((r) => r.repeatOrder).flatMap((r) => [r.paymentId, r.retry?.paymentId].filter((id): id is string => !!id));
  const duplicatesFromRetries: unknown[] = sample.length
    ? await dataSource.query(`SELECT id, order_id FROM payments WHERE order_id = ANY($1) AND reason = 'DUPLICATE_ORDER' AND NOT (id = ANY($2::uuid[]))`, [
        sample.map((r) => r.orderId),
        repeatIds,
      ])
    : [];
  run.log(`${fault.name}: running the deployment verifier`);
  const report = await new DeploymentVerifier(run.config, dataSource, redis).verify({ settleMs: run.terminalBoundS * 500 });
  return { outcomes, doubled: [...doubledOrders, ...doubledPayments], behind503, stuckOrders, duplicatesFromRetries, report };
}

/** Of these refund ids, the ones still without an outcome row after `timeoutMs` (a row is written when a refund ends). */
export async function waitForRefundOutcomes(dataSource: DataSource, refundIds: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = [...refundIds];
  for (;;) {
    const rows: { id: string }[] = missing.length ? await dataSource.query(`SELECT id FROM refunds WHERE id = ANY($1::uuid[])`, [missing]).catch(() => []) : [];
    const found = new Set(rows.map((r) => r.id));
    missing = missing.filter((id) => !found.has(id));
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(500);
  }
}

/**
 * What PostgreSQL says of the refunded payments. Doubled: a refund that moved money other than exactly
 * once (a SUCCEEDED one without exactly one transfer of its amount, another with any), or a payment
 * whose refunded total is not the sum of its succeeded refunds, or beyond its amount. A key sent twice
 * must name one refund.
 */
export async function checkRefunds(dataSource: DataSource, records: SentRefund[]) {
  const paymentIds = [...new Set(records.map((r) => r.paymentId))];
  const doubledRefunds: unknown[] = await dataSource.query(
    `SELECT r.id, r.status, r.amount_minor::text AS amount, COUNT(t.id)::int AS transfers, COALESCE(SUM(t.amount), 0)::text AS moved
     FROM refunds r LEFT JOIN ledger_transfers t ON t.refund_id = r.id
     WHERE r.payment_id = ANY($1::uuid[]) GROUP BY r.id
     HAVING (r.status = 'SUCCEEDED' AND (COUNT(t.id) <> 1 OR SUM(t.amount) <> r.amount_minor)) OR (r.status <> 'SUCCEEDED' AND COUNT(t.id) > 0)`,
    [paymentIds],
  );
  const overRefunded: unknown[] = await dataSource.query(
    `SELECT p.id, p.amount_minor::text AS amount, p.amount_refunded_minor::text AS refunded,
            COALESCE(SUM(r.amount_minor) FILTER (WHERE r.status = 'SUCCEEDED'), 0)::text AS succeeded
     FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id
     WHERE p.id = ANY($1::uuid[]) GROUP BY p.id
     HAVING COALESCE(SUM(r.amount_minor) FILTER (WHERE r.status = 'SUCCEEDED'), 0) <> p.amount_refunded_minor OR p.amount_refunded_minor > p.amount_minor`,
    [paymentIds],
  );
  const keyMismatched = records.filter((r) => {
    const ids = new Set([r.first, r.again, r.retry].flatMap((a) => (a?.status === 202 && a.refundId ? [a.refundId] : [])));
    return ids.size > 1;
  });
  const outcomes: { status: string; n: string }[] = await dataSource.query(
    `SELECT status || COALESCE(':' || outcome_reason, '') AS status, COUNT(*)::text AS n FROM refunds WHERE id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 1`,
    [acceptedRefundIds(records)],
  );
  return { doubled: [...doubledRefunds, ...overRefunded], keyMismatched, outcomes };
}

/**
 * What the merchant's receiver got of this fault's outcomes: the event of every outcome of the fault's
 * payments (and their refunds) must have been answered 2xx by the bound; a redelivery must carry the
 * same webhook-id, so one outcome never arrives under two ids; and every request must verify with the
 * endpoint's secret on arrival.
 */
export async function checkWebhooks(run: ChaosRun, dataSource: DataSource, paymentIds: string[], deadline: number) {
  const { receiver } = run.webhooks;
  // The events the fault's outcomes must have made, derived from the outcomes as the webhooks stage
  // derives them (not read from its table, which is what is being checked), asked again each pass.
  const expectedIds = async (): Promise<string[]> => {
    const rows: { id: string }[] = await dataSource.query(
      `WITH outcomes AS (
         SELECT id::text AS id, 'payment.' || lower(status) AS type FROM payments WHERE id = ANY($1::uuid[]) AND COALESCE(reason, '') <> 'PUBLISH_UNCONFIRMED'
         UNION ALL
         SELECT id::text, 'refund.' || lower(status) FROM refunds WHERE payment_id = ANY($1::uuid[]) AND COALESCE(outcome_reason, '') <> 'PUBLISH_UNCONFIRMED'
       )
       SELECT 'evt_' || left(encode(sha256(convert_to(id || '/' || type, 'UTF8')), 'hex'), 32) AS id FROM outcomes`,
      [paymentIds],
    );
    return rows.map((r) => r.id);
  };
  // Received means answered 2xx: a delivery the receiver refused (its outage) has not arrived yet.
  const delivered = () => new Set(receiver.received.filter((r) => r.answered !== undefined && r.answered >= 200 && r.answered < 300).map((r) => String(r.headers['webhook-id'])));
  let expected = await expectedIds();
  // One set per pass: built per id (it was), it cost O(expected × received) and starved the receiver,
  // which lives in this process, until deliveries timed out and were "lost" at the bound.
  const firstPass = delivered();
  let missing = expected.filter((id) => !firstPass.has(id));
  while (missing.length > 0 && Date.now() < deadline) {
    await sleep(500);
    expected = await expectedIds();
    const received = delivered();
    missing = expected.filter((id) => !received.has(id));
  }
  // Every event of the fault's payments, whatever its id: one that does not match its outcome shows below.
  const ours = new Set(paymentIds);
  const { events, forged } = receiver.checkedOnArrival();
  const verified = events.filter((event) => ours.has(String((event.data.object as { paymentId?: string }).paymentId)));
  // One outcome, one webhook-id: a payment's or refund's outcome never comes under two ids.
  const idsByOutcome = new Map<string, Set<string>>();
  for (const event of verified) {
    const object = event.data.object as { refundId?: string; paymentId?: string };
    const outcome = `${event.type}:${object.refundId ?? object.paymentId}`;
    idsByOutcome.set(outcome, (idsByOutcome.get(outcome) ?? new Set()).add(event.id));
  }
  return {
    webhooksExpected: expected.length,
    webhooksLost: missing.length,
    lostWebhookIds: missing.slice(0, 20),
    webhooksRedelivered: verified.length - new Set(verified.map((e) => e.id)).size,
    webhookIdsMismatched: [...idsByOutcome.values()].filter((ids) => ids.size > 1).length,
    webhooksForged: forged.length,
  };
}
