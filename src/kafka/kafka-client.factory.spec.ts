import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config.js';
import { kafkaConnectionOptions } from './kafka-client.factory.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const dir = mkdtempSync(join(tmpdir(), 'kafka-ca-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function caFile(content = PEM): string {
  const file = join(dir, `ca-${files++}.pem`);
  writeFileSync(file, content);
  return file;
}

const optionsOf = (env: Record<string, string>) => kafkaConnectionOptions(AppConfig.fromEnvironment(env).kafka);

describe('Kafka connection settings → kafkajs options', () => {
  it('should be plaintext without authentication by default, on the local broker', () => {
    expect(optionsOf({})).toEqual({ brokers: ['127.0.0.1:9092'] });
  });

  it('should pass several bootstrap servers, trimmed', () => {
    expect(optionsOf({ KAFKA_BROKERS: 'b-1.kafka:9096, b-2.kafka:9096,b-3.kafka:9096' }).brokers).toEqual([
      'b-1.kafka:9096',
      'b-2.kafka:9096',
      'b-3.kafka:9096',
    ]);
  });

  it('should enable TLS with the trust store of Node when no CA file is given', () => {
    expect(optionsOf({ KAFKA_SSL: 'true' }).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('should trust the CA file (replacing the default store) and may skip verification for a test cluster', () => {
    const file = caFile();
    expect(optionsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: file }).ssl).toEqual({ rejectUnauthorized: true, ca: [PEM] });
    expect(optionsOf({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }).ssl).toEqual({ rejectUnauthorized: false });
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512', 'SCRAM-SHA-512'])('should map SASL %s', (mechanism) => {
    const options = optionsOf({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 's3cret' });
    expect(options.sasl).toEqual({ mechanism: mechanism.toLowerCase(), username: 'svc', password: 's3cret' });
    expect(options.ssl).toEqual({ rejectUnauthorized: true });
  });

  it('should allow SASL without TLS (a private network) and leave ssl unset then', () => {
    const options = optionsOf({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' });
    expect(options.ssl).toBeUndefined();
    expect(options.sasl).toMatchObject({ mechanism: 'plain' });
  });
});

describe('Kafka connection settings are validated at boot', () => {
  it('should refuse an unknown SASL mechanism', () => {
    expect(() => AppConfig.fromEnvironment({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/KAFKA_SASL_MECHANISM="gssapi"/);
  });

  it('should refuse a mechanism without both credentials, and credentials without a mechanism', () => {
    expect(() => AppConfig.fromEnvironment({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' })).toThrow(
      /KAFKA_SASL_MECHANISM: scram-sha-256 needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
    expect(() => AppConfig.fromEnvironment({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(/KAFKA_SASL_MECHANISM is empty/);
  });

  it('should refuse a CA file that is missing, not PEM, or set without KAFKA_SSL', () => {
    expect(() => AppConfig.fromEnvironment({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/KAFKA_SSL_CA_FILE: cannot read/);
    expect(() => AppConfig.fromEnvironment({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: caFile('hello') })).toThrow(/holds no PEM certificate/);
    expect(() => AppConfig.fromEnvironment({ KAFKA_SSL_CA_FILE: caFile() })).toThrow(/KAFKA_SSL is not true/);
  });

  it('should refuse a malformed broker list and a non-boolean KAFKA_SSL', () => {
    expect(() => AppConfig.fromEnvironment({ KAFKA_BROKERS: 'a:1,,b:2' })).toThrow(/KAFKA_BROKERS/);
    expect(() => AppConfig.fromEnvironment({ KAFKA_SSL: 'maybe' })).toThrow(/KAFKA_SSL="maybe"/);
  });
});
