import calculateSlot from 'cluster-key-slot';
import type { AppConfig } from '../config/app-config.js';

/** Redis Cluster's hash slots. */
const SLOTS = 16384;

/**
 * How the project's Redis keys are laid out. On one server, names are the ones the project always
 * had (nothing to migrate). On a cluster, a key carries a hash tag (`{…}`) naming what it belongs to,
 * so that every key one script touches hashes to one slot; the stores then split a batch into one
 * script call per slot (`perSlot`). What the tag is, is each store's choice: the merchant for the
 * intake's claims, the payer for the fraud windows, a part of the global stream for payments' states.
 */
export class RedisKeySpace {
  /** The tags of the global stream's parts on a cluster, one per equal range of slots. */
  private readonly parts: string[];

  constructor(
    readonly clustered: boolean,
    /** Prefixed to every key by the client (ioredis' keyPrefix): it decides the slot of a key without a tag. */
    private readonly keyPrefix: string,
    streamParts: number,
  ) {
    this.parts = clustered ? spreadTags(streamParts) : [];
  }

  /** The layout that fits the deployment's client (createRedisClient): a cluster's with REDIS_CLUSTER_NODES. */
  static of(config: AppConfig): RedisKeySpace {
    return new RedisKeySpace(config.redis.clusterNodes !== undefined, config.redis.keyPrefix, config.redis.clusterStreamParts);
  }

  /** `head:tag:rest`, the tag in braces on a cluster: `idempotency:{M-1}:k` there, `idempotency:M-1:k` here. */
  key(head: string, tag: string, rest?: string): string {
    const owner = this.clustered ? `{${tag}}` : tag;
    return rest === undefined ? `${head}:${owner}` : `${head}:${owner}:${rest}`;
  }

  /** `head:rest` on one server; `head:{part}:rest` on a cluster (a part of the global stream, `partOf`). */
  inPart(head: string, part: string, rest?: string): string {
    const name = part === '' ? head : `${head}:{${part}}`;
    return rest === undefined ? name : `${name}:${rest}`;
  }

  /** The hash slot of a key as the client sends it (0 for every key on one server). */
  slotOf(key: string): number {
    return this.clustered ? calculateSlot(this.keyPrefix + key) : 0;
  }

  /**
   * The part of the global stream a payment's steps go to, whose tag its own keys carry (so one script
   * appends to both); '' on one server, which has a single stream.
   */
  partOf(paymentId: string): string {
    return this.clustered ? this.parts[calculateSlot(paymentId) % this.parts.length] : '';
  }

  /** Every part's tag ('' alone on one server). */
  allParts(): string[] {
    return this.clustered ? [...this.parts] : [''];
  }

  /**
   * Runs `call` once per hash slot of the items (the slot of `keyOf(item)`; once for all on one
   * server; never for no items), the calls concurrently, and returns the results in the items' order.
   * Each call gets its items in their order, so a payer's or a payment's steps keep theirs.
   */
  async perSlot<T, R>(items: T[], keyOf: (item: T) => string, call: (group: T[]) => Promise<R[]>): Promise<R[]> {
    // One server has one slot: no grouping, and no settled result per item to unwrap, on every hot-path call.
    if (!this.clustered) return items.length === 0 ? [] : call(items);
    return (await this.perSlotSettled(items, keyOf, call)).map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
  }

  /**
   * perSlot, one result per item: a call that fails fails its own slot's items only, so a cluster
   * master that is away does not fail the requests whose keys live on the others.
   */
  async perSlotSettled<T, R>(items: T[], keyOf: (item: T) => string, call: (group: T[]) => Promise<R[]>): Promise<PromiseSettledResult<R>[]> {
    if (items.length === 0) return [];
    const groups = new Map<number, number[]>();
    items.forEach((item, i) => {
      const slot = this.slotOf(keyOf(item));
      const group = groups.get(slot);
      if (group) group.push(i);
      else groups.set(slot, [i]);
    });
    const results = new Array<PromiseSettledResult<R>>(items.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        try {
          const groupResults = await call(indexes.map((i) => items[i]));
          indexes.forEach((itemIndex, j) => (results[itemIndex] = { status: 'fulfilled', value: groupResults[j] }));
        } catch (reason) {
          for (const itemIndex of indexes) results[itemIndex] = { status: 'rejected', reason };
        }
      }),
    );
    return results;
  }
}

/**
 * `count` tags, the i-th hashing into the i-th of `count` equal ranges of slots: a cluster made by
 * `redis-cli --cluster create` gives each master equal ranges, so the parts spread evenly over the
 * masters (16 plain tags `p0`…`p15` fell 4/5/7 on three).
 */
function spreadTags(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const low = Math.floor((i * SLOTS) / count);
    const high = Math.floor(((i + 1) * SLOTS) / count);
    for (let n = 0; ; n++) {
      const tag = `p${i}.${n}`;
      const slot = calculateSlot(tag);
      if (slot >= low && slot < high) return tag;
    }
  });
}
