/**
 * `npm run bench`: drives POST /api/payments of the production-mode app on loopback, in each deployment
 * shape (bench/shapes.ts: `single`, one process running everything; `split`, an API-only process and
 * worker-only ones), one after the other on topics and Redis keys of its own, and reports intake and
 * end-to-end throughput and latency and resources side by side, then baselines measured once in the
 * same run (a bare Fastify endpoint, raw and batched kafkajs produce) and each shape's ratios to them.
 * Options: --shapes single,split, --workers N (worker processes of split, 1), --duration S,
 * --connections N, --rate R (fixed overall rate instead of as fast as possible), --payers N,
 * --no-baselines, --profile (a V8 CPU profile of every app process during the load, summarized by
 * area and function), --idempotency-keys (every request with a fresh Idempotency-Key, as clients that
 * retry safely send them: the path that looks the key up in PostgreSQL), --console-pages N (N
 * operations console pages open in Chromium on the API during the load), --console-feeds N (what N
 * pages ask of the app, without a browser's rendering on the same cores).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { DepositsService } from '../src/ledger/deposits.service.js';
import { LedgerRepository } from '../src/ledger/ledger.repository.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { createRedisClient, type RedisClient } from '../src/redis/redis.module.js';
import { DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { runCommand } from '../tools/app-process.js';
import { usedMemoryBytes } from '../tools/redis-admin.js';
import { autocannonPayments } from '../tools/throughput-load.js';
import { againstBaselines, measureBaselines } from './baselines.js';
import { openConsoleFeeds, openConsolePages } from './console-pages.js';
import { removeRunLeftovers } from './leftovers.js';
import { markdown } from './report.js';
import { Deployment, metricSum, SHAPES, type ShapeName } from './shapes.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    rate: { type: 'string' },
    'no-baselines': { type: 'boolean', default: false },
    port: { type: 'string', default: '8095' },
    profile: { type: 'boolean', default: false },
    payers: { type: 'string', default: '2000' },
    shapes: { type: 'string', default: SHAPES.join(',') },
    workers: { type: 'string', default: '1' },
    'idempotency-keys': { type: 'boolean', default: false },
    'console-pages': { type: 'string', default: '0' },
    'console-feeds': { type: 'string', default: '0' },
  },
});
const durationSeconds = Number(args.duration);
const connections = Number(args.connections);
const rate = args.rate ? Number(args.rate) : undefined;
const port = Number(args.port);
const workers = Number(args.workers);
const idempotencyKeys = args['idempotency-keys'];
const consolePages = Number(args['console-pages']);
const consoleFeeds = Number(args['console-feeds']);
const shapes = args.shapes.split(',').map((s) => s.trim()) as ShapeName[];
for (const s of shapes) if (!SHAPES.includes(s)) throw new Error(`--shapes: unknown shape "${s}" (${SHAPES.join(', ')})`);
if (!(workers >= 1)) throw new Error('--workers must be at least 1');
const runTag = Date.now().toString(36);
// The run's namespace on the shared servers; each shape gets its own inside it (`<run prefix><shape>.`),
// so the shapes' results never mix and one sweep of the run prefix removes everything at the end.
const topicPrefix = `bench.${runTag}.`;
const redisKeyPrefix = `bench:${runTag}:`;
/** Funded payers the load spreads over: one payer's payments run in order, different payers' at once. */
const USERS = Number(args.payers);
const payerId = (n: number) => `BENCH-PAYER-${String(n).padStart(5, '0')}`;
const payers = Array.from({ length: USERS }, (_, i) => payerId(i));
const profileStem = args.profile ? `${process.cwd()}/bench/results/cpu-${new Date().toISOString().replace(/[:.]/g, '-')}` : null;

/** Production refuses to start without API keys: the bench mints one for this run and sends it (and an admin key for --console-pages). */
const apiKey = mintApiKey();
const adminKey = mintApiKey();

/** The app as the bench runs it: production mode, velocity rules opened for the bench's payers. */
const appEnv = {
  ...process.env,
  NODE_ENV: 'production',
  API_KEYS: `MERCHANT-001:${hashApiKey(apiKey)}`,
  ADMIN_API_KEYS: hashApiKey(adminKey),
  LOG_LEVEL: 'warn',
  FRAUD_VELOCITY_MAX_COUNT: '0',
  FRAUD_VELOCITY_MAX_AMOUNT: 'USD:1000000000',
};
const shapeEnv = (shape: ShapeName) => ({ ...appEnv, KAFKA_TOPIC_PREFIX: `${topicPrefix}${shape}.`, REDIS_KEY_PREFIX: `${redisKeyPrefix}${shape}:` });
// The flags `npm start` and the image use; BENCH_NODE_ARGS replaces them (to compare V8 settings).
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=32').split(' ').filter(Boolean);

const progress = (label: string, seconds: number) => {
  const bar = (done: number) => `[${'#'.repeat(done)}${'.'.repeat(30 - done)}]`;
  const started = Date.now();
  const timer = setInterval(() => {
    const done = Math.min(30, Math.round(((Date.now() - started) / 1000 / seconds) * 30));
    process.stdout.write(`\r${label} ${bar(done)} ${Math.round((Date.now() - started) / 1000)}s/${seconds}s`);
  }, 500);
  return () => {
    clearInterval(timer);
    process.stdout.write('\n');
  };
};

/** Funds the bench's payers once (fixed deposit ids make it idempotent), through the ledger's own deposits. */
async function fundPayers(dataSource: DataSource): Promise<void> {
  const deposits = new DepositsService(LedgerRepository.over(dataSource));
  let next = 0;
  let created = 0;
  const worker = async () => {
    while (next < USERS) {
      const payer = payers[next++];
      // 10 million USD each: never the limit of a benchmark.
      if ((await deposits.deposit(payer, `bench:${payer}:USD`, 1_000_000_000n, 'USD')).created) created++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (created > 0) console.log(`Funded ${created} bench payers.`);
}

type ShapeResult = Awaited<ReturnType<typeof measureShape>>;

/** One shape: start its processes, load the API, wait for the drain, read the figures, stop and clean up. */
async function measureShape(shape: ShapeName, config: AppConfig, dataSource: DataSource, redis: RedisClient) {
  const env = shapeEnv(shape);
  const orderPrefix = `BENCH-${runTag}-${shape}-`;
  console.log(`[bench] shape ${shape}`);
  const deployment = await Deployment.start({ shape, workers, port, env, nodeArgs, profileStem }, config.kafka.partitions);
  const api = deployment.api.url;
  let closePages = async () => undefined as void;
  try {
    const pages = (closePages = await openConsolePages(api, adminKey, consolePages));
    const feeds = await openConsoleFeeds(api, adminKey, consoleFeeds);
    closePages = () => Promise.all([pages(), feeds()]).then(() => undefined);
    const acceptedBefore = await metricSum(api, 'payments_accepted_total');
    deployment.startMeasuring(profileStem !== null);
    const loadStarted = Date.now();
    const done = progress('intake', durationSeconds);
    const intake = await autocannonPayments({ url: api, apiKey, connections, duration: durationSeconds, rate, payers, orderPrefix, idempotencyKeys });
    done();
    deployment.assertRunning();
    const loadEnded = Date.now();
    // The server's own count: requests still in flight when the load stopped were accepted too.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const accepted = (await metricSum(api, 'payments_accepted_total')) - acceptedBefore;

    // Every accepted payment must reach a terminal state; time how long the pipeline takes to drain.
    const drainDone = progress('drain ', 60);
    let terminal = 0;
    while (Date.now() - loadEnded < 180_000) {
      const rows: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM payments WHERE order_id LIKE $1`, [`${orderPrefix}%`]);
      terminal = Number(rows[0].n);
      if (terminal >= accepted) break;
      deployment.assertRunning();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    drainDone();
    const drained = Date.now();
    const perProcess = deployment.finishMeasuring();
    await closePages();
    await deployment.stop();

    const [latency]: { p50: number; p99: number }[] = await dataSource.query(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - accepted_at)) * 1000 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - accepted_at)) * 1000 AS p99
       FROM payments WHERE order_id LIKE $1`,
      [`${orderPrefix}%`],
    );
    const outcomes: { status: string; n: string }[] = await dataSource.query(
      `SELECT status, COUNT(*)::text AS n FROM payments WHERE order_id LIKE $1 GROUP BY status ORDER BY status`,
      [`${orderPrefix}%`],
    );
    // The bench's own payers: the database may be shared (the test suite's smoke run).
    const violations = await checkLedgerInvariants(dataSource.manager, { userIds: payers });
    const redisMemory = await usedMemoryBytes(redis);
    // `npm run verify` on the shape's own topics and keys: every accepted event terminal, Redis agreeing.
    const verified = await verifyShape(env, dataSource);

    // Every CPU second of every process of the shape, from the start of the load to the drain, per payment finished.
    const cpuSeconds = perProcess.reduce((sum, p) => sum + p.cpuSeconds, 0);
    const perPayment = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, terminal));
    const largest = perProcess.reduce((a, b) => (b.peakRssMb > a.peakRssMb ? b : a));
    return {
      processes: perProcess.map((p) => ({ ...p, cpuSeconds: Number(p.cpuSeconds.toFixed(2)), cpuMicrosPerPayment: perPayment(p.cpuSeconds) })),
      settings: { topicPrefix: env.KAFKA_TOPIC_PREFIX, redisKeyPrefix: env.REDIS_KEY_PREFIX },
      intake: {
        acceptedPerSecond: Math.round(accepted / ((loadEnded - loadStarted) / 1000)),
        accepted,
        answered202: intake.statusCodeStats?.['202']?.count ?? intake['2xx'],
        non2xx: intake.non2xx,
        errors: intake.errors,
        timeouts: intake.timeouts,
        latencyMs: { p50: intake.latency.p50, p90: intake.latency.p90, p99: intake.latency.p99, max: intake.latency.max },
      },
      endToEnd: {
        terminal,
        terminalPerSecond: Math.round(terminal / ((drained - loadStarted) / 1000)),
        drainSeconds: (drained - loadEnded) / 1000,
        acceptanceToTerminalMs: { p50: Math.round(latency.p50), p99: Math.round(latency.p99) },
        peakConsumerLag: deployment.peakConsumerLag,
        outcomes: Object.fromEntries(outcomes.map((o) => [o.status, Number(o.n)])),
      },
      resources: {
        appCpuSecondsPerSecond: Number((cpuSeconds / ((drained - loadStarted) / 1000)).toFixed(2)),
        appCpuMicrosPerPayment: perPayment(cpuSeconds),
        appPeakRssMb: largest.peakRssMb,
        appPeakRssProcess: largest.name,
        redisUsedMemoryMb: Math.round(redisMemory / 1024 / 1024),
      },
      correctness: { accepted, terminal, allAcceptedTerminal: terminal === accepted, ledgerInvariantViolations: violations.length, verifyViolations: verified },
      cpuProfiles: profileStem ? deployment.profiles() : null,
    };
  } finally {
    await closePages();
    await deployment.stop();
    await removeRunLeftovers(config, env.KAFKA_TOPIC_PREFIX, { client: redis, keyPrefix: env.REDIS_KEY_PREFIX });
  }
}

/** The deployment verifier's violations for one shape (its topics, its Redis keys, the ledger). */
async function verifyShape(env: Record<string, string | undefined>, dataSource: DataSource): Promise<number> {
  const config = AppConfig.fromEnvironment(env);
  const redis = createRedisClient(config, { commandTimeout: undefined, maxRetriesPerRequest: 20 });
  try {
    const report = await new DeploymentVerifier(config, dataSource, redis).verify();
    for (const v of report.violations.slice(0, 5)) console.log(`verify: ${v.invariant} ${JSON.stringify(v.detail)}`);
    return report.violations.length;
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  await runCommand('bash', ['scripts/stack.sh', 'up']);
  await runCommand(process.execPath, ['dist/database/migrate.js']);

  const config = AppConfig.fromEnvironment(appEnv);
  const dataSource = new DataSource(appDataSourceOptions(config));
  await dataSource.initialize();
  await fundPayers(dataSource);
  // The load pays MERCHANT-001: an endpoint someone subscribed to its outcomes turns every payment into a
  // delivery (to a receiver that may well be down), which the figures would then include unannounced.
  const [{ n: endpoints }]: { n: number }[] = await dataSource.query(
    `SELECT count(*)::int AS n FROM webhook_endpoints WHERE merchant_id = 'MERCHANT-001' AND status = 'enabled' AND deleted_at IS NULL`,
  );
  if (endpoints > 0) console.warn(`bench: ${endpoints} webhook endpoint(s) of MERCHANT-001 are enabled in ${config.database.database}: each payment also costs a delivery (DELETE /api/webhook-endpoints/{id} to measure without)`);
  // Without a prefix: it removes every shape's keys (each shape has a prefix of its own).
  const redis = createRedisClient(config, { keyPrefix: '', commandTimeout: undefined, maxRetriesPerRequest: 20 });
  mkdirSync('bench/results', { recursive: true });
  try {
    const measured: Partial<Record<ShapeName, ShapeResult>> = {};
    for (const shape of shapes) measured[shape] = await measureShape(shape, config, dataSource, redis);
    const baselines = args['no-baselines']
      ? null
      : await measureBaselines({
          connection: config.kafka,
          topicPrefix,
          batchSize: config.kafka.batchMaxRecords,
          // Past every port a shape used: the app processes have stopped, but a port may linger in TIME_WAIT.
          port: port + workers + 1,
          connections,
          durationSeconds: Math.min(10, durationSeconds),
        });
    const results = Object.entries(measured).map(([name, s]) => [name, { ...s, vsBaselines: baselines && againstBaselines(s, baselines) }] as const);
    const all = results.map(([, s]) => s.correctness);
    const result = {
      runAt: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      settings: { durationSeconds, connections, rate: rate ?? null, users: USERS, amount: '1.00 USD', shapes, workers, idempotencyKeys, consolePages, consoleFeeds, topicPrefix, redisKeyPrefix, redis: config.redis.clusterNodes ? 'cluster' : 'single server' },
      shapes: Object.fromEntries(results),
      baselines,
      // Over every shape: each shape's ledger check covers the payers' whole ledger up to then.
      correctness: {
        accepted: all.reduce((sum, c) => sum + c.accepted, 0),
        terminal: all.reduce((sum, c) => sum + c.terminal, 0),
        allAcceptedTerminal: all.every((c) => c.allAcceptedTerminal),
        ledgerInvariantViolations: Math.max(0, ...all.map((c) => c.ledgerInvariantViolations)),
        verifyViolations: all.reduce((sum, c) => sum + c.verifyViolations, 0),
      },
    };

    const file = `bench/results/${result.runAt.replace(/[:.]/g, '-')}`;
    writeFileSync(`${file}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${file}.md`, markdown(result));
    console.log(markdown(result));
    console.log(`written: ${file}.json, ${file}.md`);
    const { allAcceptedTerminal, ledgerInvariantViolations, verifyViolations } = result.correctness;
    if (!allAcceptedTerminal || ledgerInvariantViolations > 0 || verifyViolations > 0) process.exitCode = 1;
  } finally {
    // Whatever a failed shape or a baseline left behind.
    await removeRunLeftovers(config, topicPrefix, { client: redis, keyPrefix: redisKeyPrefix });
    redis.disconnect();
    await dataSource.destroy();
  }
}

await main();
