/** The private servers' Kafka: one KRaft node started by scripts/kafka.sh on ports and folders of its own. */
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './commands.js';

export class PrivateKafka {
  constructor(
    private readonly port: number,
    private readonly controllerPort: number,
    /** Jars and data, outside the repo, apart from the shared broker's. */
    private readonly cacheDir: string,
    private readonly log: (line: string) => void,
  ) {}

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Whether it has data (it was started), so that stopping it has something to stop. */
  get hasData(): boolean {
    return existsSync(this.dataDir);
  }

  private get dataDir(): string {
    return join(this.cacheDir, `kafka-data-${this.port}`);
  }

  /** kafka.sh with the private ports, data dir and cache dir (so also its own lock): never the shared broker. */
  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PAYMENTS_CACHE_DIR: this.cacheDir,
      KAFKA_PORT: String(this.port),
      KAFKA_CONTROLLER_PORT: String(this.controllerPort),
      KAFKA_DATA_DIR: this.dataDir,
      KAFKA_HEAP_OPTS: process.env.CHAOS_KAFKA_HEAP_OPTS ?? '-Xms128m -Xmx384m',
      KAFKA_STOP_TIMEOUT: '20',
    };
  }

  /** The jars that scripts/kafka.sh already fetched for the shared broker are linked, not fetched again. */
  reuseSharedJars(): void {
    const shared = join(this.cacheDir, '..');
    for (const dir of existsSync(shared) ? readdirSync(shared) : []) {
      if (!/^kafka-\d/.test(dir) || !existsSync(join(shared, dir, 'libs', '.complete'))) continue;
      const mine = join(this.cacheDir, dir);
      if (existsSync(join(mine, 'libs'))) continue;
      mkdirSync(mine, { recursive: true });
      symlinkSync(join(shared, dir, 'libs'), join(mine, 'libs'));
    }
  }

  async start(): Promise<void> {
    const started = Date.now();
    await run('bash', ['scripts/kafka.sh', 'start'], this.env(), 180_000);
    this.log(`kafka up on ${this.port} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  async stop(): Promise<void> {
    await run('bash', ['scripts/kafka.sh', 'stop'], this.env(), 90_000);
    this.log(`kafka on ${this.port} stopped`);
  }

  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
