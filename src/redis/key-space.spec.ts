import { describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { RedisKeySpace } from './key-space.js';

describe('RedisKeySpace', () => {
  const single = new RedisKeySpace(false, 'payments:', 16);
  const cluster = new RedisKeySpace(true, 'payments:', 16);

  it('keeps the names of one server as they always were: nothing to migrate', () => {
    expect(single.key('idempotency', 'M-1', 'k')).toBe('idempotency:M-1:k');
    expect(single.key('fraud:first-seen', 'U-1')).toBe('fraud:first-seen:U-1');
    expect(single.inPart('payment', single.partOf('p-1'), 'p-1')).toBe('payment:p-1');
    expect(single.inPart('payments', '')).toBe('payments');
    expect(single.allParts()).toEqual(['']);
  });

  it('tags keys on a cluster, so that what one script touches hashes to one slot', () => {
    expect(cluster.key('idempotency', 'M-1', 'k')).toBe('idempotency:{M-1}:k');
    expect(cluster.slotOf(cluster.key('idempotency', 'M-1', 'k'))).toBe(cluster.slotOf(cluster.key('order', 'M-1', 'o')));
    const part = cluster.partOf('p-1');
    expect(cluster.inPart('payment', part, 'p-1')).toBe(`payment:{${part}}:p-1`);
    expect(cluster.slotOf(`payment:{${part}}:p-1:events`)).toBe(cluster.slotOf(`payments:{${part}}`));
    // A key without a tag hashes with the client's prefix, as the client sends it.
    expect(cluster.slotOf('ratelimit:ip:1')).toBe(calculateSlot('payments:ratelimit:ip:1'));
  });

  it("spreads the global stream's parts over equal ranges of slots, one part per range", () => {
    const parts = cluster.allParts();
    expect(new Set(parts).size).toBe(16);
    parts.forEach((part, i) => expect(Math.floor(calculateSlot(part) / 1024)).toBe(i));
    const used = new Set(Array.from({ length: 1000 }, (_, i) => cluster.partOf(`payment-${i}`)));
    expect(used.size).toBe(16);
  });

  it('calls once per slot on a cluster, each call with its items in order, and answers in the items\' order', async () => {
    const items = ['a:{x}:1', 'b:{y}:1', 'a:{x}:2', 'c:{z}:1', 'b:{y}:2'];
    const calls: string[][] = [];
    const results = await cluster.perSlot(items, (item) => item, async (group) => {
      calls.push(group);
      return group.map((item) => item.toUpperCase());
    });
    expect(results).toEqual(items.map((item) => item.toUpperCase()));
    expect(calls.sort()).toEqual([['a:{x}:1', 'a:{x}:2'], ['b:{y}:1', 'b:{y}:2'], ['c:{z}:1']].sort());

    const once: string[][] = [];
    await single.perSlot(items, (item) => item, async (group) => (once.push(group), group));
    expect(once).toEqual([items]);
  });

  it('on one server, answers what its one call answers, calls nothing for no items, and fails as its call does', async () => {
    const items = ['a:{x}:1', 'b:{y}:1'];
    const answer = ['A', 'B'];
    await expect(single.perSlot(items, (item) => item, async () => answer)).resolves.toEqual(answer);
    const calls: string[][] = [];
    await expect(single.perSlot([], (item: string) => item, async (group) => (calls.push(group), group))).resolves.toEqual([]);
    expect(calls).toEqual([]);
    const failure = new Error('Connection is closed.');
    await expect(single.perSlot(items, (item) => item, async () => Promise.reject(failure))).rejects.toBe(failure);
  });
});
