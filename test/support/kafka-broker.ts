import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A test CA and a broker certificate for 127.0.0.1 signed by it (openssl), in `dir`: `ca.pem` for the
 * clients, `keystore.pem` (PKCS#8 key, certificate, CA) for the broker's PEM keystore.
 */
export function makeTestCertificates(dir: string): { caFile: string; keystoreFile: string } {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=payments-test-ca');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '2', '-extfile', 'san.ext');
  ssl('pkcs8', '-topk8', '-nocrypt', '-in', 'broker.key', '-out', 'broker.pk8');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  writeFileSync(join(dir, 'keystore.pem'), read('broker.pk8') + read('broker.pem') + read('ca.pem'));
  return { caFile: join(dir, 'ca.pem'), keystoreFile: join(dir, 'keystore.pem') };
}

/**
 * A throw-away single Kafka node of `scripts/kafka.sh` with its own ports, data folder and lock, a
 * SASL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) for user `payments`, and a TLS listener with a
 * certificate from a test CA. Its pid file, config and ports are all its own, so `stop` can only ever
 * stop this broker, never the shared one on 9092.
 */
export class SecureKafkaBroker {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'kafka-secure-e2e-'));
  readonly username = 'payments';
  readonly password = 'payments-secret';
  readonly env: Record<string, string>;
  readonly caFile: string;

  constructor(
    readonly port = 19792,
    readonly saslPort = 19794,
    readonly sslPort = 19795,
  ) {
    const { caFile, keystoreFile } = makeTestCertificates(this.dataDir);
    this.caFile = caFile;
    this.env = {
      KAFKA_SSL_PORT: String(sslPort),
      KAFKA_SSL_KEYSTORE_PEM: keystoreFile,
      KAFKA_PORT: String(port),
      KAFKA_CONTROLLER_PORT: String(port + 1),
      KAFKA_SASL_PORT: String(saslPort),
      KAFKA_SASL_USERS: `${this.username}:${this.password}`,
      KAFKA_DATA_DIR: join(this.dataDir, 'data'),
      KAFKA_LOCK_FILE: join(this.dataDir, 'kafka.lock'),
      KAFKA_HEAP_OPTS: '-Xms128m -Xmx384m',
    };
  }

  /** KAFKA_BROKERS of the SASL listener. */
  get saslBrokers(): string {
    return `127.0.0.1:${this.saslPort}`;
  }

  /** KAFKA_BROKERS of the TLS listener. */
  get sslBrokers(): string {
    return `127.0.0.1:${this.sslPort}`;
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
