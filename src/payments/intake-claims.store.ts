import { Inject, Injectable } from '@nestjs/common';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RedisKeySpace } from '../redis/key-space.js';
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
 * then of each: max (0: no limit to count), key record ('' for none) and paymentId ('' to count the
 * rate only).
 *
 * On a Redis Cluster a request's keys must share a hash slot. Its key and order do (both carry the
 * merchant's tag), its rate key does not (it is @fastify/rate-limit's): there the rate is counted in
 * a first call per rate key's slot, and the claims of the requests under their limit in a second one
 * per merchant's slot.
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
  if not result and paymentId ~= '' and not redis.call('SET', orderKey, paymentId, 'EX', lease, 'NX') then
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

/** One request's share of a claim script call: three keys, three arguments. */
interface ClaimCall {
  keys: [string, string, string];
  args: [number, string, string];
}

/** The script's answer for one request: outcome, the rate count and window's time left, the order's holder. */
type ClaimResult = [IntakeClaim['kind'], number, number, string | null];

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
    @Inject(REDIS) redis: RedisClient,
    @Inject(INTAKE_SETTINGS) private readonly settings: IntakeSettings,
    private readonly keySpace: RedisKeySpace,
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
    const { max } = this.settings.rateLimit;
    const parts = requests.map((request) => this.claimParts(request));
    // A request whose rate key sits in another slot than its claims counts its rate first (cluster only).
    // Per slot, settled: a cluster master that is away fails only the requests whose keys it holds.
    const counted = parts.filter((p) => p.rate !== undefined);
    const rates = await this.keySpace.perSlotSettled(counted, (p) => p.rate!.keys[0], (group) => this.runClaims(group.map((p) => p.rate!)));
    const rateOf = new Map(counted.map((p, i) => [p, rates[i]]));
    const claimable = parts.filter((p) => rateOf.get(p) === undefined || (rateOf.get(p)!.status === 'fulfilled' && (rateOf.get(p) as PromiseFulfilledResult<ClaimResult>).value[0] !== 'rate_limited'));
    const claims = await this.keySpace.perSlotSettled(claimable, (p) => p.claim.keys[2], (group) => this.runClaims(group.map((p) => p.claim)));
    const claimOf = new Map(claimable.map((p, i) => [p, claims[i]]));
    return parts.map((p, i): PromiseSettledResult<IntakeClaim> => {
      const rated = rateOf.get(p);
      if (rated?.status === 'rejected') return rated;
      const claimed = claimOf.get(p);
      if (claimed?.status === 'rejected') return claimed;
      const counting = rated?.value;
      const [kind, current, ttl, holder] = counting?.[0] === 'rate_limited' ? counting : claimed!.value;
      const [, rateCurrent, rateTtl] = counting ?? [kind, current, ttl];
      const rate = requests[i].rateLimitKey !== undefined ? { limit: max, remaining: Math.max(0, max - rateCurrent), resetMs: Math.max(0, rateTtl) } : undefined;
      if (kind === 'rate_limited') return { status: 'fulfilled', value: { kind, rate: rate! } };
      if (kind === 'order_taken') return { status: 'fulfilled', value: { kind, rate, holder: holder ?? '' } };
      return { status: 'fulfilled', value: { kind, rate } };
    });
  }

  /**
   * A request's keys and arguments for the claim script: one part when its keys share a slot (always
   * on one server), else the rate count on its own (`rate`) and the claims without it.
   */
  private claimParts(request: IntakeClaimRequest): { claim: ClaimCall; rate?: ClaimCall } {
    const { max } = this.settings.rateLimit;
    const orderKey = this.orders.keyOf(request.merchantId, request.orderId);
    const idempotencyKey = request.idempotency ? this.idempotency.keyOf(request.idempotency.merchantId, request.idempotency.key) : orderKey;
    const record = request.idempotency ? this.idempotency.claimRecord(request.idempotency.fingerprint) : '';
    // Unused keys still name something of the request's own: a script declares every key it may touch.
    if (request.rateLimitKey === undefined) return { claim: { keys: [orderKey, idempotencyKey, orderKey], args: [0, record, request.paymentId] } };
    const rateKey = `ratelimit:${request.rateLimitKey}`;
    if (this.keySpace.slotOf(rateKey) === this.keySpace.slotOf(orderKey)) {
      return { claim: { keys: [rateKey, idempotencyKey, orderKey], args: [max, record, request.paymentId] } };
    }
    return {
      rate: { keys: [rateKey, rateKey, rateKey], args: [max, '', ''] },
      claim: { keys: [orderKey, idempotencyKey, orderKey], args: [0, record, request.paymentId] },
    };
  }

  private async runClaims(calls: ClaimCall[]): Promise<ClaimResult[]> {
    const args: (string | number)[] = [this.settings.rateLimit.windowMs, CLAIM_LEASE_SECONDS];
    const keys = calls.flatMap((c) => c.keys);
    for (const c of calls) args.push(...c.args);
    return (await this.claimAll(keys.length, ...keys, ...args)) as ClaimResult[];
  }

  /** The orders' confirmations with the keys' answers in one script, and the PENDING appends in another, in one turn. */
  private async settleTogether(accepted: AcceptedIntake[]): Promise<PromiseSettledResult<SettledIntake>[]> {
    const [confirmed, appended] = await Promise.all([
      this.keySpace.perSlotSettled(accepted, (a) => this.orders.keyOf(a.merchantId, a.orderId), (group) => this.settleGroup(group)),
      this.state.appendAll(accepted.map((a) => a.pending)).then(
        () => undefined,
        (error: Error) => error,
      ),
    ]);
    return accepted.map((_, i) => {
      const settled = confirmed[i];
      const error = settled.status === 'rejected' ? (settled.reason as Error) : appended;
      return { status: 'fulfilled', value: { orderKept: settled.status === 'fulfilled' && settled.value === 1, ...(error && { error }) } };
    });
  }

  /** One settle call for requests whose keys share a slot (all of them on one server). */
  private async settleGroup(accepted: AcceptedIntake[]): Promise<number[]> {
    const keys: string[] = [];
    const args: (string | number)[] = [this.settings.stateRetentionSeconds, this.settings.idempotencyTtlSeconds];
    for (const a of accepted) {
      const orderKey = this.orders.keyOf(a.merchantId, a.orderId);
      const key = a.idempotency;
      keys.push(orderKey, key ? this.idempotency.keyOf(key.merchantId, key.key) : orderKey);
      args.push(a.paymentId, key ? this.idempotency.answerRecord(key.fingerprint, key.response) : '');
    }
    return (await this.settleAll(keys.length, ...keys, ...args)) as number[];
  }
}
