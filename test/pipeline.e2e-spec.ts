import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createEnvelope, stepEventId } from '../src/pipeline/event-envelope.js';
import { deadLetterTopicOf } from '../src/kafka/kafka-topics.js';
import { TOPICS } from '../src/pipeline/stages.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { REDIS } from '../src/redis/redis.module.js';
import { PaymentStateStore } from '../src/state/payment-state.store.js';
import { request } from './support/http.js';
import { KafkaProbe } from './support/kafka-probe.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

// Over 300 lines on purpose: every scenario of the whole pipeline runs on one app with the rules below,
// each tripped by a payer of its own, and the closing mixed run checks the ledger they all left.

/** Rules set so that each one can be tripped by a dedicated payer without touching the others. */
const RULES = {
  BLOCKED_PAYERS: 'BLOCKED-PAYER',
  PAYMENT_LIMITS: 'GBP:1.00-500',
  ENABLED_CURRENCIES: 'USD,EUR,GBP,JPY,BHD',
  FRAUD_BLOCKLIST: 'FRAUDSTER',
  FRAUD_AMOUNT_THRESHOLDS: 'USD:5000',
  FRAUD_VELOCITY_MAX_COUNT: '5',
  FRAUD_VELOCITY_MAX_AMOUNT: 'EUR:300',
  FRAUD_NEW_USER_HOURS: '24',
  FRAUD_NEW_USER_LIMITS: 'JPY:10000',
  STAGE_MAX_ATTEMPTS: '3',
  STAGE_RETRY_INITIAL_MS: '50',
};

describe('processing pipeline (real Kafka, Redis and PostgreSQL)', () => {
  let running: RunningApp;
  let api: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    running = await startTestApp(RULES);
    api = running.url;
    dataSource = running.app.get(DataSource);
  });

  afterAll(async () => {
    await running?.close();
  });

  const fund = (userId: string, amount: string, currency = 'USD') =>
    request(`${api}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount, currency } });
  const pay = (body: Record<string, unknown>) => request(`${api}/api/payments`, { body: { orderId: `ORD-${randomUUID()}`, ...body } });
  const balance = async (userId: string, currency = 'USD'): Promise<string | undefined> =>
    (await request(`${api}/api/accounts/${userId}/balances`)).body.balances?.find((b: { currency: string }) => b.currency === currency)?.balance;
  const minorBalance = async (userId: string): Promise<bigint> => BigInt(String(await balance(userId)).replace('.', ''));
  const merchantCredits = async (currency: string): Promise<bigint> => {
    const rows: { credits: string }[] = await dataSource.query(`SELECT credits_posted::text AS credits FROM ledger_accounts WHERE id = $1`, [`merchant:MERCHANT-001:${currency}`]);
    return BigInt(rows[0]?.credits ?? 0);
  };

  /** Polls the payment until it reaches a terminal status (COMPLETED, DECLINED, REJECTED, FAILED). */
  async function settled(paymentId: string, timeoutMs = 20_000): Promise<{ status: string; reason?: string; stage: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await request(`${api}/api/payments/${paymentId}`);
      if (['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'].includes(body.status)) return body;
      if (Date.now() > deadline) throw new Error(`payment ${paymentId} still ${body.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("should complete the seed's curl example and move 99.99 USD from the payer to the merchant", async () => {
    expect((await fund('USER-001', '500.00')).status).toBe(201);
    const payerBefore = await minorBalance('USER-001');
    const merchantBefore = await merchantCredits('USD');

    // The seed's body; the intake suite already used its orderId, so this run's is its own.
    const body = { orderId: `ORDER-12345-${randomUUID()}`, amount: 99.99, currency: 'USD', userId: 'USER-001' };
    const finalized = await KafkaProbe.start(running.config, TOPICS.finalized);
    const accepted = await request(`${api}/api/payments`, { body, headers: { 'x-request-id': 'seed-curl-1' } });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('x-request-id')).toBe('seed-curl-1');
    expect(await settled(accepted.body.paymentId)).toMatchObject({ status: 'COMPLETED', stage: 'ledger' });

    // The request's correlation id travelled through every stage to the terminal event.
    const [completed] = await finalized.waitFor((e) => e.paymentId === accepted.body.paymentId);
    await finalized.stop();
    expect(completed).toMatchObject({ type: 'payment.completed', correlationId: 'seed-curl-1', payload: { status: 'COMPLETED' } });

    expect(payerBefore - (await minorBalance('USER-001'))).toBe(9999n);
    expect((await merchantCredits('USD')) - merchantBefore).toBe(9999n);
    const history = await request(`${api}/api/payments/${accepted.body.paymentId}/events`);
    expect(history.body.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'VALIDATED', 'APPROVED', 'COMPLETED']);
  });

  it('should decline a payment above the payer balance and move nothing', async () => {
    const poor = `POOR-${randomUUID().slice(0, 8)}`;
    await fund(poor, '10.00');
    const merchantBefore = await merchantCredits('USD');
    const accepted = await pay({ amount: '10.01', currency: 'USD', userId: poor });
    expect(await settled(accepted.body.paymentId)).toMatchObject({ status: 'DECLINED', reason: 'INSUFFICIENT_FUNDS' });
    expect(await balance(poor)).toBe('10.00');
    expect(await merchantCredits('USD')).toBe(merchantBefore);
  });

  it('should answer a declined payment as DECLINED, and let its order be paid again, when the Redis view missed the outcome', async () => {
    const payer = `MISSED-${randomUUID().slice(0, 8)}`;
    await fund(payer, '1.00');
    const orderId = `MISSED-${randomUUID()}`;
    const first = await pay({ orderId, amount: '2.00', currency: 'USD', userId: payer });
    expect(await settled(first.body.paymentId)).toMatchObject({ status: 'DECLINED', reason: 'INSUFFICIENT_FUNDS' });
    // The ledger's view write is best effort: as if Redis had missed it, the view goes back to APPROVED.
    await running.app.get<Redis>(REDIS).hset(`payment:${first.body.paymentId}`, { status: 'APPROVED', rank: '2', stage: 'fraud' });

    const current = await request(`${api}/api/payments/${first.body.paymentId}`);
    expect(current.body).toMatchObject({ status: 'DECLINED', stage: 'ledger', reason: 'INSUFFICIENT_FUNDS' });
    await fund(payer, '5.00');
    const retry = await pay({ orderId, amount: '2.00', currency: 'USD', userId: payer });
    expect(retry.status).toBe(202);
    expect(await settled(retry.body.paymentId)).toMatchObject({ status: 'COMPLETED' });
    expect(await balance(payer)).toBe('4.00');
  });

  it('should answer a completed order with 409 order_already_paid naming its payment, and take nothing', async () => {
    const payer = `PAID-${randomUUID().slice(0, 8)}`;
    await fund(payer, '10.00');
    const orderId = `PAID-${randomUUID()}`;
    const first = await pay({ orderId, amount: '1.00', currency: 'USD', userId: payer });
    expect(await settled(first.body.paymentId)).toMatchObject({ status: 'COMPLETED' });

    const again = await pay({ orderId, amount: '1.00', currency: 'USD', userId: payer });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ type: 'conflict_error', code: 'order_already_paid', paymentId: first.body.paymentId });
    // Behind a marker of the same payer: still one payment of the order, and one debit.
    const marker = await pay({ amount: '0.50', currency: 'USD', userId: payer });
    expect(await settled(marker.body.paymentId)).toMatchObject({ status: 'COMPLETED' });
    const rows: { id: string }[] = await dataSource.query(`SELECT id FROM payments WHERE order_id = $1`, [orderId]);
    expect(rows.map((r) => r.id)).toEqual([first.body.paymentId]);
    expect(await balance(payer)).toBe('8.50');
  });

  it('should refuse deposits with a reused depositId for another amount and replay the same one', async () => {
    const depositId = randomUUID();
    const user = `DEP-${depositId.slice(0, 8)}`;
    const first = await request(`${api}/api/accounts/${user}/deposits`, { body: { depositId, amount: '5', currency: 'EUR' } });
    const again = await request(`${api}/api/accounts/${user}/deposits`, { body: { depositId, amount: 5, currency: 'EUR' } });
    const other = await request(`${api}/api/accounts/${user}/deposits`, { body: { depositId, amount: '6', currency: 'EUR' } });
    expect([first.status, again.status, other.status]).toEqual([201, 200, 422]);
    expect(again.body.transferId).toBe(first.body.transferId);
    expect(await balance(user, 'EUR')).toBe('5.00');
  });

  describe('each rule fires when configured to', () => {
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['a blocked payer', { userId: 'BLOCKED-PAYER', amount: 1, currency: 'USD' }, 'validation', 'PAYER_BLOCKED'],
      ['a disabled currency', { userId: 'USER-010', amount: 1, currency: 'CNY' }, 'validation', 'CURRENCY_NOT_ENABLED'],
      ['an amount under the minimum', { userId: 'USER-011', amount: '0.50', currency: 'GBP' }, 'validation', 'AMOUNT_BELOW_MINIMUM'],
      ['an amount over the maximum', { userId: 'USER-012', amount: 501, currency: 'GBP' }, 'validation', 'AMOUNT_ABOVE_MAXIMUM'],
      ['an unknown merchant', { userId: 'USER-013', amount: 1, currency: 'USD', merchantId: 'NO-SUCH-MERCHANT' }, 'validation', 'MERCHANT_UNKNOWN'],
      ['the fraud blocklist', { userId: 'FRAUDSTER', amount: 1, currency: 'USD' }, 'fraud', 'FRAUD_BLOCKLISTED'],
      ['the single-payment threshold', { userId: 'USER-014', amount: '5000.01', currency: 'USD' }, 'fraud', 'FRAUD_AMOUNT_THRESHOLD'],
      ['the new-user limit', { userId: 'USER-015', amount: 10001, currency: 'JPY' }, 'fraud', 'FRAUD_NEW_USER_LIMIT'],
    ];

    it.each(cases)('%s', async (_name, body, stage, reason) => {
      const accepted = await pay(body);
      expect(accepted.status).toBe(202);
      expect(await settled(accepted.body.paymentId)).toMatchObject({ status: 'REJECTED', stage, reason });
      const rows: { status: string; reason: string }[] = await dataSource.query(`SELECT status, reason FROM payments WHERE id = $1`, [accepted.body.paymentId]);
      expect(rows).toEqual([{ status: 'REJECTED', reason }]);
    });

    it('the velocity count within the window', async () => {
      await fund('USER-016', '100');
      const outcomes = [];
      for (let i = 0; i < 6; i++) {
        const accepted = await pay({ userId: 'USER-016', amount: 1, currency: 'USD' });
        outcomes.push(await settled(accepted.body.paymentId));
      }
      expect(outcomes.map((o) => o.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'REJECTED']);
      expect(outcomes[5].reason).toBe('FRAUD_VELOCITY_COUNT');
    });

    it('the velocity amount within the window', async () => {
      await fund('USER-017', '1000', 'EUR');
      const first = await settled((await pay({ userId: 'USER-017', amount: 200, currency: 'EUR' })).body.paymentId);
      const second = await settled((await pay({ userId: 'USER-017', amount: 101, currency: 'EUR' })).body.paymentId);
      expect([first.status, second.status]).toEqual(['COMPLETED', 'REJECTED']);
      expect(second.reason).toBe('FRAUD_VELOCITY_AMOUNT');
    });
  });

  describe('delivery', () => {
    let producer: Producer;
    let deadLetters: KafkaProbe;

    beforeAll(async () => {
      const kafka = new Kafka({ clientId: 'e2e-injector', brokers: running.config.kafka.brokers, logLevel: logLevel.NOTHING });
      producer = kafka.producer();
      await producer.connect();
      deadLetters = await KafkaProbe.start(running.config, deadLetterTopicOf(TOPICS.initiated));
    });

    afterAll(async () => {
      await producer?.disconnect();
      await deadLetters?.stop();
    });

    const physical = (topic: string) => `${running.config.kafka.topicPrefix}${topic}`;

    it('should post an approved event delivered twice only once', async () => {
      const paymentId = randomUUID();
      const twice = `TWICE-${paymentId.slice(0, 8)}`;
      await fund(twice, '100');
      const payload = {
        orderId: `TWICE-${paymentId}`,
        userId: twice,
        merchantId: 'MERCHANT-001',
        amountMinor: '2500',
        currency: 'USD',
        acceptedAt: new Date().toISOString(),
        risk: { score: 1, rules: [] },
      };
      const envelope = createEnvelope('payment.approved', paymentId, payload, 'twice');
      const message = { key: twice, value: JSON.stringify(envelope) };
      await producer.send({ topic: physical(TOPICS.approved), messages: [message, message] });

      expect(await settled(paymentId)).toMatchObject({ status: 'COMPLETED' });
      // A marker behind both copies (same payer, so same partition, handled in offset order): once it
      // has completed, the second copy has been handled too, however late it was.
      const markerId = randomUUID();
      const marker = createEnvelope('payment.approved', markerId, { ...payload, orderId: `MARKER-${markerId}`, amountMinor: '100' }, 'marker');
      await producer.send({ topic: physical(TOPICS.approved), messages: [{ key: twice, value: JSON.stringify(marker) }] });
      expect(await settled(markerId)).toMatchObject({ status: 'COMPLETED' });
      const transfers: unknown[] = await dataSource.query(`SELECT id FROM ledger_transfers WHERE payment_id = $1`, [paymentId]);
      expect(transfers).toHaveLength(1);
      expect(await balance(twice)).toBe('74.00');
    });

    it('should move a status only forward: a finished payment redelivered to every stage keeps its view, history and velocity count', async () => {
      const payer = `REDELIVER-${randomUUID().slice(0, 8)}`;
      await fund(payer, '10.00');
      const accepted = await pay({ amount: '1.00', currency: 'USD', userId: payer });
      const { paymentId } = accepted.body;
      expect(await settled(paymentId)).toMatchObject({ status: 'COMPLETED' });
      const redis = running.app.get<Redis>(REDIS);
      const velocityKey = `fraud:velocity:${payer}:USD`;
      const viewBefore = (await request(`${api}/api/payments/${paymentId}`)).body;
      const historyBefore = (await request(`${api}/api/payments/${paymentId}/events`)).body;
      expect(await redis.zrange(velocityKey, '0', '-1')).toEqual([`${paymentId}:100`]);

      // Each stage's input again, as a rebalance or a replay would deliver it, earlier statuses first.
      const payload = { orderId: viewBefore.orderId, userId: payer, merchantId: 'MERCHANT-001', amountMinor: '100', currency: 'USD', acceptedAt: viewBefore.createdAt };
      const redelivered = [
        [TOPICS.initiated, createEnvelope('payment.initiated', paymentId, payload, 'redelivery', new Date(), stepEventId(paymentId, 'payment.initiated'))],
        [TOPICS.validated, createEnvelope('payment.validated', paymentId, payload, 'redelivery', new Date(), stepEventId(paymentId, 'payment.validated'))],
        [TOPICS.approved, createEnvelope('payment.approved', paymentId, { ...payload, risk: { score: 0, rules: [] } }, 'redelivery', new Date(), stepEventId(paymentId, 'payment.approved'))],
      ] as const;
      for (const [topic, envelope] of redelivered) await producer.send({ topic: physical(topic), messages: [{ key: payer, value: JSON.stringify(envelope) }] });
      // A marker payment of the same payer follows the copies through every stage.
      const marker = await pay({ amount: '2.00', currency: 'USD', userId: payer });
      expect(await settled(marker.body.paymentId)).toMatchObject({ status: 'COMPLETED' });

      // The Redis view itself (the API would also fall back on PostgreSQL's terminal row).
      expect(await redis.hgetall(`payment:${paymentId}`)).toMatchObject({ status: 'COMPLETED', stage: 'ledger' });
      // A transition that arrives late under an id of its own (a delayed PENDING write of the intake,
      // say) is kept in the history but never moves the current status back.
      const lateAt = new Date().toISOString();
      const late = await running.app.get(PaymentStateStore).append({ eventId: randomUUID(), status: 'VALIDATED', stage: 'validation', at: lateAt, payment: { ...viewBefore, paymentId } });
      expect(late).toBe('stale');
      expect(await redis.hgetall(`payment:${paymentId}`)).toMatchObject({ status: 'COMPLETED', stage: 'ledger' });
      expect((await request(`${api}/api/payments/${paymentId}`)).body).toEqual(viewBefore);
      const historyAfter = (await request(`${api}/api/payments/${paymentId}/events`)).body;
      // The late transition is the one addition; the redeliveries were dropped by their eventIds.
      expect(historyAfter.filter((h: { at: string }) => h.at !== lateAt)).toEqual(historyBefore);
      expect(historyAfter).toHaveLength(historyBefore.length + 1);
      expect((await redis.zrange(velocityKey, '0', '-1')).sort()).toEqual([`${paymentId}:100`, `${marker.body.paymentId}:200`].sort());
      const transfers: unknown[] = await dataSource.query(`SELECT id FROM ledger_transfers WHERE payment_id = $1`, [paymentId]);
      expect(transfers).toHaveLength(1);
      expect(await balance(payer)).toBe('7.00');
    });

    it('should dead-letter a poison event while the payments behind it on the same partition still complete', async () => {
      await fund('USER-POISON', '100');
      const poisonId = randomUUID();
      await producer.send({
        topic: physical(TOPICS.initiated),
        messages: [
          { key: 'USER-POISON', value: '{"this is": "not a payment event"' },
          { key: 'USER-POISON', value: JSON.stringify(createEnvelope('payment.initiated', poisonId, { orderId: 'x' }, 'poison')) },
        ],
      });
      const behind = await pay({ userId: 'USER-POISON', amount: 3, currency: 'USD' });
      expect(await settled(behind.body.paymentId)).toMatchObject({ status: 'COMPLETED' });

      await deadLetters.waitFor((e) => e.paymentId === poisonId);
      const dead = deadLetters.events.filter((e) => e.key === 'USER-POISON');
      expect(dead).toHaveLength(2);
      expect(dead[1].headers).toMatchObject({
        'kafka_dlt-original-topic': physical(TOPICS.initiated),
        'kafka_dlt-exception-fqcn': 'PermanentEventError',
        'retry_topic-attempts': '1',
      });
      expect(dead[1].headers['kafka_dlt-original-offset']).toMatch(/^\d+$/);

      const listed = await request(`${api}/api/admin/dead-letters`);
      expect(listed.status).toBe(200);
      const letter = listed.body.deadLetters.find((l: { paymentId: string | null }) => l.paymentId === poisonId);
      expect(letter).toMatchObject({ topic: physical(TOPICS.initiated), attempts: 1 });
      const replayed = await request(`${api}/api/admin/dead-letters/${letter.id}/replay`, { method: 'POST' });
      expect(replayed.status).toBe(202);
      expect(replayed.body.replayedAt).toEqual(expect.any(String));
    });
  });

  it('should leave a balanced ledger and exactly one terminal state per payment after a mixed run of 2,000', async () => {
    // 400 payers with 5 payments each stay within the velocity rule (5 per window); 100 of them are unfunded.
    const users = Array.from({ length: 400 }, (_, i) => `MIX-${i}`);
    for (const userId of users.slice(0, 300)) await fund(userId, '2000');
    const duplicateOrder = `MIX-DUP-${randomUUID()}`;
    const bodies = Array.from({ length: 2000 }, (_, i) => {
      const userId = users[i % users.length];
      if (i % 50 === 0) return { orderId: duplicateOrder, userId, amount: 1, currency: 'USD' };
      if (i % 97 === 0) return { orderId: `MIX-${i}`, userId, amount: '6000', currency: 'USD' }; // fraud threshold
      return { orderId: `MIX-${i}-${randomUUID()}`, userId, amount: (1 + (i % 7)).toFixed(2), currency: 'USD' };
    });
    const accepted: string[] = [];
    for (let i = 0; i < bodies.length; i += 50) {
      const responses = await Promise.all(bodies.slice(i, i + 50).map((body) => request(`${api}/api/payments`, { body })));
      for (const r of responses) {
        expect([202, 409]).toContain(r.status);
        if (r.status === 202) accepted.push(r.body.paymentId);
      }
    }
    expect(accepted.length).toBeGreaterThan(1900);

    const deadline = Date.now() + 120_000;
    let terminal = 0;
    while (Date.now() < deadline) {
      const rows: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM payments WHERE id = ANY($1)`, [accepted]);
      terminal = Number(rows[0].n);
      if (terminal === accepted.length) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(terminal).toBe(accepted.length);
    const outcomes: { status: string; n: string }[] = await dataSource.query(
      `SELECT status, COUNT(*)::text AS n FROM payments WHERE id = ANY($1) GROUP BY status ORDER BY status`,
      [accepted],
    );
    const byStatus = Object.fromEntries(outcomes.map((o) => [o.status, Number(o.n)]));
    expect(byStatus.COMPLETED).toBeGreaterThan(1000);
    expect(byStatus.DECLINED).toBeGreaterThan(0); // unfunded payers
    expect(byStatus.REJECTED).toBeGreaterThan(0); // fraud threshold
    const completedForDuplicate: unknown[] = await dataSource.query(`SELECT id FROM payments WHERE order_id = $1 AND status = 'COMPLETED'`, [duplicateOrder]);
    // Its first send (i = 0) comes from a funded payer and is the one taken; the rest are refused or declined.
    expect(completedForDuplicate).toHaveLength(1);

    // This run's payers only: the database is shared with the other suites.
    expect(await checkLedgerInvariants(dataSource.manager, { userIds: users })).toEqual([]);
  });
});
