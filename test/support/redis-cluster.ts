import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throw-away six-node Redis Cluster of `scripts/redis-cluster.sh` (three masters, three replicas),
 * on ports and a data folder of its own (never the shared Redis on 6379, nor a developer's cluster on
 * 7101..7106).
 */
export class LocalRedisCluster {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'redis-cluster-e2e-'));
  readonly env: Record<string, string>;

  constructor(readonly port = 7301) {
    this.env = { REDIS_CLUSTER_PORT: String(port), REDIS_CLUSTER_DIR: this.dataDir };
  }

  /** REDIS_CLUSTER_NODES for the apps: every node as a seed. */
  get nodes(): string {
    return Array.from({ length: 6 }, (_, i) => `127.0.0.1:${this.port + i}`).join(',');
  }

  async command(...args: string[]): Promise<string> {
    const { stdout } = await run('bash', ['scripts/redis-cluster.sh', ...args], { env: { ...process.env, ...this.env }, timeout: 60_000 });
    return stdout;
  }

  start = () => this.command('up');

  /** kill -9 the master serving a slot; returns its port. */
  async killMasterOf(slot: number): Promise<number> {
    const out = await this.command('kill-master', String(slot));
    return Number(out.trim().split('\n').at(-1));
  }

  startNode = (port: number) => this.command('start', String(port));

  /** The masters and their slot ranges, as `scripts/redis-cluster.sh status` prints them. */
  status = () => this.command('status');

  /** Stops the nodes and deletes their data. */
  async destroy(): Promise<void> {
    await this.command('wipe').catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
