import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS } from '../redis/redis.module.js';
import { Coalescer } from '../batching/coalescer.js';
import type { StateTransition } from '../pipeline/payment-view.js';
import { PaymentView } from '../pipeline/ports.js';
import { CLAIM_LEASE_SECONDS, IdempotencyStore, type StoredResponse } from './idempotency.store.js';
import { OrderRegistry } from './order-registry.store.js';

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
 * The intake's first round trip, in one script for every request that arrives together (group
 * commit, as the producer does): per request, count the caller's rate limit (the algorithm and keys of
 * @fastify/rate-limit's Redis store, so one budget spans every route), claim the Idempotency-Key,
 * claim the order, each step only if the one before passed. Both claims are short leases until the
 * payment is durably published (IdempotencyStore, OrderRegistry). The rare paths (a key or an order
 * in use) go on through those stores. KEYS: rate, key and order of each request; ARGV: window, lease,
 * then max, key record and paymentId of each.
 */
const CLAIM_SCRIPT = `
local windowMs, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local results = {}
for r = 1, #KEYS / 3 do
  local rateKey, keyKey, orderKey = KEYS[r * 3 - 2], KEYS[r * 3 - 1], KEYS[r * 3]
  local max, keyRecord, paymentId = tonumber(ARGV[r * 3]), ARGV[r * 3 + 1], ARGV[r * 3 + 2]
  local current, ttl, result = 0, 0, nil
  if max > 0 then
    current = redis.call('INCR', rateKey)
    if current == 1 then
      redis.call('PEXPIRE', rateKey, windowMs)
      ttl = windowMs
    else
      ttl = redis.call('PTTL', rateKey)
    end
    if current > max then result = { 'rate_limited', current, ttl } end
  end
  if not result and keyRecord ~= '' and not redis.call('SET', keyKey, keyRecord, 'EX', lease, 'NX') then
    result = { 'idempotency_taken', current, ttl }
  end
  if not result and not redis.call('SET', orderKey, paymentId, 'EX', lease, 'NX') then
    result = { 'order_taken', current, ttl, redis.call('GET', orderKey) }
  end
  results[r] = result or { 'claimed', current, ttl }
end
return results
`;

/**
 * The intake's second round trip, after Kafka acknowledged the events, for every request that got there
 * together: each order stays claimed for the retention if its payment still holds it (1, else 0), and
 * each Idempotency-Key gets its answer for the key's TTL. KEYS: order and key (the order again when
 * there is none) of each; ARGV: retention, key TTL, then paymentId and answer ('' for none) of each.
 */
const SETTLE_SCRIPT = `
local retention, keyTtl = tonumber(ARGV[1]), tonumber(ARGV[2])
local kept = {}
for r = 1, #KEYS / 2 do
  local orderKey, keyKey, paymentId, answer = KEYS[r * 2 - 1], KEYS[r * 2], ARGV[r * 2 + 1], ARGV[r * 2 + 2]
  if redis.call('GET', orderKey) == paymentId then
    redis.call('EXPIRE', orderKey, retention)
    kept[r] = 1
  else
    kept[r] = 0
  end
  if answer ~= '' then redis.call('SET', keyKey, answer, 'EX', keyTtl) end
end
return kept
`;

/** What the intake records once a payment's event is durably in Kafka. */
export interface AcceptedIntake {
  merchantId: string;
  orderId: string;
  paymentId: string;
  /** The PENDING transition for the Redis view. */
  pending: StateTransition;
  /** The Idempotency-Key and the answer it replays from now on. */
  idempotency?: { merchantId: string; key: string; fingerprint: string; response: StoredResponse };
}

/** How the second round trip went: a lost order claim or a Redis error only needs a log line (Kafka holds the payment). */
export interface SettledIntake {
  orderKept: boolean;
  error?: Error;
}

@Injectable()
export class IntakeClaims {
  private readonly claimAll: LuaCommand;
  private readonly settleAll: LuaCommand;
  private readonly claims: Coalescer<IntakeClaimRequest, IntakeClaim>;
  private readonly settlements: Coalescer<AcceptedIntake, SettledIntake>;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(INTAKE_SETTINGS) private readonly settings: IntakeSettings,
    private readonly idempotency: IdempotencyStore,
    private readonly orders: OrderRegistry,
    private readonly state: PaymentView,
  ) {
    this.claimAll = luaCommand(redis, 'intakeClaimAll', 'dynamic', CLAIM_SCRIPT);
    this.settleAll = luaCommand(redis, 'intakeSettleAll', 'dynamic', SETTLE_SCRIPT);
    // A few hundred requests at most share a call: the script runs them one after another in Redis.
    this.claims = new Coalescer({ maxBatchSize: 256, lingerMs: 0, run: (requests) => this.claimTogether(requests) });
    this.settlements = new Coalescer({ maxBatchSize: 256, lingerMs: 0, run: (accepted) => this.settleTogether(accepted) });
  }

  /** Counts the rate limit and claims the key and the order (one script call shared with concurrent requests). */
  claim(request: IntakeClaimRequest): Promise<IntakeClaim> {
    return this.claims.submit(request);
  }

  /** Confirms the order, stores the key's answer and appends PENDING (one round trip shared with concurrent requests). */
  settle(accepted: AcceptedIntake): Promise<SettledIntake> {
    return this.settlements.submit(accepted);
  }

  private async claimTogether(requests: IntakeClaimRequest[]): Promise<PromiseSettledResult<IntakeClaim>[]> {
    const { max, windowMs } = this.settings.rateLimit;
    const keys: string[] = [];
    const args: (string | number)[] = [windowMs, CLAIM_LEASE_SECONDS];
    for (const request of requests) {
      const orderKey = this.orders.keyOf(request.merchantId, request.orderId);
      // Unused keys still name something of the request's own: a script declares every key it may touch.
      keys.push(
        request.rateLimitKey !== undefined ? `ratelimit:${request.rateLimitKey}` : orderKey,
        request.idempotency ? this.idempotency.keyOf(request.idempotency.merchantId, request.idempotency.key) : orderKey,
        orderKey,
      );
      args.push(request.rateLimitKey !== undefined ? max : 0, request.idempotency ? this.idempotency.claimRecord(request.idempotency.fingerprint) : '', request.paymentId);
    }
    const results = (await this.claimAll(keys.length, ...keys, ...args)) as [IntakeClaim['kind'], number, number, string | null][];
    return results.map(([kind, current, ttl, holder], i): PromiseSettledResult<IntakeClaim> => {
      const rate = requests[i].rateLimitKey !== undefined ? { limit: max, remaining: Math.max(0, max - current), resetMs: Math.max(0, ttl) } : undefined;
      if (kind === 'rate_limited') return { status: 'fulfilled', value: { kind, rate: rate! } };
      if (kind === 'order_taken') return { status: 'fulfilled', value: { kind, rate, holder: holder ?? '' } };
      return { status: 'fulfilled', value: { kind, rate } };
    });
  }

  /** The orders' confirmations with the keys' answers in one script, and the PENDING appends in another, in one turn. */
  private async settleTogether(accepted: AcceptedIntake[]): Promise<PromiseSettledResult<SettledIntake>[]> {
    const keys: string[] = [];
    const args: (string | number)[] = [this.settings.stateRetentionSeconds, this.settings.idempotencyTtlSeconds];
    for (const a of accepted) {
      const orderKey = this.orders.keyOf(a.merchantId, a.orderId);
      const key = a.idempotency;
      keys.push(orderKey, key ? this.idempotency.keyOf(key.merchantId, key.key) : orderKey);
      args.push(a.paymentId, key ? this.idempotency.answerRecord(key.fingerprint, key.response) : '');
    }
    const [confirmed, appended] = await Promise.allSettled([
      this.settleAll(keys.length, ...keys, ...args) as Promise<number[]>,
      this.state.appendAll(accepted.map((a) => a.pending)),
    ]);
    const error = [confirmed, appended].find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as Error | undefined;
    return accepted.map((_, i) => ({
      status: 'fulfilled',
      value: { orderKept: confirmed.status === 'fulfilled' && confirmed.value[i] === 1, ...(error && { error }) },
    }));
  }
}
