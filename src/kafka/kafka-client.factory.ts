import { Logger } from '@nestjs/common';
import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { AppConfig } from '../config/app-config.js';

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

/** kafkajs client with its logs routed through Nest's logger, quiet unless something is wrong. */
/**
 * `quiet` is for clients that report their own failures (health probes, metric refreshers): kafkajs
 * would otherwise log every failed request of theirs during an outage or a leader change.
 */
export function createKafka(config: AppConfig, clientIdSuffix = '', { quiet = false } = {}): Kafka {
  return new Kafka({
    clientId: `${config.kafka.clientId}${clientIdSuffix}`,
    brokers: config.kafka.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 200, retries: 5, maxRetryTime: 2000 },
    logLevel: quiet ? logLevel.NOTHING : logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...extra } = log;
        const method = LEVELS[level] ?? 'log';
        const detail = 'error' in extra ? ` (${String(extra.error)})` : '';
        new Logger(`kafkajs:${namespace}`)[method](`${message}${detail}`);
      },
  });
}
