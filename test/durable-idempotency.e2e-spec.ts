import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TOPICS } from '../src/pipeline/stages.js';
import { CLAIM_LEASE_SECONDS } from '../src/payments/idempotency.store.js';
import { keyedPaymentId } from '../src/payments/keyed-payment-id.js';
import { request } from './support/http.js';
import { KafkaProbe } from './support/kafka-probe.js';
import { TEST_RUN_ID } from './support/test-config.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const TERMINAL = ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'];

/**
 * Idempotency-Keys across a loss of Redis's data (issue #19): the paymentId is derived from the key, and
 * PostgreSQL's terminal row answers for a key Redis forgot. Redis "forgets" here by deleting this
 * deployment's keys (its own prefix and topics, so no other suite's keys are touched), as a restart
 * without persistence would.
 */
describe('Idempotency-Keys when Redis loses them (real Kafka, Redis and PostgreSQL)', () => {
  const prefix = `test:${TEST_RUN_ID}:durable:`;
  let running: RunningApp;
  let api: string;
  let dataSource: DataSource;
  let redis: Redis;

  beforeAll(async () => {
    running = await startTestApp({ REDIS_KEY_PREFIX: prefix, KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.durable.` });
    api = running.url;
    dataSource = running.app.get(DataSource);
    redis = new Redis({ host: running.config.redis.host, port: running.config.redis.port, lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await running?.close();
  });

  /** Deletes this deployment's Redis keys that match (all of them by default), as a wipe would. */
  const forget = async (pattern = '*'): Promise<number> => {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}${pattern}`, count: 1000 }) as AsyncIterable<string[]>) keys.push(...batch);
    if (keys.length > 0) await redis.del(...keys);
    return keys.length;
  };
  const fund = async (userId: string, amount: string) =>
    expect((await request(`${api}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount, currency: 'USD' } })).status).toBe(201);
  const pay = (body: Record<string, unknown>, key: string) => request(`${api}/api/payments`, { body: { currency: 'USD', ...body }, headers: { 'idempotency-key': key } });
  const balance = async (userId: string) =>
    (await request(`${api}/api/accounts/${userId}/balances`)).body.balances.find((b: { currency: string }) => b.currency === 'USD')?.balance;
  const rowsOfOrder = (orderId: string): Promise<{ id: string; status: string; reason: string | null }[]> =>
    dataSource.query(`SELECT id, status, reason FROM payments WHERE order_id = $1 ORDER BY accepted_at`, [orderId]);
  const transfersOf = async (paymentId: string) =>
    Number((await dataSource.query(`SELECT COUNT(*)::int AS n FROM ledger_transfers WHERE payment_id = $1`, [paymentId]))[0].n);
  async function settled(paymentId: string, timeoutMs = 30_000): Promise<{ status: string; reason?: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await request(`${api}/api/payments/${paymentId}`);
      if (TERMINAL.includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`payment ${paymentId} still ${body.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('should derive the paymentId from the merchant and the key', async () => {
    const key = `derived-${randomUUID()}`;
    const accepted = await pay({ orderId: `DERIVED-${randomUUID()}`, userId: 'USER-001', amount: '0.01' }, key);
    expect(accepted.status).toBe(202);
    expect(accepted.body.paymentId).toBe(keyedPaymentId(running.config.payments.paymentIdNamespace, 'MERCHANT-001', key, 0));
  });

  it('should replay a completed payment after Redis forgot its key: the same paymentId, no second event, no second money; another body is 422', async () => {
    const userId = `DURABLE-${randomUUID().slice(0, 8)}`;
    await fund(userId, '10.00');
    const key = `durable-${randomUUID()}`;
    const body = { orderId: `DURABLE-${randomUUID()}`, userId, amount: '2.50' };
    const first = await pay(body, key);
    expect(first.status).toBe(202);
    const paymentId: string = first.body.paymentId;
    expect(await settled(paymentId)).toMatchObject({ status: 'COMPLETED' });
    expect(await balance(userId)).toBe('7.50');

    const initiated = await KafkaProbe.start(running.config, TOPICS.initiated);
    try {
      // The key's record (claim and answer) goes; the order claim and the payment's state stay.
      expect(await forget(`idempotency:*:${key}`)).toBe(1);
      const retried = await pay(body, key);
      expect(retried.status).toBe(202);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect(retried.headers.get('location')).toBe(`/api/payments/${paymentId}`);
      // The first answer, as it was: the PENDING snapshot with its acceptance time.
      expect(retried.body).toEqual(first.body);

      // The recalled answer is in Redis again: the next retry is answered from there.
      expect(JSON.parse((await redis.get(`${prefix}idempotency:MERCHANT-001:${key}`))!)).toMatchObject({ response: { body: { paymentId } } });

      // Everything of this deployment goes (key, order claim, state, streams), as a restart without persistence.
      expect(await forget()).toBeGreaterThan(0);
      const afterWipe = await pay({ ...body, amount: 2.5 }, key);
      expect(afterWipe).toMatchObject({ status: 202, body: { paymentId } });
      expect(afterWipe.headers.get('idempotent-replayed')).toBe('true');
      expect(await settled(paymentId)).toMatchObject({ status: 'COMPLETED' }); // from PostgreSQL

      // Another body with the key is refused from the stored row, whatever field differs.
      for (const other of [{ amount: '2.51' }, { orderId: `OTHER-${randomUUID()}` }, { userId: 'USER-001' }]) {
        await forget(`idempotency:*:${key}`);
        const refused = await pay({ ...body, ...other }, key);
        expect({ other, status: refused.status, code: refused.body.error?.code }).toEqual({ other, status: 422, code: 'idempotency_key_reused' });
        // The refused request holds no order either (its lease would name the key's payment, not this order's).
        expect(await redis.exists(`${prefix}order:MERCHANT-001:${other.orderId ?? body.orderId}`)).toBe(other.orderId ? 0 : 1);
      }
      // A refusal holds no claim: the right body is still replayed at once.
      expect(await pay(body, key)).toMatchObject({ status: 202, body: { paymentId } });

      // Kafka got the payment once, from the first request: a marker on the payer's partition, sent after every retry, arrived behind it.
      const marker = await pay({ orderId: `MARK-${randomUUID()}`, userId, amount: '0.01' }, randomUUID());
      expect(marker.status).toBe(202);
      await initiated.waitFor((e) => e.paymentId === marker.body.paymentId);
      expect(initiated.events.filter((e) => e.envelope?.paymentId === paymentId)).toHaveLength(1);
      expect(await settled(marker.body.paymentId)).toMatchObject({ status: 'COMPLETED' });
    } finally {
      await initiated.stop();
    }
    expect((await rowsOfOrder(body.orderId)).map((r) => [r.id, r.status])).toEqual([[paymentId, 'COMPLETED']]);
    expect(await transfersOf(paymentId)).toBe(1);
    expect(await balance(userId)).toBe('7.49'); // 10.00 - 2.50 once - the marker's 0.01
  });

  it('should hold the order again for a completed payment recalled from PostgreSQL: another key for the order is 409', async () => {
    const userId = `ORDER-${randomUUID().slice(0, 8)}`;
    await fund(userId, '5.00');
    const key = `order-${randomUUID()}`;
    const body = { orderId: `HELD-${randomUUID()}`, userId, amount: '1.00' };
    const first = await pay(body, key);
    expect(await settled(first.body.paymentId)).toMatchObject({ status: 'COMPLETED' });

    await forget();
    const replayed = await pay(body, key);
    expect(replayed).toMatchObject({ status: 202, body: { paymentId: first.body.paymentId } });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    // Held for the retention again, as the payment's acceptance held it, not only for the request's lease.
    const orderKey = `${prefix}order:MERCHANT-001:${body.orderId}`;
    expect(await redis.get(orderKey)).toBe(first.body.paymentId);
    expect(await redis.ttl(orderKey)).toBeGreaterThan(CLAIM_LEASE_SECONDS);
    const other = await pay(body, `another-${randomUUID()}`);
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'order_already_paid', paymentId: first.body.paymentId });
  });

  it('should publish the same paymentId again for a retry Redis lost while the payment was still in flight, and pay it once', async () => {
    // A deployment of its own whose stages start only after the retry: the payment is in flight until then.
    const inflight = await startTestApp(
      { REDIS_KEY_PREFIX: `${prefix}inflight:`, KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.durable-inflight.` },
      { consumers: false },
    );
    const userId = `INFLIGHT-${randomUUID().slice(0, 8)}`;
    await fund(userId, '5.00');
    const key = `inflight-${randomUUID()}`;
    const body = { orderId: `INFLIGHT-${randomUUID()}`, userId, amount: '1.25', currency: 'USD' };
    const send = () => request(`${inflight.url}/api/payments`, { body, headers: { 'idempotency-key': key } });
    const initiated = await KafkaProbe.start(inflight.config, TOPICS.initiated);
    let paymentId: string;
    try {
      const first = await send();
      expect(first.status).toBe(202);
      paymentId = first.body.paymentId;
      expect(await forget(`inflight:idempotency:*:${key}`)).toBe(1);
      // Neither Redis nor PostgreSQL knows the key now: the retry is sent again as the same payment.
      const retried = await send();
      expect(retried).toMatchObject({ status: 202, body: { paymentId } });
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      const events = await initiated.waitFor((e) => e.paymentId === paymentId, { atLeast: 2 });
      expect(new Set(events.map((e) => e.eventId)).size).toBe(1); // the same event, dropped downstream by its id

      await inflight.app.startAllMicroservices();
      expect(await settled(paymentId, 60_000)).toMatchObject({ status: 'COMPLETED' });
      // One PENDING in the payment's history, though the event came twice.
      const history = (await request(`${inflight.url}/api/payments/${paymentId}/events`)).body;
      expect(history.filter((h: { status: string }) => h.status === 'PENDING')).toHaveLength(1);
    } finally {
      await initiated.stop();
      await inflight.close();
    }
    expect((await rowsOfOrder(body.orderId)).map((r) => [r.id, r.status])).toEqual([[paymentId, 'COMPLETED']]);
    expect(await transfersOf(paymentId)).toBe(1);
    expect(await balance(userId)).toBe('3.75');
  }, 120_000);
});
