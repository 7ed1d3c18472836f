/** The private servers' Redis: one server without persistence, or a six-node Redis Cluster (scripts/redis-cluster.sh). */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { run, sleep, tcpOpen } from './commands.js';

/** The merchant every chaos payment is for (the open API's default): its hash slot holds all their intake claims. */
const LOAD_MERCHANT = 'MERCHANT-001';

export class PrivateRedis {
  /** The node a cluster fault killed, to start again (as a replica) on recovery. */
  private killedClusterNode: number | null = null;

  constructor(
    private readonly port: number,
    /** The first of a Redis Cluster's six ports (used only with a cluster). */
    private readonly clusterPort: number,
    readonly cluster: boolean,
    private readonly cacheDir: string,
    private readonly log: (line: string) => void,
  ) {}

  private get dir(): string {
    return join(this.cacheDir, `redis-${this.port}`);
  }

  private get clusterDir(): string {
    return join(this.cacheDir, `redis-cluster-${this.clusterPort}`);
  }

  /** REDIS_CLUSTER_NODES of the private cluster. */
  get clusterNodes(): string {
    return Array.from({ length: 6 }, (_, i) => `127.0.0.1:${this.clusterPort + i}`).join(',');
  }

  private clusterScript(...args: string[]): Promise<string> {
    const env = { ...process.env, REDIS_CLUSTER_PORT: String(this.clusterPort), REDIS_CLUSTER_DIR: this.clusterDir };
    return run('bash', ['scripts/redis-cluster.sh', ...args], env, 60_000);
  }

  /** Starts the Redis; on a cluster, the whole cluster, or the node a fault killed (it rejoins as a replica). */
  async start(): Promise<void> {
    if (this.cluster) {
      if (this.killedClusterNode !== null) await this.clusterScript('start', String(this.killedClusterNode));
      else await this.clusterScript('up');
      this.killedClusterNode = null;
      return;
    }
    mkdirSync(this.dir, { recursive: true });
    // Like the machine's own Redis: no RDB, no AOF. A restart therefore starts empty.
    await run('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
      '--dir', this.dir, '--pidfile', join(this.dir, 'redis.pid'), '--logfile', join(this.dir, 'redis.log'),
    ]);
    for (let i = 0; i < 100; i++) {
      if (await this.ping()) return;
      await sleep(100);
    }
    throw new Error(`private redis on ${this.port} did not answer`);
  }

  private async ping(): Promise<boolean> {
    const answer = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'ping'], process.env, 2000).catch(() => '');
    return answer.trim() === 'PONG';
  }

  /**
   * The private Redis dies without saving (kill -9): whatever it held is gone. On a cluster, the
   * master of the load merchant's slot dies: its replica takes over with what it had replicated.
   */
  async kill(): Promise<void> {
    if (this.cluster) {
      const out = await this.clusterScript('kill-master', String(calculateSlot(encodeURIComponent(LOAD_MERCHANT))));
      this.killedClusterNode = Number(out.trim().split('\n').at(-1));
      this.log(`redis cluster: killed the master on ${this.killedClusterNode}`);
      return;
    }
    const pidFile = join(this.dir, 'redis.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(pid) && this.isRedisOnOurPort(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && (await tcpOpen(this.port)); i++) await sleep(100);
    rmSync(pidFile, { force: true });
  }

  /**
   * The one server stops answering, its connections open and its data kept (SIGSTOP): Redis away as a
   * client sees it through a network partition or a stall, without the empty restart of a kill.
   */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.cluster) throw new Error('pause/resume are for the one server, not a cluster');
    const pid = Number(readFileSync(join(this.dir, 'redis.pid'), 'utf8').trim());
    if (!this.isRedisOnOurPort(pid)) throw new Error(`no private redis on ${this.port}`);
    process.kill(pid, signal);
  }

  private isRedisOnOurPort(pid: number): boolean {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes('redis-server') && cmdline.includes(`:${this.port}`);
    } catch {
      return false;
    }
  }

  /** Stops whatever of it runs: the whole cluster, or the one server. */
  async stop(): Promise<void> {
    if (this.cluster) await this.clusterScript('down').catch((error: Error) => this.log(`redis cluster stop: ${error.message}`));
    else await this.kill();
  }

  removeData(): void {
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.clusterDir, { recursive: true, force: true });
  }
}
