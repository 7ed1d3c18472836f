/**
 * `npm run chaos`: under steady load (payments, and refunds of a share of them), injects faults one at
 * a time and then together into a deployment running on the runner's own private Kafka, Redis and
 * PostgreSQL (never the shared ones), and after each recovery checks that no accepted payment or refund
 * was lost or doubled and that the invariants of `npm run verify` hold. Prints a table, writes JSON and
 * markdown to chaos/results/, exits 1 on any failure.
 *
 * Options: --duration S (load per fault, default 60), --outage S (how long a fault lasts, 15),
 * --rate R (requests/s, 150), --faults a,b,… (default all), --terminal-bound S (60),
 * --slot N|auto (shifts every private port, so two runs can overlap; default 0; auto: the first free
 * slot from 1), --redis-cluster (a private six-node Redis Cluster instead of one Redis; `redis-wipe`
 * becomes `redis-failover`, a master killed), --out DIR.
 */
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppConfig } from '../src/config/app-config.js';
import { AppProcess, runCommand } from '../tools/app-process.js';
import { DEMO_PAYERS, PaymentLoad } from '../tools/load.js';
import { RefundLoad } from '../tools/refund-load.js';
import { WebhookReceiver } from '../tools/webhook-receiver.js';
import { chaosFaults } from './faults.js';
import { writeReport, type FaultResult } from './report.js';
import { runFault, type ChaosRun } from './runner.js';
import { lockSlot, PrivateServers, portsOfSlot } from '../tools/private-servers.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    outage: { type: 'string', default: '15' },
    rate: { type: 'string', default: '150' },
    faults: { type: 'string' },
    'terminal-bound': { type: 'string', default: '60' },
    slot: { type: 'string', default: '0' },
    out: { type: 'string', default: 'chaos/results' },
    'redis-cluster': { type: 'boolean', default: false },
  },
});
const durationS = Number(args.duration);
const outageS = Number(args.outage);
const rate = Number(args.rate);
const terminalBoundS = Number(args['terminal-bound']);
for (const [name, value] of Object.entries({ durationS, outageS, rate, terminalBoundS })) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`bad option ${name}: ${value}`);
}

const runTag = Date.now().toString(36);
const startedAt = new Date();
const resultsDir = args.out;
const runDir = join(resultsDir, startedAt.toISOString().replace(/[:.]/g, '-'));
mkdirSync(runDir, { recursive: true });
const t0 = Date.now();
const log = (line: string) => console.log(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`);

const { slot, releaseSlot } = takeSlot(args.slot);
process.once('exit', releaseSlot);
const servers = new PrivateServers(portsOfSlot(slot), slot, log, args['redis-cluster']);
const appPorts = [8190 + 10 * slot, 8191 + 10 * slot];

/** The app's environment: everything pointed at the private servers, explicitly. */
const appEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'development',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  LOG_FORMAT: 'text',
  KAFKA_BROKERS: servers.kafkaBrokers,
  KAFKA_TOPIC_PREFIX: `chaos.${runTag}.`,
  KAFKA_PARTITIONS: '6',
  // A killed instance's partitions move to the survivors after this long (the default is 30 s).
  KAFKA_SESSION_TIMEOUT_MS: '10000',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: String(servers.ports.redis),
  REDIS_PASSWORD: '',
  REDIS_DB: '0',
  REDIS_KEY_PREFIX: 'payments:',
  REDIS_CLUSTER_NODES: servers.redisCluster ? servers.redisClusterNodes : '',
  DB_HOST: '127.0.0.1',
  DB_PORT: String(servers.ports.postgres),
  DB_USER: 'postgres',
  DB_PASSWORD: '',
  DB_NAME: servers.database,
  DB_MIGRATIONS_RUN: 'false',
  // Webhooks to the runner's receiver, tried again within seconds (not hours) so they all arrive in the bound.
  WEBHOOK_RETRY_SCHEDULE: '1s,2s,4s',
  WEBHOOK_TIMEOUT_MS: '3000',
  WEBHOOK_POLL_MS: '200',
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  // 100 payers at up to a few hundred payments/s: the velocity rules would reject most of them.
  FRAUD_VELOCITY_MAX_COUNT: '0',
  FRAUD_VELOCITY_MAX_AMOUNT: 'USD:1000000000',
};
// Instances A and B, each with a log file of its own over all its restarts.
const apps = appPorts.map((port, i) => {
  const name = `app-${String.fromCharCode(65 + i)}`;
  return new AppProcess({ name, port, env: appEnv, output: { file: join(runDir, `${name}.log`) }, readyTimeoutMs: 120_000 });
});
// The demo payers (`npm run seed`), every request with an Idempotency-Key, every 25th a repeat order.
const load = new PaymentLoad({
  targets: [],
  payers: DEMO_PAYERS,
  pace: { rate },
  orderPrefix: `CHAOS-${runTag}-`,
  idempotencyKeyPrefix: `chaos-${runTag}-`,
  repeatOrderEvery: 25,
});
// Every 10th accepted payment refunded, once it has had time to complete (tools/refund-load.ts).
const refunds = new RefundLoad({ targets: [], accepted: () => load.accepted, every: 10, keyPrefix: `chaos-refund-${runTag}-` });
// The merchant's webhook receiver, subscribed to every outcome once the first instance is up.
const receiver = new WebhookReceiver();
const webhooks = { receiver, endpointId: '', secret: '' };
const run: ChaosRun = { apps, load, refunds, webhooks, config: AppConfig.fromEnvironment(appEnv), runDir, log, durationS, outageS, terminalBoundS };
const FAULTS = chaosFaults({ apps, servers, load, refunds, receiver });

async function main(): Promise<number> {
  const faults = args.faults ? args.faults.split(',').map((name) => FAULTS.find((f) => f.name === name) ?? fail(`unknown fault ${name}`)) : FAULTS;
  const settings = { durationS, outageS, rate, terminalBoundS, slot, ports: servers.ports, appPorts, redis: servers.redisCluster ? 'cluster' : 'single server', faults: faults.map((f) => f.name) };
  log(`private servers: kafka ${servers.ports.kafka}, redis ${servers.redisCluster ? `cluster ${servers.redisClusterNodes}` : servers.ports.redis}, postgres ${servers.ports.postgres}; apps ${appPorts.join(', ')}; logs in ${runDir}`);
  const results: FaultResult[] = [];
  let cleanExit = false;
  try {
    await servers.startFresh(appPorts);
    const dbEnv = { ...appEnv, DB_MIGRATIONS_RUN: 'true' };
    await runCommand(process.execPath, ['dist/database/migrate.js'], dbEnv);
    await runCommand(process.execPath, ['dist/database/seed.js'], dbEnv);
    log('migrated and seeded');
    await apps[0].start().waitReady();
    const receiverUrl = await receiver.start();
    const created = await fetch(`${apps[0].url}/api/webhook-endpoints`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiverUrl, events: ['*'], description: 'chaos receiver' }),
    });
    if (created.status !== 201) throw new Error(`webhook endpoint not created: ${created.status} ${await created.text()}`);
    const endpoint = (await created.json()) as { id: string; secret: string };
    webhooks.endpointId = endpoint.id;
    webhooks.secret = endpoint.secret;
    receiver.verifyOnArrival(endpoint.secret);
    log(`webhook receiver on ${receiverUrl}`);
    for (const fault of faults) {
      try {
        results.push(await runFault(fault, run));
      } catch (error) {
        await Promise.all([load.stop(), refunds.stop()]);
        log(`${fault.name}: ERROR ${(error as Error).stack}`);
        results.push({ fault: fault.name, description: fault.description, error: (error as Error).message, pass: false } as FaultResult);
        break; // the deployment is in an unknown state: the remaining faults would say nothing
      }
    }
    cleanExit = true;
  } catch (error) {
    log(`ERROR ${(error as Error).stack}`);
  } finally {
    await Promise.all(apps.map((a) => a.stop()));
    apps.forEach((a) => a.close());
    await receiver.stop();
    await servers.stopAll();
  }
  const passed = cleanExit && results.length === faults.length && results.every((r) => r.pass);
  if (passed) servers.removeData();
  writeReport(runDir, { runAt: startedAt.toISOString(), machine: `${cpus().length} cores, Node ${process.version}`, settings, results, passed, totalSeconds: (Date.now() - t0) / 1000 });
  return passed ? 0 : 1;
}

/** The slot asked for, locked for this run; `auto` takes the first free one from 1 up. */
function takeSlot(asked: string): { slot: number; releaseSlot: () => void } {
  const candidates = asked === 'auto' ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : [Number(asked)];
  if (!candidates.every((n) => Number.isInteger(n) && n >= 0 && n < 10)) fail(`--slot must be 0-9 or auto, not ${asked}`);
  for (const candidate of candidates) {
    const releaseSlot = lockSlot(candidate);
    if (releaseSlot) return { slot: candidate, releaseSlot };
  }
  return fail(`chaos slot ${asked} is in use by another chaos run (see ~/.cache/payments-system/chaos/slot-*.lock); pick another --slot`);
}

function fail(message: string): never {
  throw new Error(message);
}

// Ctrl-C or a kill of the runner must not leave private servers and apps behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the apps and the private servers`);
    void Promise.all(apps.map((a) => a.kill()))
      .then(() => servers.stopAll())
      .finally(() => process.exit(130));
  });
}

process.exitCode = await main().catch((error: unknown) => {
  console.error(error);
  return 1;
});
