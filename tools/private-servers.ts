/**
 * A private Kafka broker, Redis and PostgreSQL cluster, for `npm run chaos` (slots 0–9) and the outage
 * suite (slots 10–19). They listen on other ports and keep their data in other folders than the shared
 * servers on 9092, 6379 and 5432, which other engineers' tests use at the same time: every fault is
 * injected into these private servers only.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { tcpOpen } from './commands.js';
import { PrivateKafka } from './private-kafka.js';
import { PrivatePostgres } from './private-postgres.js';
import { PrivateRedis } from './private-redis.js';

/** Ports the shared servers use; the runner refuses to touch them whatever it is told. */
const SHARED_PORTS = new Set([9092, 9093, 6379, 5432]);

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

/** The three private servers of one slot, started, faulted and stopped together (private-kafka, -redis, -postgres). */
export class PrivateServers {
  /** Jars, Kafka data and Redis files: outside the repo, apart from the shared broker's data. */
  readonly cacheDir: string;
  /** PostgreSQL's cluster (under the temp dir: see PrivatePostgres). */
  readonly pgDir: string;
  readonly database = 'payments_chaos';
  private readonly kafka: PrivateKafka;
  private readonly redis: PrivateRedis;
  private readonly postgres: PrivatePostgres;

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
    this.kafka = new PrivateKafka(ports.kafka, ports.kafkaController, this.cacheDir, log);
    this.redis = new PrivateRedis(ports.redis, ports.redisCluster, redisCluster, this.cacheDir, log);
    this.postgres = new PrivatePostgres(ports.postgres, log);
    this.pgDir = this.postgres.dir;
  }

  /** REDIS_CLUSTER_NODES of the private cluster. */
  get redisClusterNodes(): string {
    return this.redis.clusterNodes;
  }

  get kafkaBrokers(): string {
    return this.kafka.brokers;
  }

  /** Starts all three from empty data; fails if one of the private ports is taken by something else. */
  async startFresh(extraPorts: number[] = []): Promise<void> {
    mkdirSync(this.cacheDir, { recursive: true });
    this.kafka.reuseSharedJars();
    // Leftovers of an earlier run that died without cleaning up are ours: stop them first.
    await this.stopAll();
    for (const [name, port] of [...Object.entries(this.ports), ...extraPorts.map((p) => ['app', p] as const)]) {
      if (await tcpOpen(port)) throw new Error(`Private ${name} port ${port} is in use by another process; pick another --slot`);
    }
    this.kafka.removeData();
    this.redis.removeData();
    await Promise.all([this.postgres.init().then(() => this.postgres.start()), this.redis.start(), this.kafka.start()]);
    await this.postgres.createDatabase(this.database);
  }

  // The faults and their recoveries (chaos/faults.ts, the outage suite).

  kafkaStart(): Promise<void> {
    return this.kafka.start();
  }

  kafkaStop(): Promise<void> {
    return this.kafka.stop();
  }

  /** Starts the Redis; on a cluster, the whole cluster, or the node a fault killed (it rejoins as a replica). */
  startRedis(): Promise<void> {
    return this.redis.start();
  }

  /** Kills the Redis without saving; on a cluster, the master of the load merchant's slot. */
  killRedis(): Promise<void> {
    return this.redis.kill();
  }

  startPostgres(): Promise<void> {
    return this.postgres.start();
  }

  stopPostgres(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    return this.postgres.stop(mode);
  }

  /** Stops whatever of ours runs (for the end of a run, and for leftovers of a run that died). */
  async stopAll(): Promise<void> {
    if (this.postgres.running) await this.postgres.stop('immediate').catch((error: Error) => this.log(`postgres stop: ${error.message}`));
    await this.redis.stop();
    if (this.kafka.hasData) await this.kafka.stop().catch((error: Error) => this.log(`kafka stop: ${error.message}`));
  }

  /** Removes the private servers' data (after a successful run; a failed one keeps it for a look). */
  removeData(): void {
    this.kafka.removeData();
    this.redis.removeData();
    this.postgres.removeData();
  }
}
