import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { TEST_RUN_ID } from './test-config.js';

/**
 * The built app (`node dist/main.js`, which `npm test` builds first) as a child process with its own
 * environment: how several instances of one image run side by side. Every process started here is
 * remembered, and stopAllAppProcesses() (afterAll) kills whatever is still alive.
 */
export interface AppProcess {
  name: string;
  pid: number;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  env: Record<string, string>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves when a line of its output matches, from the start of its output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM (graceful: Nest's shutdown hooks leave the consumer groups) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: a crash; its group memberships linger until the session timeout. */
  kill(): Promise<void>;
}

const running = new Set<AppProcess>();

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

/** Starts `node dist/main.js` and waits until /health/readiness answers 200 (its topics exist, its dependencies answer). */
export async function spawnApp(name: string, env: Record<string, string>, { readyTimeoutMs = 90_000 } = {}): Promise<AppProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const fullEnv = { ...env, PORT: String(port) };
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js'], {
    // The caller's environment (DB_HOST, REDIS_HOST … of this machine) under the test settings; not
    // Jest's NODE_OPTIONS (--experimental-vm-modules is for Jest, not for the app).
    env: { ...process.env, NODE_OPTIONS: '', ...fullEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: () => void }>();
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      if (lines.length > 400) lines.shift();
      for (const waiter of waiters) {
        if (!waiter.pattern.test(line)) continue;
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let ended = false;
  void exited.then(() => (ended = true));

  const waitForOutput = (pattern: RegExp, timeoutMs = 60_000) => {
    if (lines.some((line) => pattern.test(line))) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { pattern, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms. Last lines:\n${lines.slice(-30).join('\n')}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  };
  const signal = async (sig: NodeJS.Signals) => {
    if (!ended) child.kill(sig);
    await exited;
    running.delete(proc);
  };
  const proc: AppProcess = {
    name,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    env: fullEnv,
    exited,
    output: () => lines.join('\n'),
    waitForOutput,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
  running.add(proc);

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (ended) throw new Error(`${name} exited (${String(await exited)}) before it was ready:\n${lines.slice(-40).join('\n')}`);
    const status = await fetch(`${proc.url}/health/readiness`).then((r) => r.status, () => 0);
    if (status === 200) return proc;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${name} not ready within ${readyTimeoutMs} ms (last readiness ${status}):\n${lines.slice(-40).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Kills every app process still running (afterAll): a hung test never leaves consumers behind. */
export async function stopAllAppProcesses(): Promise<void> {
  await Promise.all([...running].map(async (proc) => {
    const timer = setTimeout(() => {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 10_000);
    await proc.stop().catch(() => undefined);
    clearTimeout(timer);
  }));
}
