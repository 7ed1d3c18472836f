import { Logger } from '@nestjs/common';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { AppConfig } from '../config/app-config.js';
import type { KafkaConnection } from '../config/kafka-connection.js';

/**
 * Bootstrap servers, TLS and SASL in kafkajs' terms. Every Kafka client of the project (app, health,
 * metrics, verify, bench) connects through this, so a managed cluster needs its settings in one place.
 */
export function kafkaConnectionOptions(connection: KafkaConnection): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> = { brokers: [...connection.brokers] };
  if (connection.tls) {
    // A custom CA replaces Node's default trust store for these connections, as the Java client's truststore does.
    options.ssl = { rejectUnauthorized: connection.tls.rejectUnauthorized, ...(connection.tls.ca !== undefined && { ca: [connection.tls.ca] }) };
  }
  if (connection.sasl) {
    const { mechanism, username, password } = connection.sasl;
    options.sasl = { mechanism, username, password } as SASLOptions;
  }
  return options;
}

/**
 * kafkajs reports every failed connection attempt as an error, even ones it retries; during a broker
 * outage that is a flood. They are warnings here; the app logs the outcomes that matter itself.
 */
const LEVELS: Record<number, 'error' | 'warn' | 'log' | 'debug'> = {
  [logLevel.ERROR]: 'warn',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'log',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warns about this whenever an idempotent producer has a finite retry budget. The budget is
 * deliberate (a send must fail within its deadline), and what keeps the guarantee is the
 * EventPublisher retiring a producer after a failed send: repeating it at every start says nothing.
 */
const KNOWN_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/**
 * kafkajs client with its logs routed through Nest's logger, quiet unless something is wrong.
 * `quiet` is for clients that report their own failures (health probes, metric refreshers): kafkajs
 * would otherwise log every failed request of theirs during an outage or a leader change.
 */
export function createKafka(config: AppConfig, clientIdSuffix = '', { quiet = false } = {}): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}${clientIdSuffix}`,
    ...kafkaConnectionOptions(config.kafka),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 2000 },
    logLevel: quiet ? logLevel.NOTHING : logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...extra } = log;
        if (KNOWN_WARNINGS.has(message)) return;
        const method = LEVELS[level] ?? 'log';
        const detail = 'error' in extra ? ` (${String(extra.error)})` : '';
        new Logger(`kafkajs:${namespace}`)[method](`${message}${detail}`);
      },
  });
}
