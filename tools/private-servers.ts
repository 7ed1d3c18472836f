/**
 * A private Kafka broker, Redis and PostgreSQL cluster, for `npm run chaos` (slots 0–9) and the outage
 * suite (slots 10–19). They listen on other ports and keep their data in other folders than the shared
 * servers on 9092, 6379 and 5432, which other engineers' tests use at the same time: every fault is
 * injected into these private servers only.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';

/** Ports the shared servers use; the runner refuses to touch them whatever it is told. */
const SHARED_PORTS = new Set([9092, 9093, 6379, 5432]);

/** The merchant every chaos payment is for (the open API's default): its hash slot holds all their intake claims. */
const LOAD_MERCHANT = 'MERCHANT-001';

export interface ServerPorts {
  kafka: number;
  kafkaController: number;
  redis: number;
  /** The first of a Redis Cluster's six ports (used only with a cluster). */
  redisCluster: number;
  postgres: number;
}

/** Slot n: every port shifted, so that two runs (a long one and the one inside `npm test`) can overlap. */
export function portsOfSlot(slot: number): ServerPorts {
  return { kafka: 29092 + 100 * slot, kafkaController: 29093 + 100 * slot, redis: 6390 + slot, redisCluster: 7401 + 10 * slot, postgres: 5440 + slot };
}

/** Where the private servers keep jars, Kafka and Redis data, and the slot locks: outside the repo. */
export function chaosCacheDir(): string {
  return join(process.env.PAYMENTS_CACHE_DIR ?? join(homedir(), '.cache', 'payments-system'), 'chaos');
}

/**
 * One run per slot, across worktrees and users of this machine: a lock file holding the runner's pid,
 * created atomically. Without it a second run on the same slot would take the first one's servers for
 * leftovers and stop them. Returns the release function, or null when a live run holds the slot.
 */
export function lockSlot(slot: number): (() => void) | null {
  const dir = chaosCacheDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `slot-${slot}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) return null;
      rmSync(path, { force: true }); // its run died: the slot, and whatever it left running, are ours now
    }
  }
  return null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a command without blocking the event loop (the load client keeps sending meanwhile); rejects with
 * the tail of its output when it fails.
 */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.code ?? error.signal}): ${(stderr || stdout || '').trim().slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/**
 * initdb and pg_ctl: from PATH when there (this machine links them into /usr/local/bin), else from
 * Debian's /usr/lib/postgresql/<newest>/bin, where the postgresql package puts them off PATH.
 */
function postgresTool(tool: string): string {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, tool)));
  if (onPath) return tool;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', tool))) : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (!newest) throw new Error(`${tool} not found on PATH nor in ${root}/*/bin: install the postgresql package`);
  return join(root, newest, 'bin', tool);
}

export class PrivateServers {
  /** Jars, Kafka data and Redis files: outside the repo, apart from the shared broker's data. */
  readonly cacheDir: string;
  /** PostgreSQL must own its data directory and cannot enter /root: its cluster lives under the temp dir. */
  readonly pgDir: string;
  readonly database = 'payments_chaos';

  /** The node a cluster fault killed, to start again (as a replica) on recovery. */
  private killedClusterNode: number | null = null;

  constructor(
    readonly ports: ServerPorts,
    readonly slot: number,
    private readonly log: (line: string) => void,
    /** A six-node Redis Cluster (scripts/redis-cluster.sh) on ports from `ports.redisCluster`, instead of one Redis. */
    readonly redisCluster = false,
  ) {
    for (const port of Object.values(ports)) {
      if (SHARED_PORTS.has(port)) throw new Error(`Port ${port} belongs to a shared server; chaos uses private servers only`);
    }
    this.cacheDir = chaosCacheDir();
    this.pgDir = join(tmpdir(), `payments-chaos-pg-${ports.postgres}`);
  }

  private get kafkaDataDir(): string {
    return join(this.cacheDir, `kafka-data-${this.ports.kafka}`);
  }

  private get redisDir(): string {
    return join(this.cacheDir, `redis-${this.ports.redis}`);
  }

  private get redisClusterDir(): string {
    return join(this.cacheDir, `redis-cluster-${this.ports.redisCluster}`);
  }

  /** REDIS_CLUSTER_NODES of the private cluster. */
  get redisClusterNodes(): string {
    return Array.from({ length: 6 }, (_, i) => `127.0.0.1:${this.ports.redisCluster + i}`).join(',');
  }

  private clusterScript(...args: string[]): Promise<string> {
    const env = { ...process.env, REDIS_CLUSTER_PORT: String(this.ports.redisCluster), REDIS_CLUSTER_DIR: this.redisClusterDir };
    return run('bash', ['scripts/redis-cluster.sh', ...args], env, 60_000);
  }

  /** kafka.sh with the private ports, data dir and cache dir (so also its own lock): never the shared broker. */
  private kafkaEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PAYMENTS_CACHE_DIR: this.cacheDir,
      KAFKA_PORT: String(this.ports.kafka),
      KAFKA_CONTROLLER_PORT: String(this.ports.kafkaController),
      KAFKA_DATA_DIR: this.kafkaDataDir,
      KAFKA_HEAP_OPTS: process.env.CHAOS_KAFKA_HEAP_OPTS ?? '-Xms128m -Xmx384m',
      KAFKA_STOP_TIMEOUT: '20',
    };
  }

  get kafkaBrokers(): string {
    return `127.0.0.1:${this.ports.kafka}`;
  }

  /** Starts all three from empty data; fails if one of the private ports is taken by something else. */
  async startFresh(extraPorts: number[] = []): Promise<void> {
    mkdirSync(this.cacheDir, { recursive: true });
    this.reuseSharedKafkaJars();
    // Leftovers of an earlier run that died without cleaning up are ours: stop them first.
    await this.stopAll();
    for (const [name, port] of [...Object.entries(this.ports), ...extraPorts.map((p) => ['app', p] as const)]) {
      if (await tcpOpen(port)) throw new Error(`Private ${name} port ${port} is in use by another process; pick another --slot`);
    }
    rmSync(this.kafkaDataDir, { recursive: true, force: true });
    rmSync(this.redisDir, { recursive: true, force: true });
    rmSync(this.redisClusterDir, { recursive: true, force: true });
    await Promise.all([this.initPostgres().then(() => this.startPostgres()), this.startRedis(), this.kafkaStart()]);
    await this.createDatabase();
  }

  /** The jars that scripts/kafka.sh already fetched for the shared broker are linked, not fetched again. */
  private reuseSharedKafkaJars(): void {
    const shared = join(this.cacheDir, '..');
    for (const dir of existsSync(shared) ? readdirSync(shared) : []) {
      if (!/^kafka-\d/.test(dir) || !existsSync(join(shared, dir, 'libs', '.complete'))) continue;
      const mine = join(this.cacheDir, dir);
      if (existsSync(join(mine, 'libs'))) continue;
      mkdirSync(mine, { recursive: true });
      symlinkSync(join(shared, dir, 'libs'), join(mine, 'libs'));
    }
  }

  async kafkaStart(): Promise<void> {
    const started = Date.now();
    await run('bash', ['scripts/kafka.sh', 'start'], this.kafkaEnv(), 180_000);
    this.log(`kafka up on ${this.ports.kafka} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  async kafkaStop(): Promise<void> {
    await run('bash', ['scripts/kafka.sh', 'stop'], this.kafkaEnv(), 90_000);
    this.log(`kafka on ${this.ports.kafka} stopped`);
  }

  // ------------------------------------------------------------------ Redis

  /** Starts the Redis; on a cluster, the whole cluster, or the node a fault killed (it rejoins as a replica). */
  async startRedis(): Promise<void> {
    if (this.redisCluster) {
      if (this.killedClusterNode !== null) await this.clusterScript('start', String(this.killedClusterNode));
      else await this.clusterScript('up');
      this.killedClusterNode = null;
      return;
    }
    mkdirSync(this.redisDir, { recursive: true });
    // Like the machine's own Redis: no RDB, no AOF. A restart therefore starts empty.
    await run('redis-server', [
      '--port', String(this.ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
      '--dir', this.redisDir, '--pidfile', join(this.redisDir, 'redis.pid'), '--logfile', join(this.redisDir, 'redis.log'),
    ]);
    for (let i = 0; i < 100; i++) {
      if (await this.redisPing()) return;
      await sleep(100);
    }
    throw new Error(`private redis on ${this.ports.redis} did not answer`);
  }

  private async redisPing(): Promise<boolean> {
    const answer = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.ports.redis), 'ping'], process.env, 2000).catch(() => '');
    return answer.trim() === 'PONG';
  }

  /**
   * The private Redis dies without saving (kill -9): whatever it held is gone. On a cluster, the
   * master of the load merchant's slot dies: its replica takes over with what it had replicated.
   */
  async killRedis(): Promise<void> {
    if (this.redisCluster) {
      const out = await this.clusterScript('kill-master', String(calculateSlot(encodeURIComponent(LOAD_MERCHANT))));
      this.killedClusterNode = Number(out.trim().split('\n').at(-1));
      this.log(`redis cluster: killed the master on ${this.killedClusterNode}`);
      return;
    }
    const pidFile = join(this.redisDir, 'redis.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(pid) && this.isRedisOnOurPort(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && (await tcpOpen(this.ports.redis)); i++) await sleep(100);
    rmSync(pidFile, { force: true });
  }

  private isRedisOnOurPort(pid: number): boolean {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes('redis-server') && cmdline.includes(`:${this.ports.redis}`);
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------ PostgreSQL

  private get pgData(): string {
    return join(this.pgDir, 'data');
  }

  /** Runs a PostgreSQL server tool as the postgres user (the server refuses to run as root). */
  private asPostgres([tool, ...args]: string[], timeoutMs = 120_000): Promise<string> {
    return run('runuser', ['-u', 'postgres', '--', postgresTool(tool), ...args], { ...process.env, PGTZ: 'UTC' }, timeoutMs);
  }

  private async initPostgres(): Promise<void> {
    rmSync(this.pgDir, { recursive: true, force: true });
    mkdirSync(this.pgDir, { recursive: true });
    chmodSync(this.pgDir, 0o755);
    await run('chown', ['postgres:postgres', this.pgDir]);
    // Trust auth on loopback only: a throwaway cluster nobody else can reach.
    await this.asPostgres(['initdb', '-D', this.pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  }

  async startPostgres(): Promise<void> {
    const started = Date.now();
    await this.asPostgres([
      'pg_ctl', '-D', this.pgData, '-l', join(this.pgDir, 'postgres.log'), '-w', '-t', '60',
      '-o', `-p ${this.ports.postgres} -c listen_addresses=127.0.0.1 -k ${this.pgDir} -c max_connections=100`,
      'start',
    ]);
    this.log(`postgres up on ${this.ports.postgres} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  async stopPostgres(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.asPostgres(['pg_ctl', '-D', this.pgData, '-m', mode, '-w', '-t', '60', 'stop']);
    this.log(`postgres on ${this.ports.postgres} stopped (${mode})`);
  }

  private async createDatabase(): Promise<void> {
    await run('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(this.ports.postgres), '-U', 'postgres', '-d', 'postgres', '-c', `CREATE DATABASE ${this.database}`]);
  }

  /** Stops whatever of ours runs (for the end of a run, and for leftovers of a run that died). */
  async stopAll(): Promise<void> {
    if (existsSync(join(this.pgData, 'postmaster.pid'))) {
      try {
        await this.stopPostgres('immediate');
      } catch (error) {
        this.log(`postgres stop: ${(error as Error).message}`);
      }
    }
    if (this.redisCluster) await this.clusterScript('down').catch((error: Error) => this.log(`redis cluster stop: ${error.message}`));
    else await this.killRedis();
    try {
      if (existsSync(this.kafkaDataDir)) await this.kafkaStop();
    } catch (error) {
      this.log(`kafka stop: ${(error as Error).message}`);
    }
  }

  /** Removes the private servers' data (after a successful run; a failed one keeps it for a look). */
  removeData(): void {
    rmSync(this.kafkaDataDir, { recursive: true, force: true });
    rmSync(this.redisDir, { recursive: true, force: true });
    rmSync(this.redisClusterDir, { recursive: true, force: true });
    rmSync(this.pgDir, { recursive: true, force: true });
  }
}
