/**
 * `npm run bench:scale`: how the pipeline's throughput changes with the number of worker instances,
 * measured in one run so that the ratio means something on a shared, noisy machine.
 *
 * For each worker count (default 1 and 2), on topics of its own: an API-only instance takes
 * --payments payments while no worker runs (a backlog, as after a traffic burst), then that many
 * worker-only instances (APP_ROLES=workers, same consumer groups) start and drain it. The drain rate
 * is taken between 10 % and 90 % of the payments being terminal, which leaves out process start-up
 * and the first rebalance. Options: --payments N (4000), --workers 1,2, --partitions P (12).
 */
import 'reflect-metadata';
import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { AppConfig } from '../src/config/app-config.js';
import { appDataSourceOptions } from '../src/app-data-source.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { AppProcess, runCommand } from '../tools/app-process.js';
import { DEMO_PAYERS } from '../tools/load.js';
import { autocannonPayments } from '../tools/throughput-load.js';
import { removeRunLeftovers } from './leftovers.js';

const { values: args } = parseArgs({
  options: {
    payments: { type: 'string', default: '4000' },
    workers: { type: 'string', default: '1,2' },
    partitions: { type: 'string', default: '12' },
    port: { type: 'string', default: '8390' },
  },
});
const payments = Number(args.payments);
const workerCounts = args.workers.split(',').map(Number);
const basePort = Number(args.port);
const runTag = Date.now().toString(36);

/** An instance of the given roles, its warnings and errors on the terminal. */
function instance(env: Record<string, string>, port: number, roles: string, name: string): AppProcess {
  const instanceEnv = { ...process.env, ...env, APP_ROLES: roles, KAFKA_CLIENT_ID: `bench-${name}`, DB_MIGRATIONS_RUN: 'false' };
  return new AppProcess({ name, port, env: instanceEnv, output: 'stderr' }).start();
}

interface Round {
  workers: number;
  accepted: number;
  intakePerSecond: number;
  drainPerSecond: number;
  drainSeconds: number;
  outcomes: Record<string, number>;
}

/** Production refuses to start without API keys: the run mints one and sends it, as `npm run bench` does. */
const apiKey = mintApiKey();

async function round(workers: number, dataSource: DataSource): Promise<Round> {
  const prefix = `benchscale.${runTag}.w${workers}.`;
  const orderPrefix = `SCALE-${runTag}-w${workers}-`;
  const env = {
    NODE_ENV: 'production',
    API_KEYS: `MERCHANT-001:${hashApiKey(apiKey)}`,
    LOG_LEVEL: 'warn',
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: args.partitions,
    FRAUD_VELOCITY_MAX_COUNT: '0',
    FRAUD_VELOCITY_MAX_AMOUNT: 'USD:1000000000',
  };
  const api = instance(env, basePort, 'api', 'api');
  const children: AppProcess[] = [api];
  try {
    await api.waitReady();
    const started = Date.now();
    const result = await autocannonPayments({ url: api.url, apiKey, connections: 32, amount: payments, payers: DEMO_PAYERS, orderPrefix });
    const accepted = result['2xx'];
    if (accepted === 0) throw new Error(`no payment accepted (${result.non2xx} non-2xx answers)`);
    const intakePerSecond = accepted / ((Date.now() - started) / 1000);
    console.log(`[scale] ${workers} worker(s): ${accepted} payments waiting on ${prefix}payments.initiated; starting the workers`);

    for (let i = 1; i <= workers; i++) children.push(instance(env, basePort + i, 'workers', `worker-${i}`));
    const count = async () =>
      Number((await dataSource.query(`SELECT COUNT(*)::text AS n FROM payments WHERE order_id LIKE $1`, [`${orderPrefix}%`]))[0].n);
    let t10 = 0;
    let t90 = 0;
    const deadline = Date.now() + 300_000;
    for (;;) {
      const done = await count();
      const now = Date.now();
      if (!t10 && done >= accepted * 0.1) t10 = now;
      if (!t90 && done >= accepted * 0.9) t90 = now;
      if (done >= accepted) break;
      if (now > deadline) throw new Error(`only ${done} of ${accepted} terminal after 300 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const drainSeconds = (t90 - t10) / 1000;
    const rows: { status: string; n: string }[] = await dataSource.query(
      `SELECT status, COUNT(*)::text AS n FROM payments WHERE order_id LIKE $1 GROUP BY status ORDER BY status`,
      [`${orderPrefix}%`],
    );
    return {
      workers,
      accepted,
      intakePerSecond: Math.round(intakePerSecond),
      drainPerSecond: Math.round((accepted * 0.8) / drainSeconds),
      drainSeconds: Number(drainSeconds.toFixed(1)),
      outcomes: Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])),
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

async function main(): Promise<void> {
  await runCommand('bash', ['scripts/stack.sh', 'up']);
  await runCommand(process.execPath, ['dist/database/migrate.js']);
  await runCommand(process.execPath, ['dist/database/seed.js']);
  const config = AppConfig.fromEnvironment();
  const dataSource = await new DataSource(appDataSourceOptions(config)).initialize();
  try {
    const rounds: Round[] = [];
    for (const workers of workerCounts) rounds.push(await round(workers, dataSource));
    const violations = await checkLedgerInvariants(dataSource.manager);
    const base = rounds[0].drainPerSecond;
    const lines = [
      `| worker instances | accepted | drained/s (10 %→90 %) | × first row | intake/s (no workers running) | outcomes |`,
      `| --- | --- | --- | --- | --- | --- |`,
      ...rounds.map(
        (r) => `| ${r.workers} | ${r.accepted} | ${r.drainPerSecond} | ${(r.drainPerSecond / base).toFixed(2)} | ${r.intakePerSecond} | ${JSON.stringify(r.outcomes)} |`,
      ),
    ];
    console.log(`\n${lines.join('\n')}\n\nmachine: ${cpus().length} CPUs, ${process.version}; partitions ${args.partitions}; ledger violations: ${violations.length}`);
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify({ runAt: new Date().toISOString(), cpus: cpus().length, partitions: Number(args.partitions), rounds, violations: violations.length }, null, 2));
    console.log(`written to ${file}`);
    if (violations.length > 0) process.exitCode = 1;
  } finally {
    await dataSource.destroy();
    await removeRunLeftovers(config, `benchscale.${runTag}.`);
  }
}

await main();
