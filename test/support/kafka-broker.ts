import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throw-away single Kafka node of `scripts/kafka.sh` with its own ports, data folder and lock, and a
 * SASL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) for user `payments`. Its pid file, config and
 * ports are all its own, so `stop` can only ever stop this broker, never the shared one on 9092.
 */
export class SaslKafkaBroker {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'kafka-sasl-e2e-'));
  readonly username = 'payments';
  readonly password = 'payments-secret';
  readonly env: Record<string, string>;

  constructor(
    readonly port = 19792,
    readonly saslPort = 19794,
  ) {
    this.env = {
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(port + 1),
      KAFKA_SASL_PORT: String(saslPort),
      KAFKA_SASL_USERS: `${this.username}:${this.password}`,
      KAFKA_DATA_DIR: this.dataDir,
      KAFKA_LOCK_FILE: join(this.dataDir, 'kafka.lock'),
      KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m',
    };
  }

  /** KAFKA_BROKERS of the SASL listener. */
  get saslBrokers(): string {
    return `127.0.0.1:${this.saslPort}`;
  }

  private async command(command: 'start' | 'stop'): Promise<void> {
    await run('bash', ['scripts/kafka.sh', command], { env: { ...process.env, ...this.env }, timeout: 120_000 });
  }

  start = () => this.command('start');

  async destroy(): Promise<void> {
    await this.command('stop').catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
