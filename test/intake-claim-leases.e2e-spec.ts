import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CLAIM_LEASE_SECONDS, IdempotencyStore } from '../src/payments/idempotency.store.js';
import { OrderRegistry } from '../src/payments/order-registry.js';
import { testConfig } from './support/test-config.js';

/**
 * A request that dies between claiming and finishing (kill -9 of the app, found by `npm run chaos`)
 * leaves its claims in Redis. They must lapse soon, or a client's retry with the same Idempotency-Key is
 * told "in progress" for a day and the order cannot be paid for a week.
 */
describe('intake claims of a crashed request (real Redis)', () => {
  const config = testConfig();
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis({ host: config.redis.host, port: config.redis.port, keyPrefix: config.redis.keyPrefix, lazyConnect: true });
    await redis.connect();
  });

  afterAll(() => redis.disconnect());

  it('should let an unfinished Idempotency-Key claim lapse within its 30 s lease, and keep a finished one for the TTL', async () => {
    const store = new IdempotencyStore(redis, config);
    const key = `lease-${randomUUID()}`;
    expect(await store.claim('MERCHANT-001', key, 'fingerprint', 100)).toEqual({ kind: 'claimed' });
    const unfinished = await redis.ttl(`idempotency:MERCHANT-001:${key}`);
    expect(unfinished).toBeGreaterThan(0);
    expect(CLAIM_LEASE_SECONDS).toBe(30); // what README and RELIABILITY promise
    expect(unfinished).toBeLessThanOrEqual(CLAIM_LEASE_SECONDS);

    await store.complete('MERCHANT-001', key, 'fingerprint', { statusCode: 202, headers: {}, body: {} });
    expect(await redis.ttl(`idempotency:MERCHANT-001:${key}`)).toBeGreaterThan(config.payments.idempotencyTtlSeconds - 5);
  });

  it('should let an order claim lapse within its 30 s lease until its payment is published, then hold it for the retention', async () => {
    const orders = new OrderRegistry(redis, config);
    const orderId = `LEASE-${randomUUID()}`;
    const paymentId = randomUUID();
    expect(await orders.claim('MERCHANT-001', orderId, paymentId)).toEqual({ kind: 'claimed' });
    const unpublished = await redis.ttl(`order:MERCHANT-001:${orderId}`);
    expect(unpublished).toBeGreaterThan(0);
    expect(unpublished).toBeLessThanOrEqual(CLAIM_LEASE_SECONDS);

    await orders.confirm('MERCHANT-001', orderId, paymentId);
    expect(await redis.ttl(`order:MERCHANT-001:${orderId}`)).toBeGreaterThan(config.payments.stateRetentionSeconds - 5);
    // Only the payment that holds the order can confirm it.
    await orders.confirm('MERCHANT-001', orderId, randomUUID());
    expect(await redis.get(`order:MERCHANT-001:${orderId}`)).toBe(paymentId);
  });
});
