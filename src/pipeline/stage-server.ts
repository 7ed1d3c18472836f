// Over 300 lines, on purpose: the consumer's life, a chunk's settlement and the narrowing of a failure
// share each chunk's StageRun and the merged first passes. The dead letters are a part of their own
// (stage-dead-letters.ts).
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import { Coalescer } from '../batching/coalescer.js';
import type { Kafka } from 'kafkajs';
import type { AppConfig } from '../config/app-config.js';
import { withLogContext } from '../logging/log-context.js';
import { PaymentTrace } from '../logging/payment-trace.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import { parseEnvelope } from './event-envelope.js';
import type { DeadLetter, DeadLetterSink, EventBus } from './ports.js';
import type { KafkaTopics } from '../kafka/kafka-topics.js';
import { chunksOf, groupsByKey } from './batch-slices.js';
import { holdBackBehindRetries, PermanentEventError, type StageEffects, type StageMessage, type StageOutcome } from './stage-batch.js';
import { StageContext } from './stage-context.js';
import { StageDeadLetters } from './stage-dead-letters.js';
import type { StageHandlerExtras } from './stage-handler.decorator.js';

export interface KafkaStageServerDeps {
  /** The stage consumers' settings (STAGE_*, KAFKA_FETCH_*): the one slice of configuration the transport reads. */
  options: AppConfig['pipeline'];
  traceLevel: AppConfig['paymentTraceLevel'];
  /** A Kafka client per stage, named after it. */
  kafkaFor: (stage: string) => Kafka;
  topics: KafkaTopics;
  publisher: EventBus;
  deadLetters: DeadLetterSink;
  /** The pipeline core: which payments ended, and applying a batch's steps. */
  effects: StageEffects;
  /** Stages whose steps another core applies (the refunds stage's RefundLifecycle). */
  effectsOf?: Readonly<Record<string, StageEffects>>;
  metrics: MetricsService;
  /** Stages this instance runs (APP_ROLES); handlers of the others are not subscribed. Default: all. */
  stages?: ReadonlySet<string>;
}

/**
 * A NestJS transport strategy that keeps the consumer-controller model (@StageEvent handlers) but runs
 * Kafka the way a payment pipeline needs:
 * - one consumer group per stage, so stages scale and rebalance independently;
 * - eachBatch with several partitions at once; a handler gets a partition's batch (in chunks of
 *   STAGE_BATCH_MAX_RECORDS) in one call and answers one outcome per event, so a batch costs the same
 *   few round trips whatever its size (docs/PERFORMANCE.md, "How a batch flows");
 * - a chunk's offset is committed only after its effects are done: at-least-once;
 * - failures narrowed down to the events that cause them, retried in place with exponential backoff
 *   (keeping one payer's order), then sent to `<topic>-dlt` with Spring Kafka's headers; malformed
 *   events go there at once.
 */
export class KafkaStageServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(KafkaStageServer.name);
  private readonly trace: PaymentTrace;
  private readonly consumers: Consumer[] = [];
  private closing = false;
  private readonly replacing = new Set<Promise<void>>();
  private readonly deadLetters: StageDeadLetters;
  private readonly firstPasses = new Map<MessageHandler, Coalescer<{ run: StageRun; messages: StageMessage[] }, StageOutcome[]>[]>();

  constructor(private readonly deps: KafkaStageServerDeps) {
    super();
    this.trace = new PaymentTrace('PaymentStages', deps.traceLevel);
    this.deadLetters = new StageDeadLetters(deps.publisher, deps.deadLetters, deps.metrics);
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    // A replacement still starting sees `closing` and disconnects its consumer itself.
    await Promise.allSettled([...this.replacing]);
    await Promise.all(this.consumers.splice(0).map((consumer) => consumer.disconnect()));
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
      if (!stage) throw new Error(`Handler for ${pattern} has no stage; use @StageHandler(stage)`);
      topicsByStage.set(stage, [...(topicsByStage.get(stage) ?? []), pattern]);
    }
    for (const [stage, logicalTopics] of topicsByStage) {
      if (this.deps.stages && !this.deps.stages.has(stage)) continue;
      await this.startStage(stage, logicalTopics);
    }
  }

  private async startStage(stage: string, logicalTopics: string[]): Promise<void> {
    const { options, topics } = this.deps;
    const groupId = topics.consumerGroup(stage);
    const consumer = this.deps.kafkaFor(stage).consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
      // The seed's fetch.min.bytes and fetch.max.wait.ms (README: latency against fuller batches).
      minBytes: options.fetchMinBytes,
      maxWaitTimeInMs: options.fetchMaxWaitMs,
      // kafkajs restarts a crashed consumer (for example after a dead-letter publish failed) from the last commit.
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5_000, restartOnFailure: async () => true },
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.deps.metrics.partitionsAssigned(groupId, logicalTopics.map((t) => topics.physical(t)), payload.memberAssignment);
      this.log.log(`Stage ${stage} holds ${JSON.stringify(payload.memberAssignment)} of group ${groupId}`);
    });
    // kafkajs restarts its consumer only after an error it deems retriable; after any other it has left
    // the group and stays stopped, and the stage would consume nothing until the process restarts.
    let stoppedForGood = false;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.closing) return;
      stoppedForGood = true;
      const replacing: Promise<void> = this.replaceConsumer(stage, logicalTopics, consumer, payload.error).finally(() => this.replacing.delete(replacing));
      this.replacing.add(replacing);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: logicalTopics.map((t) => topics.physical(t)), fromBeginning: true });
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConcurrency,
        eachBatch: (payload) => this.processBatch(payload, groupId, stage),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    // Closed meanwhile, or stopped for good while joining (kafkajs reports that as a crash, not a throw).
    if (this.closing) {
      await consumer.disconnect().catch(() => undefined);
      return;
    }
    if (stoppedForGood) return;
    this.consumers.push(consumer);
    this.log.log(`Stage ${stage} consuming ${logicalTopics.join(', ')} as group ${groupId}`);
  }

  /** A new consumer for a stage whose consumer kafkajs gave up on, tried with backoff until it runs (or the server closes). */
  private async replaceConsumer(stage: string, logicalTopics: string[], stopped: Consumer, error: Error): Promise<void> {
    this.log.error(`Stage ${stage}: kafkajs stopped its consumer for good (${error.name}: ${error.message}); starting a new one`);
    const index = this.consumers.indexOf(stopped);
    if (index >= 0) this.consumers.splice(index, 1);
    await stopped.disconnect().catch(() => undefined);
    for (let attempt = 1; !this.closing; attempt++) {
      await sleep(this.backoff(attempt));
      if (this.closing) return;
      try {
        await this.startStage(stage, logicalTopics);
        return;
      } catch (startError) {
        this.log.error(`Stage ${stage}: its new consumer did not start (${(startError as Error).message}); trying again`);
      }
    }
  }

  /**
   * One partition's batch, STAGE_BATCH_MAX_RECORDS events at a time (Kafka's max.poll.records): the
   * stage decides the whole chunk in one handler call, the pipeline core applies its steps in a
   * constant number of round trips, and the chunk's offset is committed after its effects.
   */
  private async processBatch(payload: EachBatchPayload, groupId: string, stage: string): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const logicalTopic = this.deps.topics.logical(batch.topic);
    const handler = this.getHandlerByPattern(logicalTopic);
    if (!handler) throw new Error(`No handler for topic ${batch.topic}`);
    const { skipFinished } = handler.extras as StageHandlerExtras;
    for (const chunk of chunksOf(batch.messages, this.deps.options.batchMaxRecords)) {
      if (!isRunning() || isStale()) return;
      const run: StageRun = {
        handler,
        stage,
        groupId,
        skipFinished,
        context: new StageContext([batch.topic, stage]),
        heartbeat,
        stopped: () => !isRunning() || isStale(),
      };
      const settled = await withLogContext({ stage, batch: labelOf(batch.topic, batch.partition, chunk) }, () =>
        this.settleChunk(run, batch.topic, batch.partition, chunk),
      );
      // Stopped by a rebalance or shutdown: nothing of the chunk is committed, it is delivered again.
      if (!settled) return;
      resolveOffset(chunk.at(-1)!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  /**
   * Brings every event of the chunk to an end: applied, skipped or dead-lettered. Events to retry go
   * round again after a backoff, each with its own attempt count, in offset order. False if stopped.
   */
  private async settleChunk(run: StageRun, topic: string, partition: number, chunk: KafkaMessage[]): Promise<boolean> {
    const timer = this.deps.metrics.startStageBatch(run.stage);
    const malformed: DeadLetter[] = [];
    let pending: StageMessage[] = [];
    for (const message of chunk) {
      const headers = decodeHeaders(message.headers);
      const value = message.value?.toString() ?? '';
      const key = message.key?.toString() ?? null;
      const envelope = parseEnvelope(value);
      if (envelope) {
        pending.push({ envelope, value, topic, partition, offset: message.offset, key, headers, attempt: 1 });
        this.trace.writeFor(envelope, () => `Payment ${envelope.paymentId} taken by the ${run.stage} stage from ${topic}[${partition}]@${message.offset} (${envelope.type})`);
      } else {
        const error = new PermanentEventError('Malformed event: not a payment event envelope');
        malformed.push({ topic, partition, offset: message.offset, key, value, headers, envelope, error, attempts: 1, consumerGroup: run.groupId });
      }
    }
    if (malformed.length > 0) await this.deadLetters.send(malformed);
    const tally: Record<StageOutcome['kind'], number> = { step: 0, skip: 0, retry: 0, 'dead-letter': malformed.length };
    const { maxAttempts } = this.deps.options;
    for (let round = 1; pending.length > 0; round++) {
      if (run.stopped()) return false;
      // The first pass together with the other partitions' chunks in hand; retry rounds alone, so a
      // backoff here holds back no other partition.
      const outcomes = round === 1 ? await this.firstPassOf(run, partition).submit({ run, messages: pending }) : await this.decideNarrowing(run, pending);
      const again: StageMessage[] = [];
      const letters: DeadLetter[] = [];
      let failedAttempt = 0;
      outcomes.forEach((outcome, i) => {
        const message = pending[i];
        // An event held back behind another was not tried; it is counted when it is.
        if (!(outcome.kind === 'retry' && outcome.heldBack)) tally[outcome.kind]++;
        if (outcome.kind === 'dead-letter' || (outcome.kind === 'retry' && !outcome.heldBack && message.attempt >= maxAttempts)) {
          letters.push(this.letterOf(run, message, outcome.error));
        } else if (outcome.kind === 'retry' && outcome.heldBack) {
          again.push(message);
        } else if (outcome.kind === 'retry') {
          failedAttempt = Math.max(failedAttempt, message.attempt);
          this.log.warn(`${topic}[${partition}]@${message.offset} payment ${message.envelope.paymentId} attempt ${message.attempt} failed (${outcome.error.message}); retrying`);
          again.push({ ...message, attempt: message.attempt + 1 });
        }
      });
      if (letters.length > 0) await this.deadLetters.send(letters);
      pending = again;
      // Only events held back behind a dead letter: they go on at once.
      if (pending.length > 0 && failedAttempt > 0) {
        await sleep(this.backoff(failedAttempt));
        await run.heartbeat();
      }
    }
    timer(tally);
    return true;
  }

  /**
   * The partitions' chunks that kafkajs hands over at the same time (one fetch serves many partitions),
   * merged into one handler call and one apply, up to STAGE_BATCH_MAX_RECORDS events: without it a
   * stage at a few thousand payments a second gets chunks of a handful of events, and pays the
   * batch's round trips for each. While a merged pass runs, the next chunks gather (group commit).
   * A stage has MERGED_PASSES of them, partitions dealt out among them, so one slow pass (a slow
   * acknowledgement) does not hold every partition of the stage.
   */
  private firstPassOf(run: StageRun, partition: number): Coalescer<{ run: StageRun; messages: StageMessage[] }, StageOutcome[]> {
    let passes = this.firstPasses.get(run.handler);
    if (!passes) {
      passes = Array.from(
        { length: MERGED_PASSES },
        () =>
          new Coalescer<{ run: StageRun; messages: StageMessage[] }, StageOutcome[]>({
            maxBatchSize: this.deps.options.batchMaxRecords,
            lingerMs: 0,
            sizeOf: (chunk) => chunk.messages.length,
            run: async (chunks) => {
              // Log lines of a merged pass name every chunk in it.
              const label = chunks.map(({ messages: m }) => labelOf(m[0].topic, m[0].partition, m)).join(' ');
              const outcomes = await withLogContext({ stage: chunks[0].run.stage, batch: label }, () =>
                this.decideNarrowing(chunks[0].run, chunks.flatMap((chunk) => chunk.messages)),
              );
              let next = 0;
              return chunks.map((chunk) => ({ status: 'fulfilled', value: outcomes.slice(next, (next += chunk.messages.length)) }));
            },
          }),
      );
      this.firstPasses.set(run.handler, passes);
    }
    return passes[partition % MERGED_PASSES];
  }

  /**
   * Decides and applies the events together; when that fails, narrows the failure down so that one bad
   * event cannot hold its neighbours for long: the events split by payer into up to NARROWING_FANOUT
   * groups that run at once (payers are independent), down to one payer, whose events then go one
   * after another (a payer's later events wait behind a failed one). Returns one outcome per event.
   */
  private async decideNarrowing(run: StageRun, messages: StageMessage[]): Promise<StageOutcome[]> {
    try {
      return await this.decideAndApply(run, messages);
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const failed: StageOutcome = error instanceof PermanentEventError ? { kind: 'dead-letter', error } : { kind: 'retry', error };
      if (messages.length === 1) return [failed];
      const groups = groupsByKey(messages, NARROWING_FANOUT);
      if (groups.length > 1) {
        const outcomes: StageOutcome[] = new Array<StageOutcome>(messages.length);
        await Promise.all(
          groups.map(async (group) => {
            const decided = await this.decideNarrowing(run, group.map((i) => messages[i]));
            group.forEach((index, j) => (outcomes[index] = decided[j]));
          }),
        );
        return outcomes;
      }
      const [first] = await this.decideNarrowing(run, messages.slice(0, 1));
      if (first.kind === 'retry') return [first, ...messages.slice(1).map((): StageOutcome => ({ kind: 'retry', error: first.error, heldBack: true }))];
      return [first, ...(await this.decideNarrowing(run, messages.slice(1)))];
    }
  }

  /**
   * One pass over events in offset order: one Redis call for which payments already ended, one handler
   * call for the rest, then one apply of all their steps. Throws if the handler or the effects failed.
   */
  private async decideAndApply(run: StageRun, messages: StageMessage[]): Promise<StageOutcome[]> {
    const effects = this.deps.effectsOf?.[run.stage] ?? this.deps.effects;
    const finished = run.skipFinished ? await effects.finished(messages.map((m) => m.envelope.paymentId)) : NONE;
    const open = finished.size === 0 ? messages : messages.filter((m) => !finished.has(m.envelope.paymentId));
    const decided = open.length === 0 ? [] : holdBackBehindRetries(open, await this.invoke(run, open));
    await effects.apply(decided.flatMap((outcome, i) => (outcome.kind === 'step' ? [{ message: open[i], step: outcome.step }] : [])));
    if (open === messages) return decided;
    const byMessage = new Map(open.map((m, i) => [m, decided[i]]));
    return messages.map((m) => byMessage.get(m) ?? { kind: 'skip' });
  }

  private async invoke(run: StageRun, messages: StageMessage[]): Promise<StageOutcome[]> {
    const result = await run.handler(messages, run.context);
    const outcomes = (await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined })) as StageOutcome[] | undefined;
    if (!Array.isArray(outcomes) || outcomes.length !== messages.length) {
      throw new Error(`The ${run.stage} handler returned ${Array.isArray(outcomes) ? outcomes.length : 'no'} outcomes for ${messages.length} events`);
    }
    return outcomes;
  }

  private letterOf(run: StageRun, message: StageMessage, error: Error): DeadLetter {
    const { topic, partition, offset, key, headers, envelope, attempt } = message;

    return { topic, partition, offset, key, value: message.value, headers, envelope, error, attempts: attempt, consumerGroup: run.groupId };
  }

  private backoff(attempt: number): number {
    const { retryInitialMs, retryMaxMs } = this.deps.options;
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


/** A chunk as log lines name it: `topic[partition]@first-last`. */
const labelOf = (topic: string, partition: number, chunk: { offset: string }[]): string => `${topic}[${partition}]@${chunk[0].offset}-${chunk.at(-1)!.offset}`;

/** Merged first passes a stage may have running at once (its partitions dealt out among them). */
const MERGED_PASSES = 4;
/** How many groups of payers a failed batch splits into at each step of narrowing it down. */
const NARROWING_FANOUT = 16;
const NONE: ReadonlySet<string> = new Set();

/** One chunk's handler and where it runs. */
interface StageRun {
  handler: MessageHandler;
  stage: string;
  groupId: string;
  skipFinished: boolean;
  context: StageContext;
  heartbeat: () => Promise<void>;
  stopped: () => boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
