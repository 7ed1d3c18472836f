/**
 * `npm run bench`: drives POST /api/payments of a production-mode app on loopback and reports intake
 * and end-to-end throughput and latency, resources, and two baselines measured in the same run (a bare
 * Fastify endpoint and raw kafkajs produce), as ratios. Options: --duration S, --connections N,
 * --rate R (fixed overall rate instead of as fast as possible), --no-baselines, --profile (a V8 CPU
 * profile of the app during the load, summarized by area and function).
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { AppConfig } from '../src/config/app-config.js';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { DepositsService } from '../src/ledger/deposits.service.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { bareFastifyBaseline, batchedKafkaBaseline, rawKafkaBaseline } from './baselines.js';
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { processUsage, removeRunLeftovers, step, waitUntilReady } from './processes.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    rate: { type: 'string' },
    'no-baselines': { type: 'boolean', default: false },
    port: { type: 'string', default: '8095' },
    profile: { type: 'boolean', default: false },
    payers: { type: 'string', default: '2000' },
  },
});
const durationSeconds = Number(args.duration);
const connections = Number(args.connections);
const rate = args.rate ? Number(args.rate) : undefined;
const port = Number(args.port);
const runTag = Date.now().toString(36);
const topicPrefix = `bench.${runTag}.`;
/** Funded payers the load spreads over: one payer's payments run in order, different payers' at once. */
const USERS = Number(args.payers);
const profileFile = args.profile ? `${process.cwd()}/bench/results/cpu-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile` : null;

/** Production refuses to start without API keys: the bench mints one for this run and sends it. */
const apiKey = mintApiKey();

/** The app as the bench runs it: production mode, its own topics, velocity rules opened for 100 payers. */
const appEnv = {
  ...process.env,
  NODE_ENV: 'production',
  API_KEYS: `MERCHANT-001:${hashApiKey(apiKey)}`,
  PORT: String(port),
  LOG_LEVEL: 'warn',
  KAFKA_TOPIC_PREFIX: topicPrefix,
  // Its own keys too, removed with its topics at the end: the servers are shared.
  REDIS_KEY_PREFIX: `bench:${runTag}:`,
  FRAUD_VELOCITY_MAX_COUNT: '0',
  FRAUD_VELOCITY_MAX_AMOUNT: 'USD:1000000000',
  ...(profileFile && { BENCH_CPU_PROFILE: profileFile }),
};

/** CPU seconds (user + system) and RSS of a process, from /proc. */
/** Sum of a metric's series in the app's Prometheus text. */
async function metricSum(metricsUrl: string, name: string): Promise<number> {
  const text = await fetch(metricsUrl).then((r) => r.text(), () => '');
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

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

const payerId = (n: number) => `BENCH-PAYER-${String(n).padStart(5, '0')}`;

/** Funds the bench's payers once (fixed deposit ids make it idempotent), through the ledger's own deposits. */
async function fundPayers(dataSource: DataSource): Promise<void> {
  const deposits = new DepositsService(dataSource);
  let next = 0;
  let created = 0;
  const worker = async () => {
    while (next < USERS) {
      const payer = payerId(next++);
      // 10 million USD each: never the limit of a benchmark.
      if ((await deposits.deposit(payer, `bench:${payer}:USD`, 1_000_000_000n, 'USD')).created) created++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (created > 0) console.log(`Funded ${created} bench payers.`);
}

async function main(): Promise<void> {
  step('bash', ['scripts/stack.sh', 'up']);
  step('node', ['dist/database/migrate.js']);

  const config = AppConfig.fromEnvironment(appEnv);
  const dataSource = new DataSource(dataSourceOptions(config));
  await dataSource.initialize();
  await fundPayers(dataSource);
  const redis = new Redis({ host: config.redis.host, port: config.redis.port, lazyConnect: true });
  await redis.connect();

  mkdirSync('bench/results', { recursive: true });
  // The flags `npm start` and the image use; BENCH_NODE_ARGS replaces them (to compare V8 settings).
  const nodeArgs = [...(process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=32').split(' ').filter(Boolean), ...(profileFile ? ['--import', './bench/cpu-profile-preload.mjs'] : [])];
  const app = spawn('node', [...nodeArgs, 'dist/main.js'], { env: appEnv, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((resolve) => app.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(`${base}/health/readiness`, app);
    const usageBefore = processUsage(app.pid!);
    const acceptedBefore = await metricSum(`${base}/metrics`, 'payments_accepted_total');

    let peakLag = 0;
    let peakRss = usageBefore.rssMb;
    const sampler = setInterval(() => {
      void metricSum(`${base}/metrics`, 'kafka_consumer_lag').then((lag) => (peakLag = Math.max(peakLag, lag)));
      peakRss = Math.max(peakRss, processUsage(app.pid!).rssMb);
    }, 1000);

    if (profileFile) app.kill('SIGUSR2');
    let n = 0;
    const loadStarted = Date.now();
    const done = progress('intake', durationSeconds);
    const intake = await autocannon({
      url: `${base}/api/payments`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      connections,
      duration: durationSeconds,
      ...(rate && { overallRate: rate }),
      requests: [
        {
          setupRequest: (request) => {
            const i = n++;
            const userId = payerId(i % USERS);
            return { ...request, body: JSON.stringify({ orderId: `BENCH-${runTag}-${i}`, amount: '1.00', currency: 'USD', userId }) };
          },
        },
      ],
    });
    done();
    const loadEnded = Date.now();
    // The server's own count: requests still in flight when the load stopped were accepted too.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const accepted = (await metricSum(`${base}/metrics`, 'payments_accepted_total')) - acceptedBefore;

    // Every accepted payment must reach a terminal state; time how long the pipeline takes to drain.
    const drainDone = progress('drain ', 60);
    let terminal = 0;
    while (Date.now() - loadEnded < 180_000) {
      const rows: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM payments WHERE order_id LIKE $1`, [`BENCH-${runTag}-%`]);
      terminal = Number(rows[0].n);
      if (terminal >= accepted) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    drainDone();
    const drained = Date.now();
    clearInterval(sampler);
    const usageAfter = processUsage(app.pid!);
    let profile: ProfileSummary | null = null;
    if (profileFile) {
      app.kill('SIGTERM');
      await exited;
      profile = summarizeProfile(profileFile);
    }

    const [latency]: { p50: number; p99: number }[] = await dataSource.query(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - accepted_at)) * 1000 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - accepted_at)) * 1000 AS p99
       FROM payments WHERE order_id LIKE $1`,
      [`BENCH-${runTag}-%`],
    );
    const outcomes: { status: string; n: string }[] = await dataSource.query(
      `SELECT status, COUNT(*)::text AS n FROM payments WHERE order_id LIKE $1 GROUP BY status ORDER BY status`,
      [`BENCH-${runTag}-%`],
    );
    // The bench's own payers: the database may be shared (the test suite's smoke run).
    const violations = await checkLedgerInvariants(dataSource.manager, { userIds: Array.from({ length: USERS }, (_, i) => payerId(i)) });
    const redisMemory = /used_memory:(\d+)/.exec(await redis.info('memory'))?.[1];

    const baselineSeconds = Math.min(10, durationSeconds);
    const bare = args['no-baselines'] ? null : await bareFastifyBaseline({ port: port + 1, connections, durationSeconds: baselineSeconds });
    const baselines =
      bare === null
        ? null
        : {
            bareFastifyRequestsPerSecond: bare.requestsPerSecond,
            rawKafkaProducePerSecond: await rawKafkaBaseline({
              connection: config.kafka,
              topic: `${topicPrefix}baseline-${randomUUID().slice(0, 8)}`,
              concurrency: connections,
              durationSeconds: baselineSeconds,
            }),
            batchedKafkaProducePerSecond: await batchedKafkaBaseline({
              connection: config.kafka,
              topic: `${topicPrefix}baseline-batched-${randomUUID().slice(0, 8)}`,
              batchSize: config.kafka.batchMaxRecords,
              durationSeconds: baselineSeconds,
            }),
          };
    // Every CPU second the app spent from the start of the load to the drain, per payment it finished.
    const appCpuMicrosPerPayment = Math.round(((usageAfter.cpuSeconds - usageBefore.cpuSeconds) * 1e6) / Math.max(1, terminal));
    const terminalPerSecond = terminal / ((drained - loadStarted) / 1000);

    const intakePerSecond = accepted / ((loadEnded - loadStarted) / 1000);
    const result = {
      runAt: new Date().toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      settings: { durationSeconds, connections, rate: rate ?? null, users: USERS, amount: '1.00 USD', topicPrefix, redisKeyPrefix: config.redis.keyPrefix },
      intake: {
        acceptedPerSecond: Math.round(intakePerSecond),
        accepted,
        answered202: intake.statusCodeStats?.['202']?.count ?? intake['2xx'],
        non2xx: intake.non2xx,
        errors: intake.errors,
        timeouts: intake.timeouts,
        latencyMs: { p50: intake.latency.p50, p90: intake.latency.p90, p99: intake.latency.p99, max: intake.latency.max },
      },
      endToEnd: {
        terminal,
        terminalPerSecond: Math.round(terminalPerSecond),
        drainSeconds: (drained - loadEnded) / 1000,
        acceptanceToTerminalMs: { p50: Math.round(latency.p50), p99: Math.round(latency.p99) },
        peakConsumerLag: peakLag,
        outcomes: Object.fromEntries(outcomes.map((o) => [o.status, Number(o.n)])),
      },
      resources: {
        appCpuSecondsPerSecond: Number(((usageAfter.cpuSeconds - usageBefore.cpuSeconds) / ((drained - loadStarted) / 1000)).toFixed(2)),
        appCpuMicrosPerPayment,
        appPeakRssMb: Math.round(peakRss),
        redisUsedMemoryMb: redisMemory ? Math.round(Number(redisMemory) / 1024 / 1024) : null,
      },
      baselines: baselines && {
        ...Object.fromEntries(Object.entries(baselines).map(([k, v]) => [k, Math.round(v)])),
        bareFastifyCpuMicrosPerRequest: Number(bare!.cpuMicrosPerRequest.toFixed(1)),
        intakeToBareFastify: Number((intakePerSecond / baselines.bareFastifyRequestsPerSecond).toFixed(3)),
        endToEndToBareFastify: Number((terminalPerSecond / baselines.bareFastifyRequestsPerSecond).toFixed(3)),
        intakeToRawKafka: Number((intakePerSecond / baselines.rawKafkaProducePerSecond).toFixed(3)),
        intakeToBatchedKafka: Number((intakePerSecond / baselines.batchedKafkaProducePerSecond).toFixed(3)),
        // One payment's app CPU in bare Fastify requests' worth of CPU, both measured in this run.
        appCpuPerPaymentInBareRequests: Number((appCpuMicrosPerPayment / bare!.cpuMicrosPerRequest).toFixed(1)),
      },
      correctness: { accepted, terminal, allAcceptedTerminal: terminal === accepted, ledgerInvariantViolations: violations.length },
      cpuProfile: profile && { file: profileFile, ...profile },
    };

    const file = `bench/results/${result.runAt.replace(/[:.]/g, '-')}`;
    writeFileSync(`${file}.json`, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(`${file}.md`, markdown(result));
    console.log(markdown(result));
    console.log(`written: ${file}.json, ${file}.md`);
    await dataSource.destroy();
    if (!result.correctness.allAcceptedTerminal || violations.length > 0) process.exitCode = 1;
  } finally {
    app.kill('SIGTERM');
    await exited;
    await removeRunLeftovers(config, topicPrefix, { client: redis, keyPrefix: config.redis.keyPrefix });
    redis.disconnect();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the result object built above, printed field by field
function markdown(r: Record<string, any>): string {
  const b = r.baselines;
  return [
    `# Benchmark ${r.runAt}`,
    '',
    `${r.machine.cpus} cores, Node ${r.machine.node}; ${r.settings.durationSeconds} s, ${r.settings.connections} connections${r.settings.rate ? `, ${r.settings.rate}/s offered` : ''}, ${r.settings.users} payers.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| intake accepted/s | ${r.intake.acceptedPerSecond} |`,
    `| intake HTTP latency p50 / p90 / p99 / max (ms) | ${r.intake.latencyMs.p50} / ${r.intake.latencyMs.p90} / ${r.intake.latencyMs.p99} / ${r.intake.latencyMs.max} |`,
    `| non-2xx / errors / timeouts | ${r.intake.non2xx} / ${r.intake.errors} / ${r.intake.timeouts} |`,
    `| end to end terminal/s (load start to drained) | ${r.endToEnd.terminalPerSecond} |`,
    `| acceptance to terminal p50 / p99 (ms) | ${r.endToEnd.acceptanceToTerminalMs.p50} / ${r.endToEnd.acceptanceToTerminalMs.p99} |`,
    `| peak consumer lag / drain after load (s) | ${r.endToEnd.peakConsumerLag} / ${r.endToEnd.drainSeconds} |`,
    `| outcomes | ${JSON.stringify(r.endToEnd.outcomes)} |`,
    `| app CPU (cores busy) / CPU µs per completed payment / peak RSS (MB) / Redis memory (MB) | ${r.resources.appCpuSecondsPerSecond} / ${r.resources.appCpuMicrosPerPayment} / ${r.resources.appPeakRssMb} / ${r.resources.redisUsedMemoryMb} |`,
    ...(b
      ? [
          `| baseline: bare Fastify req/s, CPU µs per request | ${b.bareFastifyRequestsPerSecond}, ${b.bareFastifyCpuMicrosPerRequest} (intake = ${b.intakeToBareFastify}×, end to end = ${b.endToEndToBareFastify}×) |`,
          `| **app CPU per completed payment, in bare Fastify requests** | **${b.appCpuPerPaymentInBareRequests}×** |`,
          `| baseline: raw kafkajs produce/s, one record per send (acks=all, idempotent) | ${b.rawKafkaProducePerSecond} (intake = ${b.intakeToRawKafka}×) |`,
          `| baseline: batched kafkajs produce/s, records per second in batches (acks=all, idempotent) | ${b.batchedKafkaProducePerSecond} (intake = ${b.intakeToBatchedKafka}×) |`,
        ]
      : []),
    `| correctness: all accepted terminal / ledger violations | ${r.correctness.allAcceptedTerminal} / ${r.correctness.ledgerInvariantViolations} |`,
    '',
    ...(r.cpuProfile ? profileMarkdown(r.cpuProfile as ProfileSummary) : []),
  ].join('\n');
}

function profileMarkdown(p: ProfileSummary): string[] {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  return [
    `## Where the app's CPU went (${p.sampledSeconds} s sampled, load and drain)`,
    '',
    '| area | share of samples |',
    '| --- | --- |',
    ...p.areas.slice(0, 12).map((a) => `| ${a.area} | ${pct(a.share)} |`),
    '',
    '| function (self time) | area | share |',
    '| --- | --- | --- |',
    ...p.functions.map((f) => `| \`${f.fn}\` | ${f.area} | ${pct(f.share)} |`),
    '',
  ];
}

await main();
