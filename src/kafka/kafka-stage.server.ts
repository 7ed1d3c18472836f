import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import type { AppConfig } from '../config/app-config.js';
import { withLogContext } from '../logging/log-context.js';
import { PaymentTrace } from '../logging/payment-trace.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { EventEnvelope } from './event-envelope.js';
import type { EventPublisher } from './event-publisher.js';
import { createKafka } from './kafka-client.factory.js';
import type { KafkaTopics } from './kafka-topics.js';
import { chunksOf, committableOffsets, forEachLimited, lanesByKey } from './payer-lanes.js';
import { PermanentEventError, StageContext } from './stage-context.js';
import type { StageHandlerExtras } from './stage-event.decorator.js';
import { deadLetterTopicOf } from './topics.js';

/** A message a stage gave up on, as it goes to the dead-letter topic and to the DeadLetterSink. */
export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
  /** The parsed envelope, when the message was one. */
  envelope: EventEnvelope | null;
  error: Error;
  attempts: number;
  consumerGroup: string;
}

/** What happens to a dead letter beyond the -dlt topic (kept for listing and replay, payment ended FAILED). */
export interface DeadLetterSink {
  record(letter: DeadLetter): Promise<void>;
}

export interface KafkaStageServerDeps {
  config: AppConfig;
  topics: KafkaTopics;
  publisher: EventPublisher;
  deadLetters: DeadLetterSink;
  metrics: MetricsService;
  /** Stages this instance runs (APP_ROLES); handlers of the others are not subscribed. Default: all. */
  stages?: ReadonlySet<string>;
}

/**
 * A NestJS transport strategy that keeps the consumer-controller model (@StageEvent handlers) but runs
 * Kafka the way a payment pipeline needs:
 * - one consumer group per stage, so stages scale and rebalance independently;
 * - eachBatch with several partitions at once; within a partition's batch several payers at once,
 *   each payer's messages strictly in order;
 * - an offset is resolved (and so committed) only after its handler's effects are done: at-least-once;
 * - failures retried in place with exponential backoff (keeping one payer's order), then sent to
 *   `<topic>-dlt` with Spring Kafka's headers; malformed events go there at once.
 */
export class KafkaStageServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(KafkaStageServer.name);
  private readonly trace: PaymentTrace;
  private readonly consumers: Consumer[] = [];

  constructor(private readonly deps: KafkaStageServerDeps) {
    super();
    this.trace = new PaymentTrace('PaymentStages', deps.config.paymentTraceLevel);
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.disconnect()));
    this.consumers.length = 0;
  }

  on(): void {
    throw new Error('KafkaStageServer has no events to listen to');
  }

  unwrap<T>(): T {
    return this.consumers as T;
  }

  private async start(): Promise<void> {
    const topicsByStage = new Map<string, string[]>();
    for (const [pattern, handler] of this.messageHandlers) {
      const stage = (handler.extras as StageHandlerExtras | undefined)?.stage;
      if (!stage) throw new Error(`Handler for ${pattern} has no stage; use @StageEvent(topic, stage)`);
      topicsByStage.set(stage, [...(topicsByStage.get(stage) ?? []), pattern]);
    }
    for (const [stage, logicalTopics] of topicsByStage) {
      if (this.deps.stages && !this.deps.stages.has(stage)) continue;
      await this.startStage(stage, logicalTopics);
    }
  }

  private async startStage(stage: string, logicalTopics: string[]): Promise<void> {
    const { config, topics } = this.deps;
    const groupId = topics.consumerGroup(stage);
    const consumer = createKafka(config, `-${stage}`).consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: config.pipeline.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(config.pipeline.sessionTimeoutMs / 3)),
      // The seed's fetch.min.bytes and fetch.max.wait.ms (README: latency against fuller batches).
      minBytes: config.pipeline.fetchMinBytes,
      maxWaitTimeInMs: config.pipeline.fetchMaxWaitMs,
      // kafkajs restarts a crashed consumer (for example after a dead-letter publish failed) from the last commit.
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000, restartOnFailure: async () => true },
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.deps.metrics.partitionsAssigned(groupId, logicalTopics.map((t) => topics.physical(t)), payload.memberAssignment);
      this.log.log(`Stage ${stage} holds ${JSON.stringify(payload.memberAssignment)} of group ${groupId}`);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: logicalTopics.map((t) => topics.physical(t)), fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.pipeline.partitionsConcurrency,
      eachBatch: (payload) => this.processBatch(payload, groupId, stage),
    });
    this.consumers.push(consumer);
    this.log.log(`Stage ${stage} consuming ${logicalTopics.join(', ')} as group ${groupId}`);
  }

  /**
   * One partition's batch: payers' lanes run at once (so their handlers' Kafka sends, Redis calls and
   * ledger postings coalesce into few round trips), each payer's events strictly in order.
   */
  private async processBatch(payload: EachBatchPayload, groupId: string, stage: string): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const logicalTopic = this.deps.topics.logical(batch.topic);
    const handler = this.getHandlerByPattern(logicalTopic);
    if (!handler) throw new Error(`No handler for topic ${batch.topic}`);
    // At most STAGE_BATCH_MAX_RECORDS at a time (Kafka's max.poll.records), committed chunk by chunk.
    for (const chunk of chunksOf(batch.messages, this.deps.config.pipeline.batchMaxRecords)) {
      const handled = new Set<string>();
      try {
        await forEachLimited(lanesByKey(chunk), this.deps.config.pipeline.payersConcurrency, async (lane) => {
          for (const message of lane) {
            if (!isRunning() || isStale()) return;
            const timed = this.deps.metrics.startStage(stage);
            await this.processMessage(handler, stage, batch.topic, batch.partition, message, groupId, heartbeat);
            timed();
            handled.add(message.offset);
            await heartbeat();
          }
        });
      } finally {
        for (const offset of committableOffsets(chunk, handled)) resolveOffset(offset);
      }
      await commitOffsetsIfNecessary();
      // A gap (a rebalance stopped the chunk): the rest of the batch is delivered again from it.
      if (handled.size < chunk.length) return;
    }
  }

  private async processMessage(
    handler: MessageHandler,
    stage: string,
    topic: string,
    partition: number,
    message: KafkaMessage,
    groupId: string,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const headers = decodeHeaders(message.headers);
    const value = message.value?.toString() ?? '';
    const envelope = parseEnvelope(value);
    const { maxAttempts } = this.deps.config.pipeline;
    if (!envelope) {
      const error = new PermanentEventError('Malformed event: not a payment event envelope');
      return this.deadLetter({ topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value, headers, envelope, error, attempts: 1, consumerGroup: groupId });
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const context = new StageContext([topic, partition, message.offset, headers, attempt]);
        // Log lines of this message carry the payment and the correlation id of the request that began it.
        await withLogContext({ correlationId: envelope.correlationId, paymentId: envelope.paymentId }, async () => {
          if (attempt === 1) this.trace.write(() => `Payment ${envelope.paymentId} taken by the ${stage} stage from ${topic}[${partition}]@${message.offset} (${envelope.type})`);
          return lastValueFrom(this.transformToObservable(await handler(envelope, context)), { defaultValue: undefined });
        });
        return;
      } catch (caught) {
        const error = caught instanceof Error ? caught : new Error(String(caught));
        const permanent = error instanceof PermanentEventError;
        if (permanent || attempt >= maxAttempts) {
          return this.deadLetter({ topic, partition, offset: message.offset, key: message.key?.toString() ?? null, value, headers, envelope, error, attempts: attempt, consumerGroup: groupId });
        }
        const delay = this.backoff(attempt);
        this.log.warn(`${topic}[${partition}]@${message.offset} payment ${envelope.paymentId} attempt ${attempt} failed (${error.message}); retrying in ${delay} ms`);
        await sleep(delay);
        await heartbeat();
      }
    }
  }

  /** Publishes the original record to `<topic>-dlt` with Spring Kafka's headers, then hands it to the sink. */
  private async deadLetter(letter: DeadLetter): Promise<void> {
    this.log.error(`${letter.topic}[${letter.partition}]@${letter.offset} dead-lettered after ${letter.attempts} attempt(s): ${letter.error.message}`);
    await this.deps.publisher.publishRecords([
      {
        topic: deadLetterTopicOf(letter.topic),
        key: letter.key,
        value: letter.value,
        headers: {
          ...letter.headers,
          'kafka_dlt-original-topic': letter.topic,
          'kafka_dlt-original-partition': String(letter.partition),
          'kafka_dlt-original-offset': letter.offset,
          'kafka_dlt-original-consumer-group': letter.consumerGroup,
          'kafka_dlt-exception-fqcn': letter.error.name,
          'kafka_dlt-exception-message': letter.error.message.slice(0, 1000),
          'retry_topic-attempts': String(letter.attempts),
        },
      },
    ]);
    this.deps.metrics.deadLettered(letter.topic);
    await this.deps.deadLetters.record(letter);
  }

  private backoff(attempt: number): number {
    const { retryInitialMs, retryMaxMs } = this.deps.config.pipeline;
    const exponential = Math.min(retryMaxMs, retryInitialMs * 2 ** (attempt - 1));
    return Math.round(exponential * (0.8 + Math.random() * 0.4));
  }
}

function decodeHeaders(headers: KafkaMessage['headers']): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) decoded[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return decoded;
}

/** The envelope if the bytes are one (version 1, with the fields every stage relies on); otherwise null. */
export function parseEnvelope(value: string): EventEnvelope | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return null;
  }
  const e = parsed as Partial<EventEnvelope> | null;
  const valid =
    e !== null &&
    typeof e === 'object' &&
    e.specVersion === 1 &&
    typeof e.eventId === 'string' &&
    typeof e.type === 'string' &&
    typeof e.paymentId === 'string' &&
    typeof e.correlationId === 'string' &&
    typeof e.payload === 'object' &&
    e.payload !== null;
  return valid ? (e as EventEnvelope) : null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
