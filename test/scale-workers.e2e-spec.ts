import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { AssignerProtocol, Kafka, logLevel, type Admin } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { spawnApp, stopAllAppProcesses, testProcessEnv, type AppProcess } from './support/app-process.js';
import { request } from './support/http.js';
import { PaymentLoad, waitForTerminal } from '../tools/load.js';
import { checkMoney, fundPayers } from './support/money.js';
import { TEST_RUN_ID } from './support/test-config.js';

const STAGES = ['validation', 'fraud', 'ledger'] as const;
const PARTITIONS = 6;

/**
 * One image, several roles: an API-only instance and two worker-only instances in the same consumer
 * groups, as separate processes on the shared local broker (with this run's own topics). The workers
 * split every stage's partitions; when one crashes, the other takes them all, and nothing is lost.
 */
describe('APP_ROLES: an API instance and two worker instances', () => {
  const prefix = `test.${TEST_RUN_ID}.scale.`;
  let env: Record<string, string>;
  let config: AppConfig;
  let api: AppProcess;
  let workers: AppProcess[];
  let admin: Admin;
  let dataSource: DataSource;
  let redis: Redis;
  const payers = Array.from({ length: 24 }, (_, i) => `SCALE-${randomUUID().slice(0, 6)}-${i}`);

  /** Group members and the partitions each holds, by client id (each process has its own). */
  async function assignment(stage: string): Promise<{ state: string; members: Record<string, number[]> }> {
    const { groups } = await admin.describeGroups([`${prefix}payments-${stage}`]);
    const members: Record<string, number[]> = {};
    for (const member of groups[0].members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      members[member.clientId.replace(`-${stage}`, '')] = Object.values(decoded?.assignment ?? {}).flat().sort((a, b) => a - b);
    }
    return { state: groups[0].state, members };
  }

  async function waitForAssignment(expectedMembers: string[], timeoutMs = 45_000): Promise<Record<string, Record<string, number[]>>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all: Record<string, Record<string, number[]>> = {};
      let ok = true;
      for (const stage of STAGES) {
        const { state, members } = await assignment(stage);
        all[stage] = members;
        const covered = Object.values(members).flat().sort((a, b) => a - b);
        ok &&= state === 'Stable' && Object.keys(members).sort().join() === [...expectedMembers].sort().join() && covered.join() === [...Array(PARTITIONS).keys()].join();
      }
      if (ok) return all;
      if (Date.now() > deadline) throw new Error(`groups not settled on ${expectedMembers.join(', ')}: ${JSON.stringify(all)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  async function metricSum(url: string, name: string, stage: string): Promise<number> {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    return text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) && line.includes(`group="${prefix}payments-${stage}"`))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  }

  beforeAll(async () => {
    env = testProcessEnv({
      KAFKA_TOPIC_PREFIX: prefix,
      REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:scale:`,
      KAFKA_PARTITIONS: String(PARTITIONS),
      FRAUD_VELOCITY_MAX_COUNT: '0',
      FRAUD_NEW_USER_HOURS: '0',
      LOG_LEVEL: 'log',
    });
    config = AppConfig.fromEnvironment(env);
    admin = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    // The API first: it provisions the topics like any instance would, and must not join a group.
    api = await spawnApp('api', { ...env, APP_ROLES: 'api', KAFKA_CLIENT_ID: 'api' });
    workers = await Promise.all([
      spawnApp('worker-1', { ...env, APP_ROLES: 'workers', KAFKA_CLIENT_ID: 'worker-1' }),
      spawnApp('worker-2', { ...env, APP_ROLES: 'validation,fraud,ledger', KAFKA_CLIENT_ID: 'worker-2' }),
    ]);
    dataSource = await new DataSource(appDataSourceOptions(config)).initialize();
    redis = new Redis({ host: config.redis.host, port: config.redis.port, keyPrefix: config.redis.keyPrefix });
  }, 180_000);

  afterAll(async () => {
    await stopAllAppProcesses();
    await admin?.disconnect();
    await dataSource?.destroy();
    redis?.disconnect();
  }, 60_000);

  it('should serve the API only on the API instance, health and metrics on every instance', async () => {
    const payment = { orderId: `SCALE-${randomUUID()}`, amount: '1.00', currency: 'USD', userId: payers[0] };
    const onWorker = await request(`${workers[0].url}/api/payments`, { body: payment });
    expect(onWorker.status).toBe(404);
    expect(onWorker.body.error).toMatchObject({ type: 'not_found_error', code: 'resource_not_found' });
    expect((await request(`${workers[0].url}/api/docs`)).status).toBe(404);
    for (const instance of [api, ...workers]) {
      expect((await request(`${instance.url}/health/readiness`)).status).toBe(200);
      expect((await fetch(`${instance.url}/metrics`)).status).toBe(200);
    }
    const health = await request(`${api.url}/health`);
    expect(health.body.components.kafka.details).toMatchObject({ roles: ['api'], topics: 4 });
    const workerHealth = await request(`${workers[0].url}/health`);
    expect(workerHealth.body.components.kafka.details.roles).toEqual(['validation', 'fraud', 'ledger', 'refunds', 'webhooks']);
    await fundPayers(api.url, payers);
  });

  it("should split every stage's partitions between the two workers, and the API instance consume nothing", async () => {
    const groups = await waitForAssignment(['worker-1', 'worker-2']);
    for (const stage of STAGES) {
      expect(groups[stage]['worker-1'].length).toBeGreaterThan(0);
      expect(groups[stage]['worker-2'].length).toBeGreaterThan(0);
      expect(groups[stage].api).toBeUndefined();
      // Each instance's own view of its share, as Prometheus would scrape it.
      expect(await metricSum(workers[0].url, 'kafka_consumer_assigned_partitions', stage)).toBe(groups[stage]['worker-1'].length);
      expect(await metricSum(workers[1].url, 'kafka_consumer_assigned_partitions', stage)).toBe(groups[stage]['worker-2'].length);
    }
    expect(api.output()).not.toMatch(/Stage \w+ consuming/);
    console.log(`two workers: ${JSON.stringify(groups)}`);
  });

  it('should rebalance to the surviving worker when one is killed under load, losing and doubling nothing', async () => {
    const traffic = new PaymentLoad({ targets: [api.url], payers, pace: { concurrency: 4 } });
    traffic.start();
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await workers[1].kill(); // SIGKILL: no leave-group; the broker notices after the session timeout (6 s)
    const groups = await waitForAssignment(['worker-1']);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await traffic.stop();
    console.log(`after killing worker-2: ${JSON.stringify(groups)}; ${traffic.summary()}`);
    for (const stage of STAGES) expect(groups[stage]['worker-1']).toEqual([...Array(PARTITIONS).keys()]);

    const ids = traffic.accepted.map((a) => a.paymentId);
    expect(ids.length).toBeGreaterThan(0);
    expect(await waitForTerminal(dataSource, ids, 60_000)).toEqual([]);
    const money = await checkMoney(dataSource, traffic.accepted);
    console.log(`outcomes of ${ids.length} accepted: ${JSON.stringify(money.byStatus)}`);
    expect(money).toMatchObject({ lost: [], doubled: [], failedAfterAccept: [] });
    expect(money.byStatus).toEqual({ COMPLETED: ids.length });

    const report = await new DeploymentVerifier(config, dataSource, redis).verify({ settleMs: 20_000 });
    expect(report.violations).toEqual([]);
    expect(report.terminalPayments).toBe(report.acceptedPayments);
  }, 150_000);
});
