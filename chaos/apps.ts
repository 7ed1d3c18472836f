/** App instances as the chaos runner runs them: `node dist/main.js` child processes it can kill -9. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class AppInstance {
  private child: ChildProcess | null = null;
  private logFile: WriteStream;
  starts = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    logPath: string,
  ) {
    this.logFile = createWriteStream(logPath, { flags: 'a' });
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

  /** Spawns the process; with `waitReady` returns once /health/readiness answers 200 (all dependencies up). */
  async start({ waitReady = true, timeoutMs = 120_000 } = {}): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.starts++;
    this.logFile.write(`\n===== ${new Date().toISOString()} start #${this.starts} of ${this.name} on port ${this.port}\n`);
    const child = spawn('node', ['dist/main.js'], { env: { ...this.env, PORT: String(this.port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(this.logFile, { end: false });
    child.stderr?.pipe(this.logFile, { end: false });
    this.child = child;
    if (waitReady) await this.waitReady(timeoutMs);
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode}) before it was ready; see its log`);
      const ok = await fetch(`${this.url}/health/readiness`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(250);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs / 1000} s`);
  }

  /** kill -9: no shutdown hooks, no offset commit, no producer flush. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.logFile.write(`\n===== ${new Date().toISOString()} ${this.name} killed with SIGKILL\n`);
  }

  /** A graceful stop at the end of a run (SIGTERM, then SIGKILL after 20 s). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  close(): void {
    this.logFile.end();
  }
}
