import { readFileSync } from 'node:fs';
import { type EnvironmentVariables, invalid } from './environment.js';

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** How the app reaches the brokers: bootstrap servers, TLS and SASL (managed clusters). */
export interface KafkaConnection {
  brokers: string[];
  /** null: plaintext. */
  tls: { ca?: string; rejectUnauthorized: boolean } | null;
  /** null: no authentication. */
  sasl: { mechanism: KafkaSaslMechanism; username: string; password: string } | null;
}

/** Bootstrap servers, TLS and SASL, checked together: a half-configured secure connection stops the boot. */
export function kafkaConnection(vars: Pick<EnvironmentVariables, 'KAFKA_BROKERS' | 'KAFKA_SSL' | 'KAFKA_SSL_CA_FILE' | 'KAFKA_SSL_REJECT_UNAUTHORIZED' | 'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD'>): KafkaConnection {
  const brokers = vars.KAFKA_BROKERS.split(',').map((b) => b.trim());
  let tls: KafkaConnection['tls'] = null;
  if (vars.KAFKA_SSL) {
    tls = { rejectUnauthorized: vars.KAFKA_SSL_REJECT_UNAUTHORIZED };
    if (vars.KAFKA_SSL_CA_FILE) {
      try {
        tls.ca = readFileSync(vars.KAFKA_SSL_CA_FILE, 'utf8');
      } catch (error) {
        throw invalid('KAFKA_SSL_CA_FILE', `cannot read ${vars.KAFKA_SSL_CA_FILE} (${(error as Error).message})`);
      }
      if (!tls.ca.includes('-----BEGIN CERTIFICATE-----')) {
        throw invalid('KAFKA_SSL_CA_FILE', `${vars.KAFKA_SSL_CA_FILE} holds no PEM certificate`);
      }
    }
  } else if (vars.KAFKA_SSL_CA_FILE) {
    throw invalid('KAFKA_SSL_CA_FILE', 'is set but KAFKA_SSL is not true; set KAFKA_SSL=true to use TLS');
  }
  let sasl: KafkaConnection['sasl'] = null;
  const mechanism = vars.KAFKA_SASL_MECHANISM.toLowerCase() as KafkaSaslMechanism | '';
  if (mechanism) {
    if (!vars.KAFKA_SASL_USERNAME || !vars.KAFKA_SASL_PASSWORD) {
      throw invalid('KAFKA_SASL_MECHANISM', `${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
    }
    sasl = { mechanism, username: vars.KAFKA_SASL_USERNAME, password: vars.KAFKA_SASL_PASSWORD };
  } else if (vars.KAFKA_SASL_USERNAME || vars.KAFKA_SASL_PASSWORD) {
    throw invalid('KAFKA_SASL_USERNAME', 'credentials are set but KAFKA_SASL_MECHANISM is empty (plain, scram-sha-256 or scram-sha-512)');
  }
  return { brokers, tls, sasl };
}
