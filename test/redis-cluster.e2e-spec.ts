import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { CLAIM_LEASE_SECONDS } from '../src/payments/idempotency.store.js';
import { RedisKeySpace } from '../src/redis/key-space.js';
import { PaymentStateStore } from '../src/state/payment-state.store.js';
import { stateSettingsOf } from '../src/state/state-settings.js';
import { createRedisClient } from '../src/redis/redis.module.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { PaymentLoad, waitForTerminal, type SentRequest } from '../tools/load.js';
import { scanKeys } from '../tools/redis-admin.js';
import { spawnApp, stopAppsAndServers, testProcessEnv, type AppProcess } from './support/app-process.js';
import { request } from './support/http.js';
import { checkMoney, fundPayers } from './support/money.js';
import { LocalRedisCluster } from './support/redis-cluster.js';
import { TEST_RUN_ID } from './support/test-config.js';
import { until } from './support/until.js';

/**
 * The whole pipeline with every Redis user on a real six-node Redis Cluster (REDIS_CLUSTER_NODES):
 * the seed's example, Idempotency-Keys, order claims, refunds and the history API; then one master
 * killed with SIGKILL under load. A 503 while its replica takes over is allowed; losing or doubling a
 * payment that got a 202 is not, and PostgreSQL, the system of record, must agree with every 202.
 */
describe('Redis Cluster: the pipeline on three masters, then a master killed under load', () => {
  const cluster = new LocalRedisCluster();
  const keyPrefix = `test:${TEST_RUN_ID}:rcluster:`;
  const MERCHANT = 'MERCHANT-001'; // the open API's default merchant: every intake claim of the suite carries its tag
  let app: AppProcess;
  let config: AppConfig;
  let dataSource: DataSource;
  let redis: Cluster;
  const payers = Array.from({ length: 16 }, (_, i) => `RCLUSTER-${randomUUID().slice(0, 6)}-${i}`);
  const call = (path: string, init: Parameters<typeof request>[1] = {}) => request(`${app.url}${path}`, init);

  const ended = (paymentId: string) =>
    until(async () => (await call(`/api/payments/${paymentId}`)).body, (p) => ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'].includes(p.status), `payment ${paymentId}`);

  beforeAll(async () => {
    await cluster.start();
    const env = testProcessEnv({
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_KEY_PREFIX: keyPrefix,
      KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.rcluster.`,
      FRAUD_VELOCITY_MAX_COUNT: '0',
      FRAUD_NEW_USER_HOURS: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    });
    config = AppConfig.fromEnvironment(env);
    app = await spawnApp('app-on-redis-cluster', env);
    dataSource = await new DataSource(appDataSourceOptions(config)).initialize();
    const client = createRedisClient(config, { commandTimeout: undefined, maxRetriesPerRequest: 20 });
    if (!(client instanceof Cluster)) throw new Error('REDIS_CLUSTER_NODES did not give a Cluster client');
    redis = client;
    await fundPayers(app.url, payers);
  }, 180_000);

  afterAll(() => stopAppsAndServers(cluster, { dataSource, redis }), 60_000);

  it("should complete the seed's example, its keys and the global stream's parts spread over the three masters", async () => {
    const body = { orderId: `ORDER-12345-${randomUUID()}`, amount: 99.99, currency: 'USD', userId: payers[0] };
    const accepted = await call('/api/payments', { body });
    expect(accepted.status).toBe(202);
    expect(accepted.body.message).toBe('支付请求已收到，正在处理中。');
    const paymentId: string = accepted.body.paymentId;
    expect((await ended(paymentId)).status).toBe('COMPLETED');

    const history = await until(async () => (await call(`/api/payments/${paymentId}/events`)).body as { status: string; stage: string }[], (h) => h.length >= 4, 'the history');
    expect(history.map((s) => `${s.stage}:${s.status}`)).toEqual(['intake:PENDING', 'validation:VALIDATED', 'fraud:APPROVED', 'ledger:COMPLETED']);

    // Payments that arrive together share the intake's and the stages' script calls, split per slot.
    const together = await Promise.all(
      payers.map((userId) => call('/api/payments', { body: { orderId: `RC-TOGETHER-${randomUUID()}`, amount: '1.00', currency: 'USD', userId } })),
    );
    expect(together.map((r) => r.status)).toEqual(payers.map(() => 202));
    for (const r of together) {
      expect((await ended(r.body.paymentId)).status).toBe('COMPLETED');
      expect(((await call(`/api/payments/${r.body.paymentId}/events`)).body as unknown[]).length).toBe(4);
    }

    // The payment's state, stream and dedup set carry one tag, its part of the global stream's.
    const part = RedisKeySpace.of(config).partOf(paymentId);
    const own = await scanKeys(redis, `${keyPrefix}payment:*${paymentId}*`);
    expect(own.sort()).toEqual([`${keyPrefix}payment:{${part}}:${paymentId}`, `${keyPrefix}payment:{${part}}:${paymentId}:event-ids`, `${keyPrefix}payment:{${part}}:${paymentId}:events`]);
    expect(await redis.xlen(`payments:{${part}}`)).toBeGreaterThanOrEqual(4);
    // 16 parts, their slots spread so that every master holds some.
    const mastersOfParts = new Set(RedisKeySpace.of(config).allParts().map((p) => redis.slots[calculateSlot(p)][0]));
    expect(mastersOfParts.size).toBe(3);

    // The whole global stream, read over its parts in order of stream id: the seed's payment's steps in machine order.
    const view = new PaymentStateStore(redis, stateSettingsOf(config), RedisKeySpace.of(config));
    const { entries: global } = await view.globalEntries({}, 10_000);
    expect(global.filter((e) => e.paymentId === paymentId).map((e) => e.status)).toEqual(['PENDING', 'VALIDATED', 'APPROVED', 'COMPLETED']);
    expect(new Set(global.map((e) => e.paymentId)).size).toBe(payers.length + 1);
    // In id order (parts on different masters may share an id), and paged by its cursor without a gap or a repeat.
    const idOf = (id: string) => id.split('-').map(BigInt);
    const notBefore = (id: string, earlier: string) => idOf(id)[0] > idOf(earlier)[0] || (idOf(id)[0] === idOf(earlier)[0] && idOf(id)[1] >= idOf(earlier)[1]);
    expect(global.filter((e, i) => i > 0 && !notBefore(e.id, global[i - 1].id))).toEqual([]);
    const paged: typeof global = [];
    let cursor = {};
    for (let page = await view.globalEntries(cursor, 7); page.entries.length > 0; page = await view.globalEntries(cursor, 7)) {
      paged.push(...page.entries);
      cursor = page.cursor;
    }
    expect(paged).toEqual(global);

    const health = await call('/actuator/health');
    expect(health.body.components.redis).toMatchObject({ status: 'UP', details: { clusterState: 'ok', slotsOk: 16384, masters: 3 } });
  });

  it("should push new payments to the ops console's live feed from every part of the global stream", async () => {
    // The console's feed as a page reads it (Server-Sent Events); the API is open in this suite.
    const abort = new AbortController();
    const feed = await fetch(`${app.url}/ops/api/feed`, { signal: abort.signal });
    expect(feed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = feed.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let text = '';
      while (!text.includes('event: hello')) text += (await reader.read()).value ?? '';
      const accepted = await Promise.all(payers.slice(0, 8).map((userId) => call('/api/payments', { body: { orderId: `RC-TAIL-${randomUUID()}`, amount: '1.00', currency: 'USD', userId } })));
      const ids = accepted.map((a) => a.body.paymentId as string);
      // Eight payments land in several parts (on different masters); the tail must bring each one's PENDING.
      expect(new Set(ids.map((id) => RedisKeySpace.of(config).partOf(id))).size).toBeGreaterThan(1);
      const tailed = new Set<string>();
      const deadline = Date.now() + 15_000;
      while (ids.some((id) => !tailed.has(id)) && Date.now() < deadline) {
        text += (await reader.read()).value ?? '';
        for (const [, data] of text.matchAll(/event: tail\ndata: (.*)\n/g)) {
          for (const entry of (JSON.parse(data) as { entries: { paymentId: string; status: string }[] }).entries) if (entry.status === 'PENDING') tailed.add(entry.paymentId);
        }
      }
      expect(ids.filter((id) => !tailed.has(id))).toEqual([]);
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  });

  it('should hold Idempotency-Keys, order claims and refunds on the cluster', async () => {
    const key = `RC-KEY-${randomUUID()}`;
    const body = { orderId: `RC-ORD-${randomUUID()}`, amount: '20.00', currency: 'USD', userId: payers[1] };
    const first = await call('/api/payments', { body, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(202);
    const again = await call('/api/payments', { body, headers: { 'idempotency-key': key } });
    expect({ status: again.status, paymentId: again.body.paymentId, replayed: again.headers.get('idempotent-replayed') }).toEqual({ status: 202, paymentId: first.body.paymentId, replayed: 'true' });
    const otherBody = await call('/api/payments', { body: { ...body, amount: '21.00' }, headers: { 'idempotency-key': key } });
    expect(otherBody.status).toBe(422);

    // Twenty requests for one order at once, each with its own key: one payment, the others refused.
    const order = { orderId: `RC-RACE-${randomUUID()}`, amount: '1.00', currency: 'USD', userId: payers[2] };
    const racing = await Promise.all(Array.from({ length: 20 }, () => call('/api/payments', { body: order, headers: { 'idempotency-key': randomUUID() } })));
    const statuses = racing.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 202).every((s) => s === 409)).toBe(true);

    // A refund reserves on the payment's hash and indexes the refund in another slot.
    expect((await ended(first.body.paymentId)).status).toBe('COMPLETED');
    const refund = await call(`/api/payments/${first.body.paymentId}/refunds`, { body: { amount: '5.00' } });
    expect(refund.status).toBe(202);
    const pendingOrEnded = await call(`/api/refunds/${refund.body.refundId}`);
    expect(pendingOrEnded.status).toBe(200);
    const refunded = await until(async () => (await call(`/api/refunds/${refund.body.refundId}`)).body, (r) => r.status !== 'PENDING', 'the refund');
    expect(refunded).toMatchObject({ status: 'SUCCEEDED', amount: '5.00' });
  });

  it('should lose and double nothing accepted when the master of the intake claims is killed under load', async () => {
    const traffic = new PaymentLoad({ targets: [app.url], payers, pace: { concurrency: 4 }, idempotencyKeyPrefix: `RC-LOAD-${randomUUID()}-` });
    traffic.start();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const beforeKill = traffic.count;
    expect(beforeKill).toBeGreaterThan(0);

    // The merchant's tag puts every Idempotency-Key and order of this load in one slot: kill its master.
    const killedPort = await cluster.killMasterOf(calculateSlot(encodeURIComponent(MERCHANT)));
    const killedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const afterKill = traffic.count - beforeKill;
    await traffic.stop();
    console.log(`redis cluster failover: master on ${killedPort} killed after ${beforeKill} accepted; ${afterKill} accepted after the kill. ${traffic.summary()}`);
    const records: SentRequest[] = traffic.take();
    // The replica took over and the intake went on.
    expect(afterKill).toBeGreaterThan(0);
    const health = await until(async () => (await call('/actuator/health')).body.components.redis, (r) => r.status === 'UP', 'Redis healthy again');
    expect(health.details).toMatchObject({ clusterState: 'ok', slotsOk: 16384 });

    // A careful client sends what got no answer, or a 5xx, again with its key; a key still held by a
    // request the failover cut short (409 in progress) is free once its claim lease has run out.
    const unanswered = records.filter((r) => r.status === null || r.status >= 500);
    for (const r of unanswered) await traffic.retry(r, app.url);
    const held = unanswered.filter((r) => r.retry?.code === 'idempotency_request_in_progress');
    if (held.length > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, killedAt + (CLAIM_LEASE_SECONDS + 5) * 1000 - Date.now())));
    for (const r of held) await traffic.retry(r, app.url);
    console.log(`redis cluster failover: ${unanswered.length} unanswered or 5xx sent again, ${held.length} of them after the claim lease`);
    expect(unanswered.filter((r) => r.retry?.status !== 202)).toEqual([]);

    const accepted = records.flatMap((r) => {
      const paymentId = r.status === 202 ? r.paymentId : r.retry?.status === 202 ? r.retry.paymentId : undefined;
      return paymentId ? [{ paymentId, userId: r.userId }] : [];
    });
    const missing = await waitForTerminal(dataSource, accepted.map((a) => a.paymentId), 60_000);
    if (missing.length > 0) console.log(`${missing.length} not terminal; the app's last lines:\n${app.output().split('\n').slice(-60).join('\n')}`);
    expect(missing).toEqual([]);
    const money = await checkMoney(dataSource, accepted);
    console.log(`redis cluster failover outcomes of ${accepted.length} accepted: ${JSON.stringify(money.byStatus)}`);
    expect(money).toMatchObject({ lost: [], doubled: [], failedAfterAccept: [] });
    // One key, one payment: no retry got another paymentId than its first 202.
    expect(records.filter((r) => r.status === 202 && r.retry?.paymentId && r.retry.paymentId !== r.paymentId)).toEqual([]);

    const report = await new DeploymentVerifier(config, dataSource, redis).verify({ settleMs: 30_000 });
    expect(report.violations).toEqual([]);
    expect(report.terminalPayments).toBe(report.acceptedPayments);

    // The killed node comes back as a replica of the master that took its place.
    await cluster.startNode(killedPort);
    await until(() => cluster.status(), (s) => s.includes(`replica 127.0.0.1:${killedPort} of`), `127.0.0.1:${killedPort} a replica again`, 30_000);
  }, 180_000);
});
