import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { CompressionTypes, Partitioners, type Producer } from 'kafkajs';
import { Coalescer, WithdrawnError } from '../batching/coalescer.js';
import { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
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
  /** Sent as JSON (the pipeline's EventEnvelope); its correlation id also travels as a header. */
  envelope: { correlationId: string };
  headers?: Record<string, string>;
}

/**
 * The one Kafka producer of the app: idempotent, acks from all in-sync replicas, and a bounded wait,
 * so callers either know an event is durably stored or get an EventPublishError.
 *
 * kafkajs keeps idempotent ordering only with one request in flight and has no linger of its own, so
 * every send would cost a full round trip of its own. Concurrent sends are therefore coalesced: while
 * one produce request is in flight, new events queue and go together in the next request (see
 * Coalescer). Order per key holds because batches go out one at a time, in submission order.
 *
 * A send that failed or outlived its deadline leaves the producer's sequence numbers in doubt: kafkajs
 * rolls them back although the broker may have stored the batch, so the next, different batch would
 * carry the same numbers and be dropped by the broker as a "duplicate" (acknowledged, yet lost) or
 * refused as out of order for good. So such a producer is retired and the next batch goes through a
 * fresh one (a new producer id); a caller's retry may then store an event twice, which every stage
 * tolerates, but never loses one.
 */
@Injectable()
export class EventPublisher implements OnModuleDestroy {
  private readonly logger = new Logger(EventPublisher.name);
  private producer: Producer;
  private connecting?: Promise<void>;
  /** Producers retired after a failed send, until their last send settled and they disconnected. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly batches: Coalescer<OutgoingRecord[], void>;
  /** Sends that outlived their deadline; Kafka may still store them, so shutdown waits for them a while. */
  private readonly lateSends = new Set<Promise<unknown>>();

  constructor(
    private readonly config: AppConfig,
    private readonly topics: KafkaTopics,
    private readonly metrics: MetricsService,
  ) {
    this.producer = this.createProducer();
    this.batches = new Coalescer({
      maxBatchSize: config.kafka.batchMaxRecords,
      lingerMs: config.kafka.lingerMs,
      run: (sends) => this.sendTogether(sends),
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
    const ticket = { withdrawn: false };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Still queued: withdrawn, never sent. Already sent: Kafka may yet store it; the caller can't know.
        ticket.withdrawn = true;
        reject(new EventPublishError(`Kafka did not acknowledge within ${timeoutMs} ms`, true));
      }, timeoutMs);
    });
    const sending = this.batches.submit(records, ticket);
    try {
      await Promise.race([sending, deadline]);
    } catch (error) {
      if (error instanceof EventPublishError) throw error;
      if (error instanceof WithdrawnError) throw new EventPublishError(`Kafka did not acknowledge within ${timeoutMs} ms`, true);
      throw new EventPublishError(`Kafka refused the event: ${(error as Error).message}`, false, { cause: error });
    } finally {
      clearTimeout(timer);
      void sending.catch(() => undefined);
    }
  }

  /** One acks=all produce request for the records of several callers; they all succeed or all fail. */
  private async sendTogether(sends: OutgoingRecord[][]): Promise<PromiseSettledResult<void>[]> {
    await this.ensureConnected();
    const producer = this.producer;
    const records = sends.flat();
    const done = this.metrics.startProduce(records.length);
    const byTopic = new Map<string, Omit<OutgoingRecord, 'topic'>[]>();
    for (const { topic, ...message } of records) {
      const messages = byTopic.get(topic) ?? [];
      messages.push(message);
      byTopic.set(topic, messages);
    }
    const { publishTimeoutMs } = this.config.kafka;
    const sending = producer.sendBatch({
      acks: -1,
      timeout: publishTimeoutMs,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), publishTimeoutMs)));
    try {
      // A send kafkajs keeps retrying (broker away) must not hold back the batches behind it: past the
      // deadline its callers have given up anyway, so the next batch goes out; this one may still land.
      if ((await Promise.race([sending, deadline])) === 'late') {
        this.lateSends.add(sending);
        void sending.catch(() => undefined).finally(() => this.lateSends.delete(sending));
        this.retire(producer, sending, 'a send outlived its deadline');
        throw new EventPublishError(`Kafka did not acknowledge within ${publishTimeoutMs} ms`, true);
      }
      done('ok');
    } catch (error) {
      done('error');
      if (!(error instanceof EventPublishError)) this.retire(producer, sending, `a send failed (${(error as Error).message})`);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return sends.map(() => ({ status: 'fulfilled', value: undefined }));
  }

  /** One idempotent kafkajs producer (protected: the unit test gives the publisher fakes). */
  protected createProducer(): Producer {
    const producer = createKafka(this.config, '-producer').producer({
      idempotent: true,
      // kafkajs guarantees idempotent ordering only with one request in flight per broker.
      maxInFlightRequests: 1,
      // Java-compatible murmur2 placement: a key lands on the same partition as with Kafka's own clients.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    producer.on('producer.disconnect', () => {
      if (producer === this.producer) this.connecting = undefined;
    });
    return producer;
  }

  private ensureConnected(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  /**
   * Replaces a producer whose sequence numbers are in doubt (see the class comment). It disconnects
   * once its send settled, so a late acknowledgement can still arrive.
   */
  private retire(producer: Producer, lastSend: Promise<unknown>, reason: string): void {
    if (producer !== this.producer) return;
    this.logger.warn(`Kafka producer retired: ${reason}; the next sends use a new idempotent producer`);
    this.metrics.producerRetired();
    this.producer = this.createProducer();
    this.connecting = undefined;
    const retired = lastSend
      .catch(() => undefined)
      .then(() => producer.disconnect())
      .catch((error: Error) => this.logger.warn(`Retired producer disconnect: ${error.message}`))
      .finally(() => this.retiring.delete(retired));
    this.retiring.add(retired);
  }

  async onModuleDestroy(): Promise<void> {
    // Sends callers stopped waiting for may still complete; give them a bounded time before disconnecting.
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_DRAIN_MS)));
    await Promise.race([Promise.allSettled([this.batches.drain(), ...this.lateSends, ...this.retiring]), cap]);
    clearTimeout(timer);
    await this.producer.disconnect().catch((error: Error) => this.logger.warn(`Producer disconnect: ${error.message}`));
  }
}
