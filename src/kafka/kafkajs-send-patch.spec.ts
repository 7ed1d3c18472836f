import { describe, expect, it } from '@jest/globals';
import { createRequire } from 'node:module';

/**
 * The produce path of kafkajs as patched by patches/kafkajs+2.2.4.patch, driven through a broker death
 * with fake brokers. Unpatched, the second case resolves without ever sending partition 0 (the loss of
 * tulios/kafkajs#1303 that the three-broker e2e test hit).
 */
const require = createRequire(import.meta.url);
type SendMessages = (options: unknown) => (request: { acks: number; timeout: number; compression?: number; topicMessages: { topic: string; messages: { key: string; value: string }[] }[] }) => Promise<{ topicName: string; partition: number; errorCode: number }[]>;
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as SendMessages;
const createRetry = require('kafkajs/src/retry/index.js') as (options: unknown) => unknown;
const { KafkaJSConnectionError } = require('kafkajs/src/errors.js') as { KafkaJSConnectionError: new (message: string) => Error };

interface Produced {
  broker: number;
  partitions: { partition: number; firstSequence: number; count: number }[];
}

/** A cluster of fake brokers: `leaders[p]` leads partition p; `failOnce` brokers drop their first request. */
function fakeCluster(initialLeaders: number[], failOnce: Set<number>, afterRefresh: number[]) {
  let leaders = [...initialLeaders];
  const produced: Produced[] = [];
  const sequences = new Map<number, number>();
  const broker = (nodeId: number) => ({
    nodeId,
    produce: async ({ topicData }: { topicData: { topic: string; partitions: { partition: number; firstSequence: number; messages: unknown[] }[] }[] }) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (failOnce.delete(nodeId)) throw new KafkaJSConnectionError(`broker ${nodeId} died`);
      produced.push({ broker: nodeId, partitions: topicData[0].partitions.map((p) => ({ partition: p.partition, firstSequence: p.firstSequence, count: p.messages.length })) });
      return { topics: topicData.map(({ topic, partitions }) => ({ topicName: topic, partitions: partitions.map(({ partition }) => ({ partition, errorCode: 0, baseOffset: '0' })) })) };
    },
  });
  const cluster = {
    targetTopics: new Set<string>(),
    addMultipleTargetTopics: async () => undefined,
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => {
      leaders = [...afterRefresh];
    },
    isConnected: () => true,
    connect: async () => undefined,
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () => leaders.map((leader, partitionId) => ({ partitionId, leader })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) =>
      partitions.reduce<Record<number, number[]>>((result, p) => {
        const leader = leaders[Number(p)];
        (result[leader] ??= []).push(Number(p));
        return result;
      }, {}),
    findBroker: async ({ nodeId }: { nodeId: string }) => broker(Number(nodeId)),
  };
  const eosManager = {
    acquireBrokerLock: async () => undefined,
    releaseBrokerLock: async () => undefined,
    isTransactional: () => false,
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
    updateSequence: (_topic: string, partition: number, increment: number) => sequences.set(partition, (sequences.get(partition) ?? 0) + increment),
  };
  const logger = { debug: () => undefined, error: () => undefined, info: () => undefined, warn: () => undefined };
  const retrier = createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 });
  // Messages go to the partition named by their key, so the test controls the placement.
  const partitioner = ({ message }: { message: { key: string } }) => Number(message.key);
  const send = createSendMessages({ logger, cluster, partitioner, eosManager, retrier });
  return { send, produced, sequences };
}

const messages = (partition: number, count: number) => Array.from({ length: count }, (_, i) => ({ key: String(partition), value: `p${partition}-${i}` }));

describe('kafkajs produce path (patched)', () => {
  it('sends each partition once to its leader when nothing fails', async () => {
    const { send, produced, sequences } = fakeCluster([1, 2], new Set(), [1, 2]);
    const result = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages: [...messages(0, 2), ...messages(1, 3)] }] });
    expect(result.map((r) => r.partition).sort()).toEqual([0, 1]);
    expect(produced.flatMap((p) => p.partitions.map((q) => `${p.broker}:${q.partition}x${q.count}`)).sort()).toEqual(['1:0x2', '2:1x3']);
    expect([...sequences]).toEqual(expect.arrayContaining([[0, 2], [1, 3]]));
  });

  it("resends a dead broker's partition to its new leader even when that broker already answered for its own", async () => {
    // Broker 1 dies with partition 0's request; partition 0 moves to broker 2, which has acknowledged partition 1.
    const { send, produced, sequences } = fakeCluster([1, 2], new Set([1]), [2, 2]);
    const result = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages: [...messages(0, 2), ...messages(1, 3)] }] });

    expect(result.map((r) => r.partition).sort()).toEqual([0, 1]);
    const sends = produced.flatMap((p) => p.partitions.map((q) => ({ broker: p.broker, ...q })));
    // Partition 0 reached its new leader with the sequence the lost request had (the broker dedups if it was stored).
    expect(sends).toContainEqual({ broker: 2, partition: 0, firstSequence: 0, count: 2 });
    // Partition 1, acknowledged on the first attempt, is not sent again (no duplicate in the log).
    expect(sends.filter((s) => s.partition === 1)).toHaveLength(1);
    expect([...sequences]).toEqual(expect.arrayContaining([[0, 2], [1, 3]]));
  });

  it('keeps the messages of a topic given twice in one batch', async () => {
    const { send, produced } = fakeCluster([1, 2], new Set(), [1, 2]);
    await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 't', messages: messages(0, 1) }, { topic: 't', messages: messages(0, 2) }] });
    expect(produced.flatMap((p) => p.partitions.map((q) => q.count))).toEqual([3]);
  });
});
