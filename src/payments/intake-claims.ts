import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS } from '../redis/redis.module.js';
import { CLAIM_LEASE_SECONDS, IdempotencyStore } from './idempotency.store.js';
import { OrderRegistry } from './order-registry.js';

/** The caller's rate-limit window after this request counted. */
export interface RateState {
  limit: number;
  remaining: number;
  /** Milliseconds until the window starts again. */
  resetMs: number;
}

export type IntakeClaim =
  | { kind: 'claimed'; rate?: RateState }
  | { kind: 'rate_limited'; rate: RateState }
  /** The Idempotency-Key has a record (another request's claim, or its answer): IdempotencyStore decides. */
  | { kind: 'idempotency_taken'; rate?: RateState }
  /** The order is held by another payment (named): the intake decides whether it may take it over. */
  | { kind: 'order_taken'; rate?: RateState; holder: string };

export interface IntakeClaimRequest {
  /** The caller's rate-limit bucket (its API key, or its IP while the API is open); none when limits are off. */
  rateLimitKey?: string;
  idempotency?: { merchantId: string; key: string; fingerprint: string };
  merchantId: string;
  orderId: string;
  paymentId: string;
}

/**
 * The intake's first round trip, in one script: count the caller's rate limit (the algorithm and keys
 * of @fastify/rate-limit's Redis store, so one budget spans every route), claim the Idempotency-Key,
 * claim the order. Each step runs only if the one before passed; both claims are short leases until the
 * payment is durably published (IdempotencyStore, OrderRegistry). The rare paths (a key or order in
 * use) go on through those stores.
 */
const CLAIM_SCRIPT = `
local max, windowMs, keyRecord, lease, paymentId = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local current, ttl = 0, 0
if max > 0 then
  current = redis.call('INCR', KEYS[1])
  if current == 1 then
    redis.call('PEXPIRE', KEYS[1], windowMs)
    ttl = windowMs
  else
    ttl = redis.call('PTTL', KEYS[1])
  end
  if current > max then return { 'rate_limited', current, ttl } end
end
if keyRecord ~= '' and not redis.call('SET', KEYS[2], keyRecord, 'EX', lease, 'NX') then
  return { 'idempotency_taken', current, ttl }
end
if not redis.call('SET', KEYS[3], paymentId, 'EX', lease, 'NX') then
  return { 'order_taken', current, ttl, redis.call('GET', KEYS[3]) }
end
return { 'claimed', current, ttl }
`;

@Injectable()
export class IntakeClaims {
  private readonly claimAll: LuaCommand;

  constructor(
    @Inject(REDIS) redis: Redis,
    private readonly config: AppConfig,
    private readonly idempotency: IdempotencyStore,
    private readonly orders: OrderRegistry,
  ) {
    this.claimAll = luaCommand(redis, 'intakeClaim', 3, CLAIM_SCRIPT);
  }

  async claim(request: IntakeClaimRequest): Promise<IntakeClaim> {
    const { max, windowMs } = this.config.security.rateLimit;
    const limited = request.rateLimitKey !== undefined;
    const keyRecord = request.idempotency ? this.idempotency.claimRecord(request.idempotency.fingerprint) : '';
    const [kind, current, ttl, holder] = (await this.claimAll(
      // Unused keys still name something of the request's own: a script declares every key it may touch.
      limited ? `ratelimit:${request.rateLimitKey}` : this.orders.keyOf(request.merchantId, request.orderId),
      request.idempotency ? this.idempotency.keyOf(request.idempotency.merchantId, request.idempotency.key) : this.orders.keyOf(request.merchantId, request.orderId),
      this.orders.keyOf(request.merchantId, request.orderId),
      limited ? max : 0,
      windowMs,
      keyRecord,
      CLAIM_LEASE_SECONDS,
      request.paymentId,
    )) as [IntakeClaim['kind'], number, number, string | null];
    const rate = limited ? { limit: max, remaining: Math.max(0, max - current), resetMs: Math.max(0, ttl) } : undefined;
    switch (kind) {
      case 'rate_limited':
        return { kind, rate: rate! };
      case 'order_taken':
        return { kind, rate, holder: holder ?? '' };
      default:
        return { kind, rate };
    }
  }
}
