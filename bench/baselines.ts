import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { KafkaConnection } from '../src/config/app-config.js';
import { kafkaConnectionOptions } from '../src/kafka/kafka-client.factory.js';

/** The HTTP ceiling of this machine: a bare Fastify endpoint answering 202 with a small JSON body. */
export async function bareFastifyBaseline(options: { port: number; connections: number; durationSeconds: number }): Promise<number> {
  const app = Fastify({ logger: false });
  app.post('/', async (_request, reply) => reply.code(202).send({ status: 'PENDING' }));
  await app.listen({ port: options.port, host: '127.0.0.1' });
  try {
    const result = await autocannon({
      url: `http://127.0.0.1:${options.port}/`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'BASELINE', amount: '1.00', currency: 'USD', userId: 'USER-001' }),
      connections: options.connections,
      duration: options.durationSeconds,
    });
    return result.requests.average;
  } finally {
    await app.close();
  }
}

/**
 * The broker ceiling for what the intake does per payment: one record per send, acks=all, from an
 * idempotent producer (one request in flight), with as many concurrent senders as HTTP connections.
 */
export async function rawKafkaBaseline(options: { connection: KafkaConnection; topic: string; concurrency: number; durationSeconds: number }): Promise<number> {
  const kafka = new Kafka({ ...kafkaConnectionOptions(options.connection), clientId: 'bench-baseline', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: options.topic, numPartitions: 12 }], waitForLeaders: true });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let sent = 0;
  const deadline = Date.now() + options.durationSeconds * 1000;
  const started = Date.now();
  const sender = async (worker: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      await producer.send({ topic: options.topic, acks: -1, messages: [{ key: `USER-${(worker * 7 + i) % 100}`, value: '{"bench":true}' }] });
      sent++;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, worker) => sender(worker)));
    return sent / ((Date.now() - started) / 1000);
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [options.topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
