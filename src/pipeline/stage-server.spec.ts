import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { AppConfig } from '../config/app-config.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { EventPublisher, OutgoingRecord } from '../kafka/event-publisher.js';
import type { DeadLetter } from './ports.js';
import { KafkaStageServer } from './stage-server.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import type { DecidedStep, StageMessage, StageOutcome } from './stage-batch.js';

type Handler = (batch: StageMessage[]) => Promise<StageOutcome[]>;

/** The transport with fake ports: what it publishes, dead-letters, applies and commits is recorded in `log`. */
function harness(handler: Handler, options: { finished?: string[]; batchMaxRecords?: number; kafkaFor?: () => Kafka } = {}) {
  const config = AppConfig.fromEnvironment({
    STAGE_MAX_ATTEMPTS: '3',
    STAGE_RETRY_INITIAL_MS: '1',
    STAGE_RETRY_MAX_MS: '1',
    STAGE_BATCH_MAX_RECORDS: String(options.batchMaxRecords ?? 500),
  });
  const log: string[] = [];
  const letters: DeadLetter[] = [];
  const handlerCalls: string[][] = [];
  const publisher = {
    publishRecords: async (records: OutgoingRecord[]) => {
      log.push(`dlt ${records.map((r) => r.topic).join(',')}`);
    },
  } as unknown as EventPublisher;
  const metrics = { startStageBatch: () => () => undefined, deadLettered: () => undefined } as unknown as MetricsService;
  const server = new KafkaStageServer({
    options: config.pipeline,
    traceLevel: config.paymentTraceLevel,
    kafkaFor:
      options.kafkaFor ??
      (() => {
        throw new Error('the harness feeds batches itself');
      }),
    topics: new KafkaTopics(config),
    publisher,
    metrics,
    deadLetters: { record: async (letter) => void letters.push(letter) },
    effects: {
      finished: async (ids) => new Set(ids.filter((id) => options.finished?.includes(id))),
      apply: async (steps: DecidedStep[]) => {
        if (steps.length > 0) log.push(`apply ${steps.map((s) => s.step as string).join(',')}`);
      },
    },
  });
  server.addHandler(
    'payments.initiated',
    async (batch: StageMessage[]) => {
      handlerCalls.push(batch.map((m) => `${m.envelope.paymentId}#${m.attempt}`));
      return handler(batch);
    },
    true,
    { stage: 'validation', skipFinished: true },
  );
  const run = async (messages: KafkaMessage[], partition = 0) => {
    const payload = {
      batch: { topic: 'payments.initiated', partition, messages },
      resolveOffset: (offset: string) => log.push(`resolve ${partition === 0 ? '' : `p${partition}@`}${offset}`),
      commitOffsetsIfNecessary: async () => void log.push('commit'),
      heartbeat: async () => undefined,
      isRunning: () => true,
      isStale: () => false,
    } as unknown as EachBatchPayload;
    await (server as unknown as { processBatch(p: EachBatchPayload, group: string, stage: string): Promise<void> }).processBatch(payload, 'group', 'validation');
  };
  return { run, log, letters, handlerCalls, server };
}

/** A record as the broker hands it over: `paymentId` doubles as the step the fake handler answers. */
const record = (offset: number, payer: string, paymentId: string): KafkaMessage =>
  ({
    offset: String(offset),
    key: Buffer.from(payer),
    value: Buffer.from(JSON.stringify({ specVersion: 1, eventId: `e-${paymentId}`, type: 'payment.initiated', paymentId, correlationId: 'c', occurredAt: '', payload: {} })),
    headers: {},
    timestamp: '0',
    attributes: 0,
  }) as KafkaMessage;

const advanceAll: Handler = async (batch) => batch.map((m) => ({ kind: 'step', step: m.envelope.paymentId }));

describe('KafkaStageServer (batch-native stages)', () => {
  // The retry and dead-letter lines are expected here; the log tests live elsewhere.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']));

  it('decides each chunk in one handler call, applies its steps together, and commits after the effects', async () => {
    const { run, log, handlerCalls } = harness(advanceAll, { batchMaxRecords: 4 });
    await run(['a1', 'b1', 'a2', 'c1', 'd1', 'a3'].map((id, i) => record(i, id[0], id)));
    expect(handlerCalls).toEqual([['a1#1', 'b1#1', 'a2#1', 'c1#1'], ['d1#1', 'a3#1']]);
    expect(log).toEqual(['apply a1,b1,a2,c1', 'resolve 3', 'commit', 'apply d1,a3', 'resolve 5', 'commit']);
  });

  it('decides the chunks of partitions handed over together in one handler call and one apply, then commits each', async () => {
    const { run, log, handlerCalls } = harness(advanceAll);
    // Partitions 0 and 4 share one of the stage's merged passes (partition modulo their number).
    await Promise.all([run([record(0, 'a', 'a1'), record(1, 'a', 'a2')], 0), run([record(7, 'b', 'b1')], 4)]);
    expect(handlerCalls).toEqual([['a1#1', 'a2#1', 'b1#1']]);
    expect(log[0]).toBe('apply a1,a2,b1');
    expect(log.slice(1).sort()).toEqual(['commit', 'commit', 'resolve 1', 'resolve p4@7']);
  });

  it('skips payments that already ended without handing them to the stage', async () => {
    const { run, log, handlerCalls } = harness(advanceAll, { finished: ['b1'] });
    await run([record(0, 'a', 'a1'), record(1, 'b', 'b1'), record(2, 'c', 'c1')]);
    expect(handlerCalls).toEqual([['a1#1', 'c1#1']]);
    expect(log).toEqual(['apply a1,c1', 'resolve 2', 'commit']);
  });

  it("narrows a failing batch to the payer that fails it: neighbours go on, the payer's later event waits, the bad one is dead-lettered", async () => {
    const failing: Handler = async (batch) => {
      if (batch.some((m) => m.envelope.paymentId === 'bad')) throw new Error('constraint violated');
      return advanceAll(batch);
    };
    const { run, log, letters } = harness(failing);
    await run([record(0, 'a', 'bad'), record(1, 'b', 'b1'), record(2, 'a', 'a2'), record(3, 'c', 'c1')]);
    // b1 and c1 in the first round; a2 only once `bad` is settled (after 3 attempts), never before it.
    expect(log.filter((l) => l.startsWith('apply') || l.startsWith('dlt'))).toEqual(['apply b1', 'apply c1', 'dlt payments.initiated-dlt', 'apply a2']);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ offset: '0', attempts: 3, error: expect.objectContaining({ message: 'constraint violated' }) });
    expect(log.slice(-2)).toEqual(['resolve 3', 'commit']);
  });

  it("retries an event the stage answered `retry`, holding back its payer's later events, each with its own attempt count", async () => {
    let calls = 0;
    const flaky: Handler = async (batch) => {
      calls++;
      return batch.map((m): StageOutcome => (m.envelope.paymentId === 'x1' && calls === 1 ? { kind: 'retry', error: new Error('busy') } : { kind: 'step', step: m.envelope.paymentId }));
    };
    const { run, log, handlerCalls } = harness(flaky);
    await run([record(0, 'x', 'x1'), record(1, 'y', 'y1'), record(2, 'x', 'x2')]);
    // x2 was decided in the first call, but not applied ahead of x1: both go round again, x1 on its second attempt.
    expect(handlerCalls).toEqual([['x1#1', 'y1#1', 'x2#1'], ['x1#2', 'x2#1']]);
    expect(log).toEqual(['apply y1', 'apply x1,x2', 'resolve 2', 'commit']);
  });

  it('sends bytes that are no event envelope to the dead-letter topic at once, and goes on with the rest', async () => {
    const { run, log, letters } = harness(advanceAll);
    const garbage = { ...record(0, 'a', 'x'), value: Buffer.from('not json') } as KafkaMessage;
    await run([garbage, record(1, 'a', 'a1')]);
    expect(letters).toMatchObject([{ offset: '0', attempts: 1, value: 'not json', envelope: null }]);
    expect(log).toEqual(['dlt payments.initiated-dlt', 'apply a1', 'resolve 1', 'commit']);
  });

  it('starts a new consumer for a stage whose consumer kafkajs stopped for good (a crash it would not restart)', async () => {
    const consumers: { crash: (restart: boolean) => void; runs: number; disconnects: number }[] = [];
    const kafka = {
      consumer: () => {
        const listeners = new Map<string, (event: unknown) => void>();
        const fake = { runs: 0, disconnects: 0, crash: (restart: boolean) => listeners.get('consumer.crash')?.({ payload: { error: new TypeError('boom'), groupId: 'g', restart } }) };
        consumers.push(fake);
        return {
          events: { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash' },
          on: (event: string, listener: (event: unknown) => void) => listeners.set(event, listener),
          connect: async () => undefined,
          subscribe: async () => undefined,
          run: async () => void fake.runs++,
          disconnect: async () => void fake.disconnects++,
        } as unknown as Consumer;
      },
    } as unknown as Kafka;
    const { server } = harness(async () => [], { kafkaFor: () => kafka });
    await new Promise<void>((resolve, reject) => server.listen((error) => (error ? reject(error as Error) : resolve())));
    try {
      expect(consumers.map((c) => c.runs)).toEqual([1]);
      consumers[0].crash(true); // kafkajs restarts this one itself
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(consumers).toHaveLength(1);
      consumers[0].crash(false);
      for (let i = 0; i < 100 && consumers.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(consumers.map((c) => [c.runs, c.disconnects])).toEqual([
        [1, 1],
        [1, 0],
      ]);
    } finally {
      await server.close();
    }
    expect(consumers[1].disconnects).toBe(1);
  });
});
