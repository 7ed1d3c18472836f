import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from '../src/redis/redis.module.js';

/**
 * The full names of the keys matching a pattern (SCAN MATCH, the client's keyPrefix not added): on a
 * Redis Cluster, every master's, since SCAN walks one node.
 */
export async function scanKeys(client: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of nodesOf(client)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

/** Deletes the keys matching a pattern (full names, as scanKeys); one UNLINK per hash slot on a cluster. */
export async function unlinkKeys(client: RedisClient, pattern: string): Promise<number> {
  let removed = 0;
  for (const node of nodesOf(client)) {
    // The client adds its keyPrefix to what it sends (a cluster's nodes have none): scanned names carry it already.
    const prefix = node.options.keyPrefix ?? '';
    const groups = new Map<number, string[]>();
    for (const key of await scanKeys(node, pattern)) {
      const slot = client instanceof Cluster ? calculateSlot(key) : 0;
      const name = key.startsWith(prefix) ? key.slice(prefix.length) : key;
      const group = groups.get(slot);
      if (group) group.push(name);
      else groups.set(slot, [name]);
    }
    for (const keys of groups.values()) {
      for (let i = 0; i < keys.length; i += 500) removed += await node.unlink(...keys.slice(i, i + 500));
    }
  }
  return removed;
}

/** The servers to walk: one, or a cluster's masters. */
function nodesOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Bytes of memory Redis uses (INFO memory): every master's together on a cluster. */
export async function usedMemoryBytes(client: RedisClient): Promise<number> {
  let total = 0;
  for (const node of nodesOf(client)) total += Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1] ?? 0);
  return total;
}
