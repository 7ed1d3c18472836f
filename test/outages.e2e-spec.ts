import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createEnvelope, stepEventId } from '../src/pipeline/event-envelope.js';
import { REFUND_EVENT_TYPES } from '../src/pipeline/refund-events.js';
import { KafkaTopics } from '../src/kafka/kafka-topics.js';
import { STAGES, TOPICS } from '../src/pipeline/stages.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { CLAIM_LEASE_SECONDS } from '../src/payments/idempotency.store.js';
import { keyedPaymentId } from '../src/payments/keyed-payment-id.js';
import { spawnApp, stopAllAppProcesses, testProcessEnv } from './support/app-process.js';
import { request } from './support/http.js';
import { KafkaProbe } from './support/kafka-probe.js';
import { startPrivateStack, type PrivateStack } from './support/private-stack.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const TERMINAL = ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((error: unknown) => error as T);
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last: ${JSON.stringify(value)?.slice(0, 500)}`);
    await sleep(250);
  }
}

/**
 * Every e2e test that takes a server away runs here, against a Kafka broker, a Redis and a PostgreSQL
 * of this suite's own (test/support/private-stack.ts): the shared servers on 9092, 6379 and 5432 stay
 * up for the whole run, for the other suites and for whoever else uses this machine. Each test checks
 * what the outage left behind (rows, records, keys), not only the status codes. One file over 300 lines
 * on purpose: "only this file takes a server away" stays a rule checked by reading one file.
 */
describe('outages of Kafka, Redis and PostgreSQL (private servers)', () => {
  let stack: PrivateStack;
  let running: RunningApp;
  let api: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    stack = await startPrivateStack();
    running = await startTestApp({ ...stack.env, KAFKA_PUBLISH_TIMEOUT_MS: '1500' });
    api = running.url;
    dataSource = running.app.get(DataSource);
  }, 240_000);

  afterAll(async () => {
    await stopAllAppProcesses();
    await running?.close().catch(() => undefined);
    await stack?.stop();
  }, 120_000);

  const fund = async (userId: string, amount: string) =>
    expect((await request(`${api}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount, currency: 'USD' } })).status).toBe(201);
  const pay = (body: { orderId: string; userId: string; amount: string }, headers: Record<string, string> = {}) =>
    request(`${api}/api/payments`, { body: { ...body, currency: 'USD' }, headers });
  const settled = (paymentId: string, timeoutMs = 30_000) =>
    eventually(() => request(`${api}/api/payments/${paymentId}`), (r) => TERMINAL.includes(r.body?.status), timeoutMs, `payment ${paymentId} terminal`).then(
      (r) => r.body,
      async (error: Error) => {
        throw new Error(`${error.message}\nstage groups: ${await stageGroups().catch((e: Error) => e.message)}`);
      },
    );
  /** Each stage group's state and members, for a payment that did not end: which stage stopped consuming. */
  const stageGroups = async () => {
    const admin = new Kafka({ clientId: 'outages-diagnosis', brokers: [stack.servers.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = new KafkaTopics(running.config);
      const { groups } = await admin.describeGroups(STAGES.map((stage) => topics.consumerGroup(stage)));
      return JSON.stringify(groups.map((g) => ({ group: g.groupId, state: g.state, members: g.members.map((m) => m.clientId) })));
    } finally {
      await admin.disconnect();
    }
  };
  const rowsOfOrder = (orderId: string): Promise<{ id: string; status: string; reason: string | null; amount_minor: string; accepted_at: Date }[]> =>
    dataSource.query(`SELECT id, status, reason, amount_minor::text, accepted_at FROM payments WHERE order_id = $1 ORDER BY accepted_at`, [orderId]);
  const balance = async (userId: string) =>
    (await request(`${api}/api/accounts/${userId}/balances`)).body.balances.find((b: { currency: string }) => b.currency === 'USD')?.balance;

  it('should answer 503 state_store_unavailable and readiness DOWN while Redis is away, take nothing, and recover without a restart', async () => {
    const userId = `REDIS-${randomUUID().slice(0, 8)}`;
    const orderId = `REDIS-DOWN-${randomUUID()}`;
    const probe = await KafkaProbe.start(running.config, TOPICS.initiated);
    try {
      await stack.servers.killRedis();
      // At once, before anything noticed the outage: the intake must answer, not wait for Redis
      // (which stays away until the finally below, so a waiting request would never end).
      // The second one too: ioredis failed the commands queued at the disconnect, but held the next
      // ones until Redis came back, until every command got a deadline (REDIS_COMMAND_TIMEOUT_MS).
      for (const attempt of ['FIRST', 'SECOND']) {
        const early = await pay({ orderId: `${orderId}-${attempt}`, userId, amount: '1.00' });
        expect({ attempt, status: early.status, code: early.body.error?.code }).toEqual({ attempt, status: 503, code: 'state_store_unavailable' });
      }
      const down = await eventually(() => request(`${api}/health/readiness`), (r) => r.status === 503, 15_000, 'readiness 503');
      expect(down.body.components.redis).toMatchObject({ status: 'DOWN', details: { message: expect.any(String) } });
      expect(down.body.components.db.status).toBe('UP');
      expect(down.body.components.kafka.status).toBe('UP');
      expect((await request(`${api}/actuator/health`)).status).toBe(503);
      expect(await request(`${api}/health/liveness`)).toMatchObject({ status: 200, body: { status: 'UP' } });

      const refused = await pay({ orderId, userId, amount: '1.00' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error).toMatchObject({ type: 'service_unavailable_error', code: 'state_store_unavailable' });
    } finally {
      await stack.servers.startRedis();
    }
    const up = await eventually(() => request(`${api}/health/readiness`), (r) => r.status === 200, 20_000, 'readiness back to 200');
    expect(up.body.components.redis.status).toBe('UP');

    // Nothing of the refused request: no row, no event. The marker (same payer, so the same
    // partition, published after the refusal) proves the probe has read all that came before it.
    const marker = await pay({ orderId: `MARK-${randomUUID()}`, userId, amount: '0.01' });
    expect(marker.status).toBe(202);
    try {
      await probe.waitFor((e) => e.paymentId === marker.body.paymentId);
      expect(probe.events.filter((e) => e.raw.includes(orderId))).toEqual([]); // both refused orders

    } finally {
      await probe.stop();
    }
    expect(await rowsOfOrder(orderId)).toEqual([]);
    expect(await rowsOfOrder(`${orderId}-FIRST`)).toEqual([]);
    expect(await rowsOfOrder(`${orderId}-SECOND`)).toEqual([]);
  });

  it('should answer 503 while Kafka is away with the payment ended FAILED, free the order, and move no money for an event that lands late', async () => {
    const userId = `KAFKA-${randomUUID().slice(0, 8)}`;
    await fund(userId, '10.00');
    const orderId = `KAFKA-DOWN-${randomUUID()}`;
    await stack.servers.kafkaStop();
    try {
      const health = await eventually(() => request(`${api}/health`), (r) => r.status === 503, 15_000, 'health 503');
      expect(health.body.components.kafka.status).toBe('DOWN');
      expect(health.body.components.redis.status).toBe('UP');

      const refused = await pay({ orderId, userId, amount: '2.00' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error).toMatchObject({ type: 'service_unavailable_error', code: 'broker_unavailable' });
    } finally {
      await stack.servers.kafkaStart();
    }
    const healthy = await eventually(() => request(`${api}/health`), (r) => r.status === 200, 30_000, 'health back to 200 without a restart');
    expect(healthy.body.components.kafka.status).toBe('UP');
    // A 503 means "not taken": the payment is ended in the system of record before the answer.
    const [abandoned, ...others] = await rowsOfOrder(orderId);
    expect(others).toEqual([]);
    expect(abandoned).toMatchObject({ status: 'FAILED', reason: 'PUBLISH_UNCONFIRMED', amount_minor: '200' });

    // The order was given back: the client's retry (honouring Retry-After) is taken, without an app restart.
    const retried = await eventually(() => pay({ orderId, userId, amount: '2.00' }), (r) => r.status === 202, 60_000, 'the retry accepted');
    expect(retried.body.paymentId).not.toBe(abandoned.id);
    expect(await settled(retried.body.paymentId, 60_000)).toMatchObject({ status: 'COMPLETED' });

    // The abandoned payment's event lands after all (a send kafkajs was still retrying): no money moves.
    const kafka = new Kafka({ clientId: 'outages-late-event', brokers: [stack.servers.kafkaBrokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const payload = { orderId, userId, merchantId: 'MERCHANT-001', amountMinor: '200', currency: 'USD', acceptedAt: abandoned.accepted_at.toISOString() };
      const late = createEnvelope('payment.initiated', abandoned.id, payload, 'late-landing');
      await producer.send({ topic: `${running.config.kafka.topicPrefix}${TOPICS.initiated}`, messages: [{ key: userId, value: JSON.stringify(late) }] });
    } finally {
      await producer.disconnect();
    }
    // The marker follows the late event through every stage on the payer's partitions.
    const marker = await pay({ orderId: `MARK-${randomUUID()}`, userId, amount: '1.00' });
    expect(marker.status).toBe(202);
    expect(await settled(marker.body.paymentId)).toMatchObject({ status: 'COMPLETED' });

    expect((await rowsOfOrder(orderId)).map((r) => [r.id, r.status, r.reason])).toEqual([
      [abandoned.id, 'FAILED', 'PUBLISH_UNCONFIRMED'],
      [retried.body.paymentId, 'COMPLETED', null],
    ]);
    const transfers: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM ledger_transfers WHERE payment_id = $1`, [abandoned.id]);
    expect(transfers[0].n).toBe('0');
    expect(await balance(userId)).toBe('7.00'); // 10.00 - the retry's 2.00 - the marker's 1.00
    expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
  }, 180_000);

  it('should answer refunds 503 while Kafka is away: an unkeyed one ended FAILED so its late event moves nothing, a keyed one refunded once by its retry', async () => {
    const userId = `RFD-${randomUUID().slice(0, 8)}`;
    await fund(userId, '10.00');
    const paid = await pay({ orderId: `RFD-${randomUUID()}`, userId, amount: '4.00' });
    expect(paid.status).toBe(202);
    const paymentId: string = paid.body.paymentId;
    expect(await settled(paymentId)).toMatchObject({ status: 'COMPLETED' });
    const refund = (body: object, headers: Record<string, string> = {}) => request(`${api}/api/payments/${paymentId}/refunds`, { body, headers });
    const key = `refund-${randomUUID()}`;

    await stack.servers.kafkaStop();
    try {
      await eventually(() => request(`${api}/health`), (r) => r.status === 503, 15_000, 'health 503');
      const attempts: [object, Record<string, string>][] = [
        [{ amount: '1.00' }, {}],
        [{ amount: '2.00' }, { 'idempotency-key': key }],
      ];
      for (const [body, headers] of attempts) {
        const refused = await refund(body, headers);
        expect({ status: refused.status, retryAfter: refused.headers.get('retry-after'), code: refused.body.error?.code }).toEqual({ status: 503, retryAfter: '1', code: 'refund_unavailable' });
      }
    } finally {
      await stack.servers.kafkaStart();
    }
    await eventually(() => request(`${api}/health`), (r) => r.status === 200, 30_000, 'health back to 200');
    // The unkeyed refund is ended before its 503: FAILED PUBLISH_UNCONFIRMED, in the system of record.
    const refundsOf = (): Promise<{ id: string; status: string; outcome_reason: string | null; amount_minor: string }[]> =>
      dataSource.query(`SELECT id, status, outcome_reason, amount_minor::text FROM refunds WHERE payment_id = $1 ORDER BY amount_minor`, [paymentId]);
    const [abandoned, ...others] = await refundsOf();
    expect(others).toEqual([]);
    expect(abandoned).toMatchObject({ status: 'FAILED', outcome_reason: 'PUBLISH_UNCONFIRMED', amount_minor: '100' });

    // Its event lands after all (a send kafkajs was still retrying): the refunds consumer moves nothing for it.
    const producer = new Kafka({ clientId: 'outages-late-refund', brokers: [stack.servers.kafkaBrokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    try {
      const payload = { refundId: abandoned.id, paymentId, merchantId: 'MERCHANT-001', userId, amountMinor: '100', currency: 'USD', requestedAt: new Date().toISOString() };
      const late = createEnvelope(REFUND_EVENT_TYPES.requested, paymentId, payload, 'late-landing', new Date(), stepEventId(abandoned.id, REFUND_EVENT_TYPES.requested));
      await producer.send({ topic: `${running.config.kafka.topicPrefix}${TOPICS.refundRequested}`, messages: [{ key: userId, value: JSON.stringify(late) }] });
    } finally {
      await producer.disconnect();
    }
    // The keyed retry names the same refund and comes after the late event on the payer's partition.
    const retried = await eventually(() => refund({ amount: '2.00' }, { 'idempotency-key': key }), (r) => r.status === 202, 60_000, 'the keyed retry accepted');
    const ended = await eventually(() => request(`${api}/api/refunds/${retried.body.refundId}`), (r) => r.body?.status !== 'PENDING' && r.status === 200, 60_000, 'the keyed refund ended');
    expect(ended.body).toMatchObject({ status: 'SUCCEEDED', amount: '2.00' });

    expect((await refundsOf()).map((r) => [r.id, r.status, r.outcome_reason])).toEqual([
      [abandoned.id, 'FAILED', 'PUBLISH_UNCONFIRMED'],
      [retried.body.refundId, 'SUCCEEDED', null],
    ]);
    const transfers: { refund_id: string }[] = await dataSource.query(`SELECT refund_id FROM ledger_transfers WHERE refund_id IN (SELECT id FROM refunds WHERE payment_id = $1)`, [paymentId]);
    expect(transfers).toEqual([{ refund_id: retried.body.refundId }]);
    expect(await balance(userId)).toBe('8.00'); // 10.00 - the payment's 4.00 + the keyed refund's 2.00
    // The view's total follows the outcome (written after it is in PostgreSQL and on refunds.finalized).
    const view = await eventually(() => request(`${api}/api/payments/${paymentId}`), (r) => r.body?.amountRefunded === '2.00', 15_000, 'the view of the refunded payment');
    expect(view.body).toMatchObject({ status: 'COMPLETED', amountRefunded: '2.00', refundStatus: 'partially_refunded' });
    expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
  }, 180_000);

  it('should pay a keyed retry as its next attempt after a 503, though Redis lost everything in between: money moves once', async () => {
    const userId = `KEYED-${randomUUID().slice(0, 8)}`;
    await fund(userId, '10.00');
    const key = `keyed-503-${randomUUID()}`;
    const body = { orderId: `KEYED-503-${randomUUID()}`, userId, amount: '2.00' };
    const attemptId = (attempt: number) => keyedPaymentId(running.config.payments.paymentIdNamespace, 'MERCHANT-001', key, attempt);
    const redis = new Redis({ host: '127.0.0.1', port: Number(stack.env.REDIS_PORT), keyPrefix: running.config.redis.keyPrefix, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      await stack.servers.kafkaStop();
      try {
        await eventually(() => request(`${api}/health`), (r) => r.status === 503, 15_000, 'health 503');
        const refused = await pay(body, { 'idempotency-key': key });
        expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 503, code: 'broker_unavailable' });
        // Attempt 0 is spent: Redis says so, and PostgreSQL holds its tombstone.
        expect(JSON.parse((await redis.get(`idempotency:MERCHANT-001:${key}`))!)).toEqual({ abandonedAttempt: 0 });
      } finally {
        await stack.servers.kafkaStart();
      }
      expect((await rowsOfOrder(body.orderId)).map((r) => [r.id, r.status, r.reason])).toEqual([[attemptId(0), 'FAILED', 'PUBLISH_UNCONFIRMED']]);

      // Redis restarts empty: only PostgreSQL knows what the key became.
      await stack.servers.killRedis();
      await stack.servers.startRedis();
      await eventually(() => request(`${api}/health`), (r) => r.status === 200, 30_000, 'health back to 200');
      const retried = await eventually(() => pay(body, { 'idempotency-key': key }), (r) => r.status === 202, 60_000, 'the retry accepted');
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      expect(await settled(retried.body.paymentId, 60_000)).toMatchObject({ status: 'COMPLETED' });
      // Every earlier attempt was a 503 (a retry may have met the broker still starting); the last one paid.
      const rows = await rowsOfOrder(body.orderId);
      expect(rows.map((r) => [r.id, r.status, r.reason])).toEqual([
        ...rows.slice(0, -1).map((_, attempt) => [attemptId(attempt), 'FAILED', 'PUBLISH_UNCONFIRMED']),
        [attemptId(rows.length - 1), 'COMPLETED', null],
      ]);
      expect(retried.body.paymentId).toBe(attemptId(rows.length - 1));

      // From now on the key replays that payment: from Redis, and from PostgreSQL past the tombstones once Redis forgot again.
      for (const forgotten of [false, true]) {
        if (forgotten) await redis.del(`idempotency:MERCHANT-001:${key}`);
        const replay = await pay(body, { 'idempotency-key': key });
        expect({ forgotten, status: replay.status, paymentId: replay.body.paymentId, replayed: replay.headers.get('idempotent-replayed') }).toEqual({
          forgotten,
          status: 202,
          paymentId: retried.body.paymentId,
          replayed: 'true',
        });
      }
      const transfers: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM ledger_transfers WHERE payment_id = ANY($1)`, [rows.map((r) => r.id)]);
      expect(transfers[0].n).toBe('1');
      expect(await balance(userId)).toBe('8.00');
      expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 180_000);

  it('should lose and double nothing when PostgreSQL stops for 10 s mid-run', async () => {
    const users = Array.from({ length: 20 }, () => `OUTAGE-${randomUUID().slice(0, 8)}`);
    for (const userId of users) await fund(userId, '1000');

    const accepted: string[] = [];
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const response = await pay({ orderId: `OUTAGE-${randomUUID()}`, userId: users[i % users.length], amount: '1.25' });
        expect(response.status).toBe(202); // the intake needs Kafka and Redis, not PostgreSQL
        accepted.push(response.body.paymentId);
        await sleep(20);
      }
    };
    await send(50);
    await stack.servers.stopPostgres();
    const outageStarted = Date.now();
    try {
      await send(150);
      // The outage must really have been one: the stages could not write while it lasted.
      expect((await request(`${api}/health/readiness`)).body.components.db.status).toBe('DOWN');
      await sleep(Math.max(0, 10_000 - (Date.now() - outageStarted)));
    } finally {
      await stack.servers.startPostgres();
    }
    await send(50);

    type Outcome = { status: string; n: string };
    let outcomes: Outcome[] = [];
    await eventually<Outcome[]>(
      async () =>
        (outcomes = await dataSource
          .query(`SELECT status, COUNT(*)::text AS n FROM payments WHERE id = ANY($1) GROUP BY status`, [accepted])
          .catch(() => outcomes)), // the pool may still be reconnecting
      (rows) => rows.reduce((sum, o) => sum + Number(o.n), 0) === accepted.length,
      90_000,
      'every accepted payment terminal',
    );
    expect(Object.fromEntries(outcomes.map((o) => [o.status, Number(o.n)]))).toEqual({ COMPLETED: accepted.length });
    const transfers: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM ledger_transfers WHERE payment_id = ANY($1)`, [accepted]);
    expect(Number(transfers[0].n)).toBe(accepted.length);
    // The whole private ledger: nobody else writes to this database.
    expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
  }, 180_000);

  it('should dead-letter an event once STAGE_MAX_ATTEMPTS run out (Redis away for the fraud stage): the -dlt record, the dead_letters row, FAILED PROCESSING_FAILED', async () => {
    // Its own deployment (topics, groups) with a short retry budget: 2 attempts, 50-100 ms apart.
    const short = await startTestApp({
      ...stack.env,
      KAFKA_TOPIC_PREFIX: `${running.config.kafka.topicPrefix}dlt.`,
      STAGE_MAX_ATTEMPTS: '2',
      STAGE_RETRY_INITIAL_MS: '50',
      STAGE_RETRY_MAX_MS: '100',
    });
    const deadLetters = await KafkaProbe.start(short.config, `${TOPICS.validated}-dlt`);
    const kafka = new Kafka({ clientId: 'outages-dlt', brokers: [stack.servers.kafkaBrokers], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const userId = `DLT-${randomUUID().slice(0, 8)}`;
    const paymentId = randomUUID();
    try {
      await stack.servers.killRedis();
      try {
        // As the validation stage hands it on; the fraud stage needs Redis for every attempt.
        const payload = { orderId: `DLT-${paymentId}`, userId, merchantId: 'MERCHANT-001', amountMinor: '100', currency: 'USD', acceptedAt: new Date().toISOString() };
        const validated = createEnvelope('payment.validated', paymentId, payload, 'dlt-test');
        await producer.send({ topic: `${short.config.kafka.topicPrefix}${TOPICS.validated}`, messages: [{ key: userId, value: JSON.stringify(validated) }] });
        const [letter] = await deadLetters.waitFor((e) => e.paymentId === paymentId, { timeoutMs: 30_000 });
        expect(letter.eventId).toBe(validated.eventId);
        const record = deadLetters.events.find((e) => e.envelope?.paymentId === paymentId)!;
        expect(record.headers).toMatchObject({ 'kafka_dlt-original-topic': `${short.config.kafka.topicPrefix}${TOPICS.validated}`, 'retry_topic-attempts': '2' });
        const stored = short.app.get(DataSource);
        const rows = await eventually(
          () => stored.query(`SELECT topic, attempts, error FROM dead_letters WHERE payment_id = $1`, [paymentId]) as Promise<{ topic: string; attempts: number; error: string }[]>,
          (r) => Array.isArray(r) && r.length > 0,
          15_000,
          'the dead_letters row',
        );
        expect(rows).toEqual([{ topic: `${short.config.kafka.topicPrefix}${TOPICS.validated}`, attempts: 2, error: expect.any(String) }]);
        const [payment] = await eventually(
          () => stored.query(`SELECT status, stage, reason FROM payments WHERE id = $1`, [paymentId]) as Promise<{ status: string; reason: string }[]>,
          (r) => Array.isArray(r) && r.length > 0,
          15_000,
          'the FAILED row',
        );
        expect(payment).toMatchObject({ status: 'FAILED', reason: 'PROCESSING_FAILED' });
      } finally {
        await stack.servers.startRedis();
      }
      // No money moved for it.
      const transfers: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM ledger_transfers WHERE payment_id = $1`, [paymentId]);
      expect(transfers[0].n).toBe('0');
    } finally {
      await producer.disconnect();
      await deadLetters.stop();
      await short.close();
    }
  }, 120_000);

  it(`should free a crashed request's Idempotency-Key within its ${CLAIM_LEASE_SECONDS} s lease: the app killed mid-request, the retry then paid once`, async () => {
    const userId = `CRASH-${randomUUID().slice(0, 8)}`;
    await fund(userId, '10.00');
    const key = `crash-${randomUUID()}`;
    const body = { orderId: `CRASH-${randomUUID()}`, userId, amount: '3.00' };
    // A second instance whose publish waits (5 s, the most allowed) long enough to be killed mid-request.
    // The API only: killed as a member of the stage groups, it would hold their partitions until its
    // session timed out, and the retry's payment would wait behind that rebalance.
    const doomed = await spawnApp('doomed', testProcessEnv({ ...stack.env, ...prefixesOf(running), APP_ROLES: 'api', KAFKA_PUBLISH_TIMEOUT_MS: '5000' }));
    const redis = new Redis({ host: '127.0.0.1', port: Number(stack.env.REDIS_PORT), keyPrefix: running.config.redis.keyPrefix, lazyConnect: true });
    await redis.connect();
    try {
      await stack.servers.kafkaStop();
      let inFlight: Promise<unknown>;
      try {
        inFlight = request(`${doomed.url}/api/payments`, { body: { ...body, currency: 'USD' }, headers: { 'idempotency-key': key } }).catch(() => 'killed');
        await eventually(() => redis.exists(`idempotency:MERCHANT-001:${key}`), (n) => n === 1, 10_000, 'the claim of the doomed request');
        await doomed.kill();
        expect(await inFlight).toBe('killed');
        const lease = await redis.ttl(`idempotency:MERCHANT-001:${key}`);
        expect(lease).toBeGreaterThan(0);
        expect(lease).toBeLessThanOrEqual(CLAIM_LEASE_SECONDS);
      } finally {
        await stack.servers.kafkaStart();
      }
      // Within the lease the key is still the dead request's: the retry is told to come back.
      const early = await pay(body, { 'idempotency-key': key });
      expect(early.status).toBe(409);
      expect(early.body.error.code).toBe('idempotency_request_in_progress');
      // Once the lease lapses, the same key and body are taken, and paid once.
      const retried = await eventually(() => pay(body, { 'idempotency-key': key }), (r) => r.status === 202, (CLAIM_LEASE_SECONDS + 15) * 1000, 'the retry taken');
      // The stages rejoin the restarted broker first (its group coordinator may still be loading).
      expect(await settled(retried.body.paymentId, 90_000)).toMatchObject({ status: 'COMPLETED' });
      const replay = await pay(body, { 'idempotency-key': key });
      expect(replay).toMatchObject({ status: 202, body: { paymentId: retried.body.paymentId } });
      expect((await rowsOfOrder(body.orderId)).map((r) => [r.id, r.status])).toEqual([[retried.body.paymentId, 'COMPLETED']]);
      expect(await balance(userId)).toBe('7.00');
    } finally {
      redis.disconnect();
    }
  }, 240_000);
});

/** A child process of the suite's app shares its topics and keys (the same deployment). */
function prefixesOf(running: RunningApp): Record<string, string> {
  return { KAFKA_TOPIC_PREFIX: running.config.kafka.topicPrefix, REDIS_KEY_PREFIX: running.config.redis.keyPrefix };
}
