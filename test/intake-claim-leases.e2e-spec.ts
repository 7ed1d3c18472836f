import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { CLAIM_LEASE_SECONDS, IdempotencyStore } from '../src/payments/idempotency.store.js';
import { IntakeClaims, type AcceptedIntake } from '../src/payments/intake-claims.store.js';
import { OrderRegistry } from '../src/payments/order-registry.store.js';
import { intakeSettingsOf } from '../src/payments/intake-settings.js';
import { PaymentStateStore } from '../src/state/payment-state.store.js';
import { stateSettingsOf } from '../src/state/state-settings.js';
import { RedisKeySpace } from '../src/redis/key-space.js';
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

  /** What the intake records once Kafka acknowledged a payment (the second round trip). */
  const settle = (store: IdempotencyStore, orders: OrderRegistry, accepted: Partial<AcceptedIntake> & Pick<AcceptedIntake, 'orderId' | 'paymentId'>) =>
    new IntakeClaims(redis, intakeSettingsOf(config), RedisKeySpace.of(config), store, orders, new PaymentStateStore(redis, stateSettingsOf(config), RedisKeySpace.of(config))).settle({
      merchantId: 'MERCHANT-001',
      pending: {
        eventId: randomUUID(),
        status: 'PENDING',
        stage: 'intake',
        at: new Date().toISOString(),
        payment: { paymentId: accepted.paymentId, orderId: accepted.orderId, userId: 'U', merchantId: 'MERCHANT-001', amount: '1.00', currency: 'USD', createdAt: new Date().toISOString() },
      },
      ...accepted,
    });

  it('should let an unfinished Idempotency-Key claim lapse within its 30 s lease, and keep a finished one for the TTL', async () => {
    const store = new IdempotencyStore(redis, intakeSettingsOf(config), RedisKeySpace.of(config));
    const key = `lease-${randomUUID()}`;
    expect(await store.claim('MERCHANT-001', key, 'fingerprint', 100)).toEqual({ kind: 'claimed' });
    const unfinished = await redis.ttl(`idempotency:MERCHANT-001:${key}`);
    expect(unfinished).toBeGreaterThan(0);
    expect(CLAIM_LEASE_SECONDS).toBe(30); // what README and RELIABILITY promise
    expect(unfinished).toBeLessThanOrEqual(CLAIM_LEASE_SECONDS);

    const response = { statusCode: 202, headers: {}, body: {} };
    await settle(store, new OrderRegistry(redis, RedisKeySpace.of(config)), { orderId: `LEASE-${randomUUID()}`, paymentId: randomUUID(), idempotency: { merchantId: 'MERCHANT-001', key, fingerprint: 'fingerprint', response } });
    expect(await redis.ttl(`idempotency:MERCHANT-001:${key}`)).toBeGreaterThan(config.payments.idempotencyTtlSeconds - 5);
  });

  it('should let an order claim lapse within its 30 s lease until its payment is published, then hold it for the retention', async () => {
    const orders = new OrderRegistry(redis, RedisKeySpace.of(config));
    const orderId = `LEASE-${randomUUID()}`;
    const paymentId = randomUUID();
    expect(await orders.claim('MERCHANT-001', orderId, paymentId)).toEqual({ kind: 'claimed' });
    const unpublished = await redis.ttl(`order:MERCHANT-001:${orderId}`);
    expect(unpublished).toBeGreaterThan(0);
    expect(unpublished).toBeLessThanOrEqual(CLAIM_LEASE_SECONDS);

    const store = new IdempotencyStore(redis, intakeSettingsOf(config), RedisKeySpace.of(config));
    expect(await settle(store, orders, { orderId, paymentId })).toEqual({ orderKept: true });
    expect(await redis.ttl(`order:MERCHANT-001:${orderId}`)).toBeGreaterThan(config.payments.stateRetentionSeconds - 5);
    // Only the payment that holds the order can confirm it.
    expect(await settle(store, orders, { orderId, paymentId: randomUUID() })).toEqual({ orderKept: false });
    expect(await redis.get(`order:MERCHANT-001:${orderId}`)).toBe(paymentId);
  });
});
