import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TOPICS } from '../src/pipeline/stages.js';
import { REDIS } from '../src/redis/redis.module.js';
import { PaymentStateStore } from '../src/state/payment-state.store.js';
import { request } from './support/http.js';
import { KafkaProbe } from './support/kafka-probe.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const SEED_BODY = { orderId: 'ORDER-12345', amount: 99.99, currency: 'USD', userId: 'USER-001' };

describe('payment intake (real Kafka, Redis and PostgreSQL)', () => {
  let running: RunningApp;
  let probe: KafkaProbe;
  let payments: string;

  beforeAll(async () => {
    running = await startTestApp({ KAFKA_PUBLISH_TIMEOUT_MS: '1500' });
    probe = await KafkaProbe.start(running.config, TOPICS.initiated);
    payments = `${running.url}/api/payments`;
  });

  afterAll(async () => {
    await probe?.stop();
    await running?.close();
  });

  const eventsOfOrder = (orderId: string) => probe.waitFor((e) => (e.payload as { orderId: string }).orderId === orderId);
  const recordsMentioning = (text: string) => probe.events.filter((e) => e.raw.includes(text));

  /**
   * Proves "nothing more was published" without sleeping: a valid payment of the same payer goes to the
   * same partition after every earlier answer's event (an event is published before its 202), so once
   * the probe has read the marker it has read everything the earlier requests could have published.
   */
  async function publishMarker(userId: string): Promise<string> {
    const orderId = `MARK-${randomUUID()}`;
    const response = await request(payments, { body: { orderId, amount: '0.01', currency: 'USD', userId } });
    expect(response.status).toBe(202);
    expect(await eventsOfOrder(orderId)).toHaveLength(1);
    return orderId;
  }

  it("should accept the seed's curl example with 202, publish it to Kafka and show it PENDING at once", async () => {
    const response = await request(payments, { body: SEED_BODY, headers: { 'x-request-id': 'seed-request-1' } });

    expect(response.status).toBe(202);
    const { paymentId } = response.body;
    expect(response.headers.get('location')).toBe(`/api/payments/${paymentId}`);
    expect(response.body).toEqual({
      paymentId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      orderId: 'ORDER-12345',
      userId: 'USER-001',
      merchantId: 'MERCHANT-001',
      amount: '99.99',
      currency: 'USD',
      status: 'PENDING',
      createdAt: expect.any(String),
      message: '支付请求已收到，正在处理中。',
    });

    // The pipeline runs too, so the payment may already have moved on; its history starts with PENDING.
    const current = await request(`${payments}/${paymentId}`);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ paymentId, amount: '99.99', currency: 'USD', createdAt: response.body.createdAt });
    const history = await request(`${payments}/${paymentId}/events`);
    expect(history.body[0]).toEqual({ status: 'PENDING', stage: 'intake', at: response.body.createdAt });

    const [event] = await eventsOfOrder('ORDER-12345');
    expect(event).toMatchObject({
      specVersion: 1,
      type: 'payment.initiated',
      paymentId,
      correlationId: 'seed-request-1',
      payload: { orderId: 'ORDER-12345', userId: 'USER-001', amountMinor: '9999', currency: 'USD' },
    });
    const record = probe.events.find((e) => e.envelope?.paymentId === paymentId);
    expect(record?.key).toBe('USER-001');
  });

  it('should answer an unknown payment with a 404 JSON error', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const response = await request(`${payments}/${id}`);
      expect(response.status).toBe(404);
      expect(response.body.error).toMatchObject({ type: 'not_found_error', code: 'payment_not_found' });
    }
  });

  it('should create one payment and one event for 200 concurrent requests with one Idempotency-Key', async () => {
    const orderId = `IDEM-${randomUUID()}`;
    const key = randomUUID();
    const body = { orderId, amount: '10.50', currency: 'EUR', userId: 'USER-002' };
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => request(payments, { body, headers: { 'idempotency-key': key } })),
    );

    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(202));
    expect(new Set(responses.map((r) => r.body.paymentId)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(199);
    await publishMarker('USER-002');
    expect(recordsMentioning(orderId)).toHaveLength(1);

    // The same key with the same payment written differently still replays; with another body it is refused.
    const replay = await request(payments, { body: { ...body, amount: 10.5 }, headers: { 'idempotency-key': key } });
    expect(replay.status).toBe(202);
    expect(replay.body.paymentId).toBe(responses[0].body.paymentId);
    const reused = await request(payments, { body: { ...body, amount: '11' }, headers: { 'idempotency-key': key } });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_reused' });
  });

  it('should create one payment for 200 concurrent requests of one order without a key, naming it in every 409', async () => {
    const orderId = `RACE-${randomUUID()}`;
    // A funded payer of its own: the payment completes, so no late request of the burst may take the
    // order over (it could, rightly, once an unfunded payment ended DECLINED).
    const userId = `RACE-${randomUUID().slice(0, 8)}`;
    expect((await request(`${running.url}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount: '5000', currency: 'JPY' } })).status).toBe(201);
    const body = { orderId, amount: 1000, currency: 'JPY', userId };
    const responses = await Promise.all(Array.from({ length: 200 }, () => request(payments, { body })));

    const accepted = responses.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    const conflicts = responses.filter((r) => r.status === 409);
    expect(conflicts).toHaveLength(199);
    expect(new Set(conflicts.map((r) => r.body.error.paymentId))).toEqual(new Set([accepted[0].body.paymentId]));
    // In progress while the payment is in flight; already paid for any request that came after it completed.
    const codes = new Set(conflicts.map((r) => r.body.error.code));
    expect(codes).toContain('order_payment_in_progress');
    expect([...codes].filter((code) => code !== 'order_payment_in_progress' && code !== 'order_already_paid')).toEqual([]);
    await publishMarker(userId);
    expect(recordsMentioning(orderId)).toHaveLength(1);
  });

  it('should let an order be paid again once its earlier payment failed', async () => {
    const orderId = `RETRY-${randomUUID()}`;
    const first = await request(payments, { body: { orderId, amount: 5, currency: 'USD', userId: 'USER-004' } });
    expect(first.status).toBe(202);
    const store = running.app.get(PaymentStateStore);
    await store.append({
      eventId: randomUUID(),
      status: 'DECLINED',
      stage: 'ledger',
      at: new Date().toISOString(),
      reason: 'INSUFFICIENT_FUNDS',
      payment: first.body,
    });

    const second = await request(payments, { body: { orderId, amount: 5, currency: 'USD', userId: 'USER-004' } });
    expect(second.status).toBe(202);
    expect(second.body.paymentId).not.toBe(first.body.paymentId);
  });

  describe('bad input gets its 4xx and leaves no event and no state', () => {
    const valid = () => ({ orderId: `BAD-${randomUUID()}`, amount: 12.34, currency: 'USD', userId: 'USER-005' });
    const cases: [string, (order: Record<string, unknown>) => { rawBody?: string; body?: unknown; headers?: Record<string, string> }, number, string][] = [
      ['a missing field', ({ userId: _u, ...rest }) => ({ body: rest }), 400, 'parameter_missing'],
      ['an unknown field', (o) => ({ body: { ...o, extra: 1 } }), 400, 'parameter_unknown'],
      ['a negative amount', (o) => ({ body: { ...o, amount: -1 } }), 400, 'parameter_invalid'],
      ['a zero amount', (o) => ({ body: { ...o, amount: 0 } }), 400, 'parameter_invalid'],
      ['NaN', (o) => ({ rawBody: JSON.stringify(o).replace('12.34', 'NaN') }), 400, 'invalid_json'],
      ['"1e3"', (o) => ({ body: { ...o, amount: '1e3' } }), 400, 'parameter_invalid'],
      ['too many decimals', (o) => ({ body: { ...o, amount: '1.001' } }), 400, 'parameter_invalid'],
      ['decimals in JPY', (o) => ({ body: { ...o, currency: 'JPY', amount: 10.5 } }), 400, 'parameter_invalid'],
      ['an amount over the maximum', (o) => ({ body: { ...o, amount: '1000000.01' } }), 400, 'amount_too_large'],
      ['an unknown currency', (o) => ({ body: { ...o, currency: 'XXX' } }), 400, 'parameter_invalid'],
      ['a lowercase currency', (o) => ({ body: { ...o, currency: 'usd' } }), 400, 'parameter_invalid'],
      ['a bad orderId', (o) => ({ body: { ...o, orderId: `${String(o.orderId)} x` } }), 400, 'parameter_invalid'],
      ['a body over the limit', (o) => ({ body: { ...o, description: 'x'.repeat(20000) } }), 413, 'body_too_large'],
      ['non-JSON', (o) => ({ rawBody: `orderId=${String(o.orderId)}` }), 400, 'invalid_json'],
      ['an array body', (o) => ({ body: [o] }), 400, 'body_not_object'],
      ['a __proto__ key', (o) => ({ rawBody: JSON.stringify(o).replace('{', '{"__proto__":{"admin":true},') }), 400, 'invalid_json'],
      ['a constructor key', (o) => ({ rawBody: JSON.stringify(o).replace('{', '{"constructor":{"prototype":{"admin":true}},') }), 400, 'invalid_json'],
      ['a plain constructor key', (o) => ({ body: { constructor: 'x', ...o } }), 400, 'parameter_unknown'],
      ['a wrong content type', (o) => ({ rawBody: JSON.stringify(o), headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type'],
      ['a form body', (o) => ({ rawBody: `orderId=${String(o.orderId)}&amount=1&currency=USD&userId=U`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type'],
      ['an over-long Idempotency-Key', (o) => ({ body: o, headers: { 'idempotency-key': 'k'.repeat(256) } }), 400, 'idempotency_key_invalid'],
    ];

    it.each(cases)('%s', async (_name, build, status, code) => {
      const order = valid();
      const response = await request(payments, { method: 'POST', ...build(order) });
      expect(response.status).toBe(status);
      expect(response.body.error).toMatchObject({ code, message: expect.any(String), type: expect.any(String) });

      // Any key of any store that names the order (the orderId is a fresh UUID), whatever the prefix.
      const redis = running.app.get<Redis>(REDIS);
      const keysNaming = async (orderId: string) => (await redis.call('KEYS', `*${orderId}*`)) as string[];
      expect(await keysNaming(String(order.orderId))).toEqual([]);
      const marker = await publishMarker(String(order.userId));
      expect(recordsMentioning(String(order.orderId))).toEqual([]);
      // The same look-ups do see what a valid request leaves: they could have failed above.
      expect((await keysNaming(marker)).length).toBeGreaterThan(0);
      expect(recordsMentioning(marker)).toHaveLength(1);
    });

    it('names every bad field at once', async () => {
      const response = await request(payments, { body: { orderId: '', amount: 'abc', currency: 'usd', userId: 'U1', extra: true } });
      expect(response.status).toBe(400);
      expect(response.body.error.errors.map((e: { param: string }) => e.param).sort()).toEqual(['amount', 'currency', 'extra', 'orderId']);
    });
  });

  it('should fall back to PostgreSQL for a terminal payment that Redis has forgotten', async () => {
    const paymentId = randomUUID();
    const acceptedAt = new Date(Date.now() - 60_000);
    await running.app.get(DataSource).query(
      `INSERT INTO payments (id, merchant_id, order_id, user_id, amount_minor, currency, status, stage, reason, accepted_at)
       VALUES ($1, 'MERCHANT-001', $2, 'USER-006', 1500, 'BHD', 'DECLINED', 'ledger', 'INSUFFICIENT_FUNDS', $3)`,
      [paymentId, `PG-${paymentId}`, acceptedAt],
    );

    const current = await request(`${payments}/${paymentId}`);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ paymentId, status: 'DECLINED', reason: 'INSUFFICIENT_FUNDS', amount: '1.500', currency: 'BHD' });
    const history = await request(`${payments}/${paymentId}/events`);
    expect(history.body.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'DECLINED']);
  });

});
