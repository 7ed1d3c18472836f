/**
 * `npm run chaos`: under steady load, injects faults one at a time and then together into a deployment
 * running on the runner's own private Kafka, Redis and PostgreSQL (never the shared ones), and after each
 * recovery checks that no accepted payment was lost or doubled and that the invariants of `npm run
 * verify` hold. Prints a table, writes JSON and markdown to chaos/results/, exits 1 on any failure.
 *
 * Options: --duration S (load per fault, default 60), --outage S (how long a fault lasts, 15),
 * --rate R (requests/s, 150), --faults a,b,… (default all), --terminal-bound S (60),
 * --slot N|auto (shifts every private port, so two runs can overlap; default 0; auto: the first free
 * slot from 1), --out DIR.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { AppInstance } from './apps.js';
import { LoadClient } from './load.js';
import { lockSlot, PrivateServers, portsOfSlot } from './servers.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    outage: { type: 'string', default: '15' },
    rate: { type: 'string', default: '150' },
    faults: { type: 'string' },
    'terminal-bound': { type: 'string', default: '60' },
    slot: { type: 'string', default: '0' },
    out: { type: 'string', default: 'chaos/results' },
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const t0 = Date.now();
const log = (line: string) => console.log(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}`);

const { slot, releaseSlot } = takeSlot(args.slot);
process.once('exit', releaseSlot);
const servers = new PrivateServers(portsOfSlot(slot), slot, log);
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
  DB_HOST: '127.0.0.1',
  DB_PORT: String(servers.ports.postgres),
  DB_USER: 'postgres',
  DB_PASSWORD: '',
  DB_NAME: servers.database,
  DB_MIGRATIONS_RUN: 'false',
  // 100 payers at up to a few hundred payments/s: the velocity rules would reject most of them.
  FRAUD_VELOCITY_MAX_COUNT: '0',
  FRAUD_VELOCITY_MAX_AMOUNT: 'USD:1000000000',
};
const config = AppConfig.fromEnvironment(appEnv);
/** Answered requests sent again after each fault, at most (evenly spread over the run). */
const ANSWERED_RETRY_SAMPLE = 300;
/** How long the intake's claims of an Idempotency-Key or an order outlive a request that crashed. */
const CLAIM_LEASE_SECONDS = 30;
const apps = appPorts.map((port, i) => new AppInstance(`app-${String.fromCharCode(65 + i)}`, port, appEnv, join(runDir, `app-${String.fromCharCode(65 + i)}.log`)));

// ---------------------------------------------------------------- faults

interface Fault {
  name: string;
  description: string;
  /** Instances running when the load starts. */
  instances: number;
  inject(): Promise<void>;
  /** Brings back what inject() took away; returns once the deployment is whole again. */
  recover(): Promise<void>;
}

const [appA, appB] = apps;
const load = new LoadClient(runTag, rate);
const FAULTS: Fault[] = [
  {
    name: 'app-kill',
    description: 'kill -9 the app, restart it',
    instances: 1,
    inject: () => appA.kill(),
    recover: () => appA.start(),
  },
  {
    name: 'kafka-restart',
    description: 'stop the Kafka broker, start it again',
    instances: 1,
    inject: () => servers.kafkaStop(),
    recover: async () => {
      await servers.kafkaStart();
      await appA.waitReady();
    },
  },
  {
    name: 'redis-wipe',
    description: 'kill -9 Redis (no persistence) and start it empty',
    instances: 1,
    inject: () => servers.killRedis(),
    recover: async () => {
      await servers.startRedis();
      await appA.waitReady();
    },
  },
  {
    name: 'postgres-restart',
    description: 'stop PostgreSQL (fast), start it again',
    instances: 1,
    inject: () => servers.stopPostgres('fast'),
    recover: async () => {
      await servers.startPostgres();
      await appA.waitReady();
    },
  },
  {
    name: 'rebalance-kill',
    description: 'start a 2nd instance in the same groups, kill -9 the 1st while they rebalance',
    instances: 1,
    inject: async () => {
      // Ready means its stage consumers have joined the groups: the rebalance is under way right now.
      await appB.start();
      load.setTargets([appA.url, appB.url]);
      await appA.kill();
    },
    recover: () => appA.start(),
  },
  {
    name: 'combined',
    description: 'two instances; kill -9 one, stop Kafka, wipe Redis, stop PostgreSQL, all at once',
    instances: 2,
    inject: async () => {
      await Promise.all([appA.kill(), servers.kafkaStop(), servers.killRedis(), servers.stopPostgres('immediate')]);
    },
    recover: async () => {
      await Promise.all([servers.startPostgres(), servers.startRedis(), servers.kafkaStart()]);
      await appA.start();
      await appB.waitReady();
    },
  },
];

// ---------------------------------------------------------------- checks

interface FaultResult {
  fault: string;
  description: string;
  sent: number;
  accepted: number;
  unavailable503: number;
  noAnswer: number;
  otherStatuses: Record<string, number>;
  retriedNoAnswer: Record<string, number>;
  acceptedAfterRetry: number;
  lost: number;
  lostPaymentIds: string[];
  doubled: number;
  doubledDetail: unknown[];
  completedBehind503: number;
  /** Answered (202) requests sent again after recovery, and how many of them got another answer than their first paymentId. */
  answeredRetried: number;
  answeredRetriedReplayed: number;
  answeredRetryMismatched: number;
  answeredRetryMismatchDetail: unknown[];
  /** Payments of the retried orders declined DUPLICATE_ORDER that no repeat-order request made (so a retry did). */
  duplicatesFromRetries: number;
  /** Idempotency-Keys still "in progress" after the claim lease, and orders held by a payment that does not exist. */
  stuck: number;
  outcomes: Record<string, number>;
  faultSeconds: number;
  recoverySeconds: number;
  timeToAllTerminalSeconds: number | null;
  verifyViolations: number;
  verifyDetail: unknown[];
  pass: boolean;
  error?: string;
}

async function withStores<T>(fn: (dataSource: DataSource, redis: Redis) => Promise<T>): Promise<T> {
  const dataSource = new DataSource(appDataSourceOptions(config));
  await dataSource.initialize();
  const redis = new Redis({ host: config.redis.host, port: config.redis.port, keyPrefix: config.redis.keyPrefix, lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
    return await fn(dataSource, redis);
  } finally {
    await dataSource.destroy();
    redis.disconnect();
  }
}

async function withoutRow(dataSource: DataSource, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows: { id: string }[] = await dataSource.query(`SELECT id FROM payments WHERE id = ANY($1::uuid[])`, [ids]);
  const found = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !found.has(id));
}

/**
 * Waits until every id has its terminal row, at most until `deadline`; always looks at least once, so
 * a payment that ended is never reported missing because the wait began late.
 */
async function waitAllTerminal(ids: string[], deadline: number): Promise<{ missing: string[]; at: number | null }> {
  return withStores(async (dataSource) => {
    let missing = [...ids];
    for (;;) {
      missing = await withoutRow(dataSource, missing).catch(() => missing);
      if (missing.length === 0) return { missing, at: Date.now() };
      if (Date.now() > deadline) return { missing, at: null };
      await sleep(500);
    }
  });
}

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function runFault(fault: Fault): Promise<FaultResult> {
  log(`=== ${fault.name}: ${fault.description}`);
  const wanted = apps.slice(0, fault.instances);
  await Promise.all(wanted.filter((a) => !a.running).map((a) => a.start()));
  await Promise.all(apps.slice(fault.instances).map((a) => a.stop()));
  load.setTargets(wanted.map((a) => a.url));

  load.take();
  const loadStarted = Date.now();
  load.start();
  await sleep(durationS * 300);
  const faultAt = Date.now();
  log(`${fault.name}: injecting`);
  await fault.inject();
  const injectedAt = Date.now(); // rebalance-kill kills only after the 2nd instance is up
  await sleep(outageS * 1000);
  log(`${fault.name}: recovering`);
  const recoverStarted = Date.now();
  await fault.recover();
  const recoveredAt = Date.now();
  log(`${fault.name}: recovered in ${((recoveredAt - recoverStarted) / 1000).toFixed(1)} s; load goes on`);
  await sleep(Math.max(loadStarted + durationS * 1000 - Date.now(), durationS * 300));
  await load.stop();
  const records = load.take();

  // A careful client sends each request that got no answer again, with the same Idempotency-Key.
  const live = apps.filter((a) => a.running);
  const unanswered = records.filter((r) => r.status === null);
  for (let i = 0; i < unanswered.length; i += 50) {
    await Promise.all(unanswered.slice(i, i + 50).map((r, j) => load.retry(r, live[(i + j) % live.length].url)));
  }

  // A request a crash cut short must not hold its Idempotency-Key or its order for long: the ones still
  // "in progress" are sent once more after the claim lease (30 s) has passed since the kill.
  const inProgress = unanswered.filter((r) => r.retry?.code === 'idempotency_request_in_progress');
  if (inProgress.length > 0) {
    await sleep(Math.max(0, injectedAt + (CLAIM_LEASE_SECONDS + 5) * 1000 - Date.now()));
    await Promise.all(inProgress.map((r) => load.retry(r, live[r.n % live.length].url)));
  }
  // A client that never saw its 202 sends the request again: a sample of the answered ones, spread over
  // the run (before, during and after the fault), must get the paymentId of their first answer, even
  // where Redis lost the key in between (issue #19).
  const answered = records.filter((r) => r.status === 202 && r.paymentId && !r.repeatOrder);
  const sample = answered.filter((_, i) => i % Math.max(1, Math.ceil(answered.length / ANSWERED_RETRY_SAMPLE)) === 0);
  for (let i = 0; i < sample.length; i += 50) {
    await Promise.all(sample.slice(i, i + 50).map((r, j) => load.sendAgain(r, live[(i + j) % live.length].url)));
  }
  const retriesDoneAt = Date.now();
  const stuckKeys = inProgress.filter((r) => r.retry?.code === 'idempotency_request_in_progress').length;

  // What the client saw, request by request: every 202's paymentId, every 503, every request without an answer.
  writeFileSync(join(runDir, `${fault.name}-requests.jsonl`), records.map((r) => JSON.stringify(r)).join('\n') + '\n');

  const acceptedIds = new Set<string>();
  for (const r of records) {
    if (r.status === 202 && r.paymentId) acceptedIds.add(r.paymentId);
    if (r.retry?.status === 202 && r.retry.paymentId) acceptedIds.add(r.retry.paymentId);
    if (r.again?.status === 202 && r.again.paymentId) acceptedIds.add(r.again.paymentId);
  }
  const acceptedAfterRetry = records.filter((r) => r.retry?.status === 202 && r.retry.paymentId).length;
  log(`${fault.name}: ${records.length} sent, ${acceptedIds.size} accepted; waiting until every accepted payment is terminal`);
  // Payments accepted on a retry came in after recovery: the bound runs from the later of the two.
  const terminal = await waitAllTerminal([...acceptedIds], Math.max(recoveredAt, retriesDoneAt) + terminalBoundS * 1000);

  const checks = await withStores(async (dataSource, redis) => {
    const ids = [...acceptedIds];
    const outcomes: { status: string; n: string }[] = await dataSource.query(
      `SELECT status || COALESCE(':' || reason, '') AS status, COUNT(*)::text AS n FROM payments WHERE id = ANY($1::uuid[]) GROUP BY 1 ORDER BY 1`,
      [ids],
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
    const stuckOrders = await withoutRow(dataSource, named);
    // A keyed retry must never become a payment of its own, which the ledger would decline as DUPLICATE_ORDER:
    // of the sampled orders (one key each), only a repeat-order request's payment may be declined so.
    const repeatIds = records.filter((r) => r.repeatOrder).flatMap((r) => [r.paymentId, r.retry?.paymentId].filter((id): id is string => !!id));
    const duplicatesFromRetries: unknown[] = sample.length
      ? await dataSource.query(`SELECT id, order_id FROM payments WHERE order_id = ANY($1) AND reason = 'DUPLICATE_ORDER' AND NOT (id = ANY($2::uuid[]))`, [
          sample.map((r) => r.orderId),
          repeatIds,
        ])
      : [];
    log(`${fault.name}: running the deployment verifier`);
    const report = await new DeploymentVerifier(config, dataSource, redis).verify({ settleMs: terminalBoundS * 500 });
    return { outcomes, doubled: [...doubledOrders, ...doubledPayments], behind503, stuckOrders, duplicatesFromRetries, report };
  });

  const mismatched = sample.filter((r) => r.again?.status !== 202 || r.again.paymentId !== r.paymentId);
  const result: FaultResult = {
    fault: fault.name,
    description: fault.description,
    sent: records.length,
    accepted: records.filter((r) => r.status === 202).length,
    unavailable503: records.filter((r) => r.status === 503).length,
    noAnswer: unanswered.length,
    otherStatuses: count(
      records.filter((r) => r.status !== null && r.status !== 202 && r.status !== 503),
      (r) => `${r.status}${r.repeatOrder ? ' (repeat order)' : ''}`,
    ),
    retriedNoAnswer: count(unanswered, (r) => `${r.retry?.status ?? 'none'}${r.retry?.replayed ? ' replayed' : ''}${r.retry?.code ? ` ${r.retry.code}` : ''}`),
    acceptedAfterRetry,
    lost: terminal.missing.length,
    lostPaymentIds: terminal.missing.slice(0, 20),
    doubled: checks.doubled.length,
    doubledDetail: checks.doubled.slice(0, 20),
    completedBehind503: checks.behind503.length,
    answeredRetried: sample.length,
    answeredRetriedReplayed: sample.filter((r) => r.again?.replayed).length,
    answeredRetryMismatched: mismatched.length,
    answeredRetryMismatchDetail: mismatched.slice(0, 20).map((r) => ({ n: r.n, paymentId: r.paymentId, again: r.again })),
    duplicatesFromRetries: checks.duplicatesFromRetries.length,
    stuck: stuckKeys + checks.stuckOrders.length,
    outcomes: Object.fromEntries(checks.outcomes.map((o) => [o.status, Number(o.n)])),
    faultSeconds: (recoverStarted - faultAt) / 1000,
    recoverySeconds: (recoveredAt - recoverStarted) / 1000,
    timeToAllTerminalSeconds: terminal.at === null ? null : Math.max(0, (terminal.at - recoveredAt) / 1000),
    verifyViolations: checks.report.violations.length,
    verifyDetail: checks.report.violations.slice(0, 20),
    pass: false,
  };
  result.pass =
    result.lost === 0 &&
    result.doubled === 0 &&
    result.completedBehind503 === 0 &&
    result.answeredRetryMismatched === 0 &&
    result.duplicatesFromRetries === 0 &&
    result.stuck === 0 &&
    result.verifyViolations === 0 &&
    result.timeToAllTerminalSeconds !== null;
  log(`${fault.name}: ${result.pass ? 'PASS' : 'FAIL'} ${JSON.stringify({ accepted: result.accepted, lost: result.lost, doubled: result.doubled, answeredRetried: result.answeredRetried, retryMismatched: result.answeredRetryMismatched, duplicatesFromRetries: result.duplicatesFromRetries, stuck: result.stuck, verify: result.verifyViolations, terminalS: result.timeToAllTerminalSeconds })}`);
  return result;
}

// ---------------------------------------------------------------- report

function markdown(summary: { settings: Record<string, unknown>; results: FaultResult[]; runAt: string; machine: string; totalSeconds: number }): string {
  const rows = summary.results.map((r) =>
    [
      r.fault,
      r.sent,
      r.accepted + (r.acceptedAfterRetry ? ` (+${r.acceptedAfterRetry} on retry)` : ''),
      r.unavailable503,
      r.noAnswer,
      r.lost,
      r.doubled + r.completedBehind503,
      `${r.answeredRetried - r.answeredRetryMismatched}/${r.answeredRetried}${r.duplicatesFromRetries ? ` (${r.duplicatesFromRetries} DUPLICATE_ORDER)` : ''}`,
      r.stuck,
      r.timeToAllTerminalSeconds === null ? `> ${terminalBoundS}` : r.timeToAllTerminalSeconds.toFixed(1),
      r.verifyViolations,
      r.error ? `ERROR: ${r.error}` : r.pass ? 'PASS' : 'FAIL',
    ].join(' | '),
  );
  return [
    `# Chaos run ${summary.runAt}`,
    '',
    `${summary.machine}; ${JSON.stringify(summary.settings)}; ${summary.totalSeconds.toFixed(0)} s in all.`,
    '',
    '| fault | sent | accepted (202) | 503 | no answer | lost | doubled | answered 202 sent again: same paymentId | stuck | all terminal after recovery (s) | verify violations | result |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    '',
    ...summary.results.flatMap((r) => [
      `- **${r.fault}** (${r.description}): fault ${r.faultSeconds.toFixed(1)} s, recovery ${r.recoverySeconds.toFixed(1)} s; outcomes ${JSON.stringify(r.outcomes)}; other answers ${JSON.stringify(r.otherStatuses)}; unanswered sent again ${JSON.stringify(r.retriedNoAnswer)}; answered sent again ${r.answeredRetried} (${r.answeredRetriedReplayed} replayed)`,
    ]),
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  const faults = args.faults ? args.faults.split(',').map((name) => FAULTS.find((f) => f.name === name) ?? fail(`unknown fault ${name}`)) : FAULTS;
  const settings = { durationS, outageS, rate, terminalBoundS, slot, ports: servers.ports, appPorts, faults: faults.map((f) => f.name) };
  log(`private servers: kafka ${servers.ports.kafka}, redis ${servers.ports.redis}, postgres ${servers.ports.postgres}; apps ${appPorts.join(', ')}; logs in ${runDir}`);
  const results: FaultResult[] = [];
  let cleanExit = false;
  try {
    await servers.startFresh(appPorts);
    const dbEnv = { ...appEnv, DB_MIGRATIONS_RUN: 'true' };
    await exec('node', ['dist/database/migrate.js'], dbEnv);
    await exec('node', ['dist/database/seed.js'], dbEnv);
    log('migrated and seeded');
    for (const fault of faults) {
      try {
        results.push(await runFault(fault));
      } catch (error) {
        await load.stop();
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
    await servers.stopAll();
  }
  const passed = cleanExit && results.length === faults.length && results.every((r) => r.pass);
  if (passed) servers.removeData();
  const summary = { runAt: startedAt.toISOString(), machine: `${cpus().length} cores, Node ${process.version}`, settings, results, passed, totalSeconds: (Date.now() - t0) / 1000 };
  writeFileSync(join(runDir, 'result.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(runDir, 'result.md'), markdown(summary));
  console.log(`\n${markdown(summary)}`);
  console.log(`written: ${join(runDir, 'result.json')}, ${join(runDir, 'result.md')}`);
  console.log(passed ? 'chaos: PASS' : 'chaos: FAIL');
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

function exec(command: string, commandArgs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${commandArgs.join(' ')} exited ${code}`))));
  });
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
