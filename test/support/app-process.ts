import { createServer } from 'node:net';
import type { DataSource } from 'typeorm';
import { AppProcess } from '../../tools/app-process.js';
import { TEST_RUN_ID } from './test-config.js';

export type { AppProcess };

/**
 * The suites' app processes (tools/app-process.ts, which `npm test` builds dist/ for), output kept for
 * failure messages. Every process started here is remembered, and stopAllAppProcesses() (afterAll)
 * stops whatever is still alive.
 */
const started = new Set<AppProcess>();

/** A free TCP port on loopback (the OS picks it; the tiny race until the app binds it is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Test defaults: the test database, this run's Redis key and topic prefixes, few partitions, quick rebalances. */
export function testProcessEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    APP_ROLES: 'all',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'log',
    LOG_FORMAT: 'text',
    DB_NAME: process.env.TEST_DB_NAME ?? 'payments_test',
    REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:`,
    KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.`,
    KAFKA_PARTITIONS: '6',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...overrides,
  };
}

/** Starts `node dist/main.js` and waits until /health/readiness answers 200; one that never does is killed. */
export async function spawnApp(name: string, env: Record<string, string>, { readyTimeoutMs = 90_000 } = {}): Promise<AppProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const app = new AppProcess({
    name,
    port,
    // The caller's environment (DB_HOST, REDIS_HOST … of this machine) under the test settings; not
    // Jest's NODE_OPTIONS (--experimental-vm-modules is for Jest, not for the app).
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    output: 'capture',
  });
  started.add(app.start());
  try {
    await app.waitReady(readyTimeoutMs);
  } catch (error) {
    await app.kill();
    throw error;
  }
  return app;
}

/** Stops every app process still running (afterAll), SIGKILL after 10 s: a hung test never leaves consumers behind. */
export async function stopAllAppProcesses(): Promise<void> {
  await Promise.all([...started].map((app) => app.stop(10_000).catch(() => undefined)));
  started.clear();
}

/**
 * The end of a suite that ran its apps on servers of its own (a local Kafka or Redis cluster): the apps
 * first, then the suite's own clients, then the servers they all used. A client beforeAll never made is skipped.
 */
export async function stopAppsAndServers(servers: { destroy(): Promise<void> }, clients: { dataSource?: DataSource; redis?: { disconnect(): void } }): Promise<void> {
  await stopAllAppProcesses();
  await clients.dataSource?.destroy();
  clients.redis?.disconnect();
  await servers.destroy();
}
