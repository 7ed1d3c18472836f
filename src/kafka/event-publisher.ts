import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CompressionTypes, Partitioners, type Producer } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { EventEnvelope } from './event-envelope.js';
import { createKafka } from './kafka-client.factory.js';
import { KafkaTopics } from './kafka-topics.js';

/** How long shutdown waits for sends still in flight before disconnecting the producer. */
const SHUTDOWN_DRAIN_MS = 15_000;

/** Kafka did not acknowledge an event in time, or refused it; the caller must not assume it was stored. */
export class EventPublishError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EventPublishError';
  }
}

/** A record as Kafka stores it, for messages that are not our envelopes (dead letters keep the original bytes). */
export interface OutgoingRecord {
  /** Physical topic name. */
  topic: string;
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

export interface OutgoingEvent {
  /** Logical topic name from TOPICS. */
  topic: string;
  /** Partitioning key: the payer's userId, so one payer's events keep their order. */
  key: string;
  envelope: EventEnvelope<unknown>;
  headers?: Record<string, string>;
}

/**
 * The one Kafka producer of the app: idempotent, acks from all in-sync replicas, and a bounded wait,
 * so callers either know an event is durably stored or get an EventPublishError.
 */
@Injectable()
export class EventPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(EventPublisher.name);
  private readonly producer: Producer;
  private connecting?: Promise<void>;
  /** Sends Kafka may still complete, including ones a caller stopped waiting for; drained on shutdown. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly config: AppConfig,
    private readonly topics: KafkaTopics,
    private readonly metrics: MetricsService,
  ) {
    this.producer = createKafka(config, '-producer').producer({
      idempotent: true,
      // kafkajs guarantees idempotent ordering only with one request in flight per broker.
      maxInFlightRequests: 1,
      // Java-compatible murmur2 placement: a key lands on the same partition as with Kafka's own clients.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    this.producer.on('producer.disconnect', () => {
      this.connecting = undefined;
    });
  }

  /** Publishes events and resolves only once Kafka acknowledged all of them with acks=all. */
  publish(events: OutgoingEvent[], timeoutMs = this.config.kafka.publishTimeoutMs): Promise<void> {
    const records = events.map((event) => ({
      topic: this.topics.physical(event.topic),
      key: event.key,
      value: JSON.stringify(event.envelope),
      headers: { 'x-correlation-id': event.envelope.correlationId, ...event.headers },
    }));
    return this.publishRecords(records, timeoutMs);
  }

  /** Publishes raw records with the same guarantees as publish(). */
  async publishRecords(records: OutgoingRecord[], timeoutMs = this.config.kafka.publishTimeoutMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EventPublishError(`Kafka did not acknowledge within ${timeoutMs} ms`, true)),
        timeoutMs,
      );
    });
    const sending = this.send(records);
    this.inFlight.add(sending);
    void sending.catch(() => undefined).finally(() => this.inFlight.delete(sending));
    try {
      await Promise.race([sending, deadline]);
    } catch (error) {
      if (error instanceof EventPublishError) throw error;
      throw new EventPublishError(`Kafka refused the event: ${(error as Error).message}`, false, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(records: OutgoingRecord[]): Promise<void> {
    await this.ensureConnected();
    const done = this.metrics.startProduce(records.length);
    const byTopic = new Map<string, Omit<OutgoingRecord, 'topic'>[]>();
    for (const { topic, ...message } of records) {
      const messages = byTopic.get(topic) ?? [];
      messages.push(message);
      byTopic.set(topic, messages);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        timeout: this.config.kafka.publishTimeoutMs,
        compression: CompressionTypes.None,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      done('ok');
    } catch (error) {
      done('error');
      throw error;
    }
  }

  private ensureConnected(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  async onModuleDestroy(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_DRAIN_MS)));
    await Promise.race([Promise.allSettled(this.inFlight), cap]);
    clearTimeout(timer);
    await this.producer.disconnect().catch((error: Error) => this.logger.warn(`Producer disconnect: ${error.message}`));
  }
}
