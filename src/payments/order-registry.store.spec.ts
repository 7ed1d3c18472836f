import { describe, expect, it } from '@jest/globals';
import { fakeRedis } from '../../test/support/fake-redis.js';
import { OrderRegistry } from './order-registry.store.js';
import { RedisKeySpace } from '../redis/key-space.js';

const keys = new RedisKeySpace(false, 'payments:', 1);

/* The registry's TypeScript side with Redis faked; its scripts run against a real Redis in the e2e suites. */

describe('OrderRegistry (Redis faked)', () => {
  it('claims a free order with a lease, and names the payment holding a taken one', async () => {
    const free = new OrderRegistry(fakeRedis({}, { set: () => 'OK' }).redis, keys);
    expect(await free.claim('M-1', 'O-1', 'p-1')).toEqual({ kind: 'claimed' });
    const held = new OrderRegistry(fakeRedis({}, { set: () => null, get: () => 'p-0' }).redis, keys);
    expect(await held.claim('M-1', 'O-1', 'p-1')).toEqual({ kind: 'taken', paymentId: 'p-0' });
  });

  it('tries again when the holder vanished between the claim and the read', async () => {
    const answers = [null, 'OK'];
    const { redis, calls } = fakeRedis({}, { set: () => answers.shift(), get: () => null });
    expect(await new OrderRegistry(redis, keys).claim('M-1', 'O-1', 'p-1')).toEqual({ kind: 'claimed' });
    expect(calls.filter((c) => c.startsWith('set'))).toHaveLength(2);
  });

  it('on a Redis Cluster, tags the order with its merchant, as the merchant\'s Idempotency-Keys are', () => {
    const clustered = new RedisKeySpace(true, 'payments:', 16);
    expect(new OrderRegistry(fakeRedis().redis, clustered).keyOf('M:1', 'O-1')).toBe('order:{M%3A1}:O-1');
    expect(new OrderRegistry(fakeRedis().redis, keys).keyOf('M:1', 'O-1')).toBe('order:M%3A1:O-1');
  });

  it('takes over only from the named payment, for the given time', async () => {
    const { redis, calls } = fakeRedis({}, { eval: () => 1 });
    expect(await new OrderRegistry(redis, keys).takeOver('M-1', 'O-1', 'p-0', 'p-1', 600)).toBe(true);
    expect(calls[0]).toMatch(/^eval [\s\S]*GET[\s\S]* 1 order:M-1:O-1 p-0 p-1 600$/);
    const lost = new OrderRegistry(fakeRedis({}, { eval: () => 0 }).redis, keys);
    expect(await lost.takeOver('M-1', 'O-1', 'p-0', 'p-1')).toBe(false);
  });
});
