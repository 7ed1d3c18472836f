/**
 * The built app (`node dist/main.js`) as a child process: how the e2e suites, `npm run bench` and
 * `npm run chaos` run instances of the one image side by side, wait for them, crash them, start them
 * again and stop them. What differs between those users is a parameter: the environment (roles,
 * prefixes, servers), node's flags, where the output goes and how long readiness may take.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';

export type AppOutput =
  /** Kept in memory (the last 400 lines): output(), waitForOutput() and the tail in failure messages. */
  | 'capture'
  /** Both streams to the caller's terminal. */
  | 'inherit'
  /** Only stderr to the caller's terminal: a quiet run still shows warnings and crashes. */
  | 'stderr'
  /** Appended to a file, with a line at every start and every kill: one file over all restarts. */
  | { file: string };

export interface AppProcessOptions {
  name: string;
  port: number;
  /** The whole environment of the process; PORT comes from `port`. */
  env: NodeJS.ProcessEnv;
  /** Node flags before dist/main.js (V8 settings, a preload). */
  nodeArgs?: string[];
  output?: AppOutput;
  /** How long waitReady() waits by default (90 s). */
  readyTimeoutMs?: number;
}

const KEPT_LINES = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
export function processUsage(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rssPages = Number(stat[21]);
  return { cpuSeconds: ticks / 100, rssMb: (rssPages * 4096) / 1024 / 1024 };
}

/** A set-up command (migrations, seed, the stack) to its end, output to the terminal; rejects when it fails. */
export function runCommand(command: string, commandArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${commandArgs.join(' ')} exited ${code}`))));
  });
}

/** One app instance; start() may be called again after it exited (a restart after a kill). */
export class AppProcess {
  readonly name: string;
  readonly port: number;
  /** How many times start() ran. */
  starts = 0;
  private child: ChildProcess | null = null;
  private exit: Promise<number | string> = Promise.resolve('not started');
  private readonly lines: string[] = [];
  private readonly waiters = new Set<{ pattern: RegExp; resolve: () => void }>();
  private readonly logFile: WriteStream | null;

  constructor(private readonly options: AppProcessOptions) {
    this.name = options.name;
    this.port = options.port;
    const output = options.output ?? 'capture';
    this.logFile = typeof output === 'object' ? createWriteStream(output.file, { flags: 'a' }) : null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The exit code or signal of the last process, null while it runs (or before the first start). */
  get exitStatus(): number | string | null {
    return this.child?.exitCode ?? this.child?.signalCode ?? null;
  }

  /** Resolves with the exit code (or signal name) once the current process ended. */
  get exited(): Promise<number | string> {
    return this.exit;
  }

  /** Spawns the process without waiting for it; waitReady() does. */
  start(): this {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.logFile?.write(`\n===== ${new Date().toISOString()} start #${this.starts} of ${this.name} on port ${this.port}\n`);
    const output = this.options.output ?? 'capture';
    const stdio = output === 'inherit' ? 'inherit' : output === 'stderr' ? 'ignore' : 'pipe';
    const child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), 'dist/main.js'], {
      env: { ...this.options.env, PORT: String(this.port) },
      stdio: ['ignore', stdio, output === 'stderr' ? 'inherit' : stdio],
    });
    if (this.logFile) {
      child.stdout?.pipe(this.logFile, { end: false });
      child.stderr?.pipe(this.logFile, { end: false });
    } else {
      child.stdout?.on('data', (chunk: Buffer) => this.keep(chunk));
      child.stderr?.on('data', (chunk: Buffer) => this.keep(chunk));
    }
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    this.child = child;
    return this;
  }

  private keep(chunk: Buffer): void {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      this.lines.push(line);
      if (this.lines.length > KEPT_LINES) this.lines.shift();
      for (const waiter of this.waiters) {
        if (!waiter.pattern.test(line)) continue;
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** The last lines it wrote (with output 'capture'), for failure messages. */
  output(): string {
    return this.lines.join('\n');
  }

  /** Where to look when it failed: the tail of its output, or its log file. */
  private detail(lines = 40): string {
    const output = this.options.output ?? 'capture';
    if (typeof output === 'object') return `; see ${output.file}`;
    return output === 'capture' ? `:\n${this.lines.slice(-lines).join('\n')}` : '';
  }

  /** Resolves when a line of its output matches, from the start of its output (output 'capture'). */
  waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    if (this.lines.some((line) => pattern.test(line))) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { pattern, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: no output matching ${pattern} within ${timeoutMs} ms${this.detail(30)}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Returns once /health/readiness answers 200 (its topics exist, its dependencies answer); fails if it exits first. */
  async waitReady(timeoutMs = this.options.readyTimeoutMs ?? 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${String(this.exitStatus)}) before it was ready${this.detail()}`);
      const status = await fetch(`${this.url}/health/readiness`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
      if (status === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs / 1000} s (last readiness ${status})${this.detail()}`);
      await sleep(250);
    }
  }

  /** A signal that is not an ending (SIGUSR2: the bench's profiler preload starts sampling). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** kill -9: a crash; no shutdown hooks, no offset commit, no producer flush; its group memberships linger until the session timeout. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exit;
    this.logFile?.write(`\n===== ${new Date().toISOString()} ${this.name} killed with SIGKILL\n`);
  }

  /** SIGTERM (graceful: Nest's shutdown hooks leave the consumer groups), SIGKILL if it is still alive after `killAfterMs`. */
  async stop(killAfterMs = 20_000): Promise<void> {
    if (!this.running) return;
    const child = this.child!;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await this.exit;
    clearTimeout(timer);
  }

  /** CPU seconds and resident memory of the running process. */
  usage(): { cpuSeconds: number; rssMb: number } {
    return processUsage(this.pid!);
  }

  /** Closes the log file (after the last stop). */
  close(): void {
    this.logFile?.end();
  }
}
