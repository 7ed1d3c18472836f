import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throw-away three-node cluster of `scripts/kafka.sh cluster`, on ports and a data folder of its
 * own (never the shared single broker on 9092, nor a developer's cluster on 19092..19094).
 */
export class LocalKafkaCluster {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'kafka-cluster-e2e-'));
  readonly env: Record<string, string>;

  constructor(
    readonly port = 19592,
    readonly controllerPort = 19692,
  ) {
    this.env = {
      KAFKA_CLUSTER_PORT: String(port),
      KAFKA_CLUSTER_CONTROLLER_PORT: String(controllerPort),
      KAFKA_CLUSTER_DATA_DIR: this.dataDir,
    };
  }

  /** KAFKA_BROKERS for the apps: all three as bootstrap servers. */
  get brokers(): string {
    return [0, 1, 2].map((i) => `127.0.0.1:${this.port + i}`).join(',');
  }

  /** Node number (1..3) of a broker id; the script gives node n the id n. */
  portOf(node: number): number {
    return this.port + node - 1;
  }

  async command(...args: string[]): Promise<string> {
    const { stdout } = await run('bash', ['scripts/kafka.sh', 'cluster', ...args], {
      env: { ...process.env, ...this.env },
      timeout: 150_000,
    });
    return stdout;
  }

  start = () => this.command('start');
  kill = (node: number) => this.command('kill', String(node));
  startNode = (node: number) => this.command('start', String(node));

  /** Stops the nodes and deletes the data folder. */
  async destroy(): Promise<void> {
    await this.command('stop').catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
