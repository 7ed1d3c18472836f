import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { KafkaConnection } from '../src/config/kafka-connection.js';
import { kafkaConnectionOptions } from '../src/kafka/kafka-client.factory.js';
import { processUsage } from '../tools/app-process.js';

export interface BareFastifyBaseline {
  requestsPerSecond: number;
  /** The bare server's CPU (user + system) per request answered: what one HTTP request costs here. */
  cpuMicrosPerRequest: number;
}

/**
 * The HTTP ceiling of this machine: a bare Fastify endpoint answering 202 with a small JSON body, in
 * a process of its own (bench/bare-fastify-server.mjs), driven like the intake.
 */
export async function bareFastifyBaseline(options: { port: number; connections: number; durationSeconds: number }): Promise<BareFastifyBaseline> {
  const server = spawn('node', ['bench/bare-fastify-server.mjs', String(options.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      server.once('exit', (code) => reject(new Error(`the bare Fastify server exited with ${code}`)));
    });
    const before = processUsage(server.pid!);
    const result = await autocannon({
      url: `http://127.0.0.1:${options.port}/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'BASELINE', amount: '1.00', currency: 'USD', userId: 'USER-001' }),
      connections: options.connections,
      duration: options.durationSeconds,
    });
    const cpuSeconds = processUsage(server.pid!).cpuSeconds - before.cpuSeconds;
    return { requestsPerSecond: result.requests.average, cpuMicrosPerRequest: (cpuSeconds * 1e6) / Math.max(1, result.requests.total) };
  } finally {
    server.kill('SIGTERM');
  }
}

/**
 * A producer with the intake's settings (idempotent, acks=all, one request in flight) on a topic of
 * its own, made for one baseline and removed after it.
 */
async function withBaselineProducer<T>(connection: KafkaConnection, topic: string, work: (producer: Producer) => Promise<T>): Promise<T> {
  const kafka = new Kafka({ ...kafkaConnectionOptions(connection), clientId: 'bench-baseline', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    return await work(producer);
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * The broker ceiling for what the intake does per payment: one record per send, acks=all, from an
 * idempotent producer (one request in flight), with as many concurrent senders as HTTP connections.
 */
export function rawKafkaBaseline(options: { connection: KafkaConnection; topic: string; concurrency: number; durationSeconds: number }): Promise<number> {
  return withBaselineProducer(options.connection, options.topic, async (producer) => {
    let sent = 0;
    const started = Date.now();
    const deadline = started + options.durationSeconds * 1000;
    const sender = async (worker: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await producer.send({ topic: options.topic, acks: -1, messages: [{ key: `USER-${(worker * 7 + i) % 100}`, value: '{"bench":true}' }] });
        sent++;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, (_, worker) => sender(worker)));
    return sent / ((Date.now() - started) / 1000);
  });
}

/**
 * What the broker itself can store: the same producer sending batches of `batchSize` records back to
 * back, as the coalescing publisher does under load. The one-record baseline above measures round
 * trips; this one the broker.
 */
export function batchedKafkaBaseline(options: { connection: KafkaConnection; topic: string; batchSize: number; durationSeconds: number }): Promise<number> {
  return withBaselineProducer(options.connection, options.topic, async (producer) => {
    const value = JSON.stringify({ specVersion: 1, type: 'payment.initiated', payload: { orderId: 'BASELINE-000000', amountMinor: '100', currency: 'USD' } });
    let sent = 0;
    const started = Date.now();
    const deadline = started + options.durationSeconds * 1000;
    for (let batch = 0; Date.now() < deadline; batch++) {
      const messages = Array.from({ length: options.batchSize }, (_, i) => ({ key: `USER-${(batch * options.batchSize + i) % 2000}`, value }));
      await producer.send({ topic: options.topic, acks: -1, messages });
      sent += messages.length;
    }
    return sent / ((Date.now() - started) / 1000);
  });
}

/** The run's baselines, measured once after the shapes, for the ratios each shape is reported with. */
export interface Baselines {
  bareFastifyRequestsPerSecond: number;
  bareFastifyCpuMicrosPerRequest: number;
  rawKafkaProducePerSecond: number;
  batchedKafkaProducePerSecond: number;
}

/** The three baselines one after the other, each on a topic of its own under the run's prefix. */
export async function measureBaselines(options: {
  connection: KafkaConnection;
  topicPrefix: string;
  /** Records per batch of the batched produce: the intake's KAFKA_BATCH_MAX_RECORDS. */
  batchSize: number;
  port: number;
  connections: number;
  durationSeconds: number;
}): Promise<Baselines> {
  const { connection, topicPrefix, connections, durationSeconds } = options;
  const bare = await bareFastifyBaseline({ port: options.port, connections, durationSeconds });
  const raw = await rawKafkaBaseline({ connection, topic: `${topicPrefix}baseline-${randomUUID().slice(0, 8)}`, concurrency: connections, durationSeconds });
  const batched = await batchedKafkaBaseline({ connection, topic: `${topicPrefix}baseline-batched-${randomUUID().slice(0, 8)}`, batchSize: options.batchSize, durationSeconds });
  return {
    bareFastifyRequestsPerSecond: Math.round(bare.requestsPerSecond),
    bareFastifyCpuMicrosPerRequest: Number(bare.cpuMicrosPerRequest.toFixed(1)),
    rawKafkaProducePerSecond: Math.round(raw),
    batchedKafkaProducePerSecond: Math.round(batched),
  };
}

/** A shape's figures against the same run's baselines. */
export function againstBaselines(
  s: { intake: { acceptedPerSecond: number }; endToEnd: { terminalPerSecond: number }; resources: { appCpuMicrosPerPayment: number } },
  b: Baselines,
) {
  const ratio = (x: number, y: number, digits = 3) => Number((x / y).toFixed(digits));
  return {
    intakeToBareFastify: ratio(s.intake.acceptedPerSecond, b.bareFastifyRequestsPerSecond),
    endToEndToBareFastify: ratio(s.endToEnd.terminalPerSecond, b.bareFastifyRequestsPerSecond),
    intakeToRawKafka: ratio(s.intake.acceptedPerSecond, b.rawKafkaProducePerSecond),
    intakeToBatchedKafka: ratio(s.intake.acceptedPerSecond, b.batchedKafkaProducePerSecond),
    // One payment's app CPU (all processes) in bare Fastify requests' worth of CPU, both measured in this run.
    appCpuPerPaymentInBareRequests: ratio(s.resources.appCpuMicrosPerPayment, b.bareFastifyCpuMicrosPerRequest, 1),
  };
}
