import { Inject, Injectable } from '@nestjs/common';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RedisKeySpace } from '../redis/key-space.js';
import { CLAIM_LEASE_SECONDS } from './idempotency.store.js';

export type OrderClaim = { kind: 'claimed' } | { kind: 'taken'; paymentId: string };

/**
 * One live payment per (merchant, order) at the front door: the first request claims the order
 * atomically in Redis. This is the fast guard; the ledger's unique index is the final one, so an order
 * is never completed twice even if Redis forgets a claim. A claim is a short lease until the payment is
 * on Kafka (IntakeClaims claims and confirms on the common path; these are the rare ones), so a request
 * that dies in between does not block the order for the retention.
 */
@Injectable()
export class OrderRegistry {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly keySpace: RedisKeySpace,
  ) {}

  async claim(merchantId: string, orderId: string, paymentId: string): Promise<OrderClaim> {
    const key = this.keyOf(merchantId, orderId);
    const created = await this.redis.set(key, paymentId, 'EX', CLAIM_LEASE_SECONDS, 'NX');
    if (created === 'OK') return { kind: 'claimed' };
    const holder = await this.redis.get(key);
    if (holder === null) return this.claim(merchantId, orderId, paymentId);
    return { kind: 'taken', paymentId: holder };
  }

  /**
   * Moves the order from one payment to another (from one that ended without taking money, or from a
   * lease the request itself took under another paymentId); false if someone else did first. Held for
   * `seconds`: the claim lease, or the retention for a payment that completed.
   */
  async takeOver(merchantId: string, orderId: string, fromPaymentId: string, toPaymentId: string, seconds = CLAIM_LEASE_SECONDS): Promise<boolean> {
    const swapped = await this.redis.eval(COMPARE_AND_SET, 1, this.keyOf(merchantId, orderId), fromPaymentId, toPaymentId, seconds);
    return swapped === 1;
  }

  /** Gives the order back when its payment was never accepted. */
  async release(merchantId: string, orderId: string, paymentId: string): Promise<void> {
    await this.redis.eval(COMPARE_AND_DELETE, 1, this.keyOf(merchantId, orderId), paymentId);
  }

  /**
   * The merchant part is URI-encoded (":" becomes %3A; ids without ":" keep their old key): otherwise
   * merchant `a` with order `b:c` would claim merchant `a:b`'s order `c`.
   */
  keyOf(merchantId: string, orderId: string): string {
    return this.keySpace.key('order', encodeURIComponent(merchantId), orderId);
  }
}

const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
`;

const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
