import type { KafkaMessage } from 'kafkajs';

/**
 * The messages of one partition's batch split into lanes by key (the payer's userId), each lane in
 * offset order. Lanes may run at once: only one payer's events need each other's order, and a
 * payer's events are always in one lane.
 */
export function lanesByKey(messages: KafkaMessage[]): KafkaMessage[][] {
  const lanes = new Map<string, KafkaMessage[]>();
  for (const message of messages) {
    const key = message.key?.toString() ?? '';
    const lane = lanes.get(key);
    if (lane) lane.push(message);
    else lanes.set(key, [message]);
  }
  return [...lanes.values()];
}

/**
 * Offsets that may be committed: the unbroken run of handled messages from the start of the batch.
 * A Kafka offset is one position per partition, so a message left unhandled (a rebalance stopped the
 * batch) must be delivered again together with everything after it.
 */
export function committableOffsets(messages: KafkaMessage[], handled: ReadonlySet<string>): string[] {
  const offsets: string[] = [];
  for (const message of messages) {
    if (!handled.has(message.offset)) break;
    offsets.push(message.offset);
  }
  return offsets;
}

/** A partition's batch in chunks of at most `size` messages, in offset order (STAGE_BATCH_MAX_RECORDS). */
export function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Runs work over items with at most `limit` at once; waits for all, then throws the first failure. */
export async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
