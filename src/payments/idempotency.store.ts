import { Inject, Injectable } from '@nestjs/common';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { luaCommand, type LuaCommand } from '../redis/lua-command.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RedisKeySpace } from '../redis/key-space.js';

/**
 * How long a claim (of an Idempotency-Key, or of an order) outlives a request that never finished, e.g.
 * because its process was killed. Far longer than a request may take (KAFKA_PUBLISH_TIMEOUT_MS is at
 * most 5 s), short enough that a client's retry soon runs again instead of waiting for the full TTL.
 */
export const CLAIM_LEASE_SECONDS = 30;

/** The response a key is bound to, replayed verbatim for a retry with the same key and body. */
export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

export type IdempotencyClaim =
  /**
   * This request holds the key now. `attempt`: the key's attempts so far ended abandoned (503s), and
   * this request pays as the next one; none when Redis had no record (PostgreSQL may know the key).
   */
  | { kind: 'claimed'; attempt?: number }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/**
 * What Redis holds for a key: a request's claim (in progress), its answer, or the last attempt the
 * intake abandoned (its publish was not confirmed and it answered 503).
 */
type KeyRecord = { fingerprint: string; response?: StoredResponse } | { abandonedAttempt: number };

/**
 * Stripe-style idempotency keys in Redis, scoped per merchant (each merchant has its own key space,
 * so two merchants, or two keys of different merchants, can never collide or replay each other's
 * answer). The first request with a key claims it atomically (SET NX); a retry with the same body gets
 * the stored response, one with another body is refused, and one that arrives while the first is still
 * running waits for it. This is the fast copy: the key also decides the paymentId, and PostgreSQL
 * remembers what Redis forgets (IdempotencyRecall).
 */
@Injectable()
export class IdempotencyStore {
  private readonly claimOnce: LuaCommand;
  private readonly abandonClaim: LuaCommand;
  private readonly releaseClaim: LuaCommand;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(INTAKE_SETTINGS) private readonly settings: Pick<IntakeSettings, 'idempotencyTtlSeconds'>,
    private readonly keySpace: RedisKeySpace,
  ) {
    this.claimOnce = luaCommand(redis, 'idempotencyClaim', 1, CLAIM);
    this.abandonClaim = luaCommand(redis, 'idempotencyAbandon', 1, ABANDON_IF_UNFINISHED);
    this.releaseClaim = luaCommand(redis, 'idempotencyRelease', 1, RELEASE_IF_UNFINISHED);
  }

  /** Claims the key, or tells what the earlier request with it became. Waits up to waitMs for one in flight. */
  async claim(merchantId: string, key: string, fingerprint: string, waitMs: number): Promise<IdempotencyClaim> {
    const redisKey = this.keyOf(merchantId, key);
    const deadline = Date.now() + waitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 100)) {
      // Unfinished, the claim is a lease; the answer is kept for the full TTL.
      const [outcome, value] = (await this.claimOnce(redisKey, this.claimRecord(fingerprint), CLAIM_LEASE_SECONDS)) as [string, string | number];
      if (outcome === 'claimed') return { kind: 'claimed' };
      if (outcome === 'next_attempt') return { kind: 'claimed', attempt: Number(value) };
      const existing = JSON.parse(value as string) as { fingerprint: string; response?: StoredResponse };
      if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (existing.response) return { kind: 'replay', response: existing.response };
      if (Date.now() >= deadline) return { kind: 'in_progress' };
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** What a finished key holds for its TTL: the answer to replay (IntakeClaims stores it with the order's confirmation). */
  answerRecord(fingerprint: string, response: StoredResponse): string {
    return JSON.stringify({ fingerprint, response } satisfies KeyRecord);
  }

  /** Stores an answer recalled from PostgreSQL, so that the next retry is answered from Redis again. */
  async remember(merchantId: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    await this.redis.set(this.keyOf(merchantId, key), this.answerRecord(fingerprint, response), 'EX', this.settings.idempotencyTtlSeconds);
  }

  /** Frees a key whose request failed before anything was published, so that the client's retry runs again. */
  async release(merchantId: string, key: string, fingerprint: string): Promise<void> {
    await this.releaseClaim(this.keyOf(merchantId, key), fingerprint);
  }

  /**
   * The request's publish was not confirmed and its payment was ended (a 503): its attempt is spent,
   * and the client's retry pays as the next one. Kept for the TTL, as an answer would be.
   */
  async abandon(merchantId: string, key: string, fingerprint: string, attempt: number): Promise<void> {
    const record = JSON.stringify({ abandonedAttempt: attempt } satisfies KeyRecord);
    await this.abandonClaim(this.keyOf(merchantId, key), fingerprint, record, this.settings.idempotencyTtlSeconds);
  }

  /** What an unfinished claim of a key holds (IntakeClaims sets it in its own script). */
  claimRecord(fingerprint: string): string {
    return JSON.stringify({ fingerprint } satisfies KeyRecord);
  }

  /**
   * The merchant part is URI-encoded: ids may hold ":", and `a:b` + `c` must not meet `a` + `b:c`. On a
   * cluster it is the hash tag, shared with the merchant's orders (IntakeClaims claims both in one script).
   */
  keyOf(merchantId: string, key: string): string {
    return this.keySpace.key('idempotency', encodeURIComponent(merchantId), key);
  }
}

/**
 * Claims a free key (claimed), or the next attempt of a key whose last attempt was abandoned
 * (next_attempt, n), or returns what holds it (taken, record). ARGV: claim record, lease.
 */
const CLAIM = `
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return { 'claimed', '' }
end
local record = cjson.decode(raw)
if record.abandonedAttempt then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return { 'next_attempt', record.abandonedAttempt + 1 }
end
return { 'taken', raw }
`;

/** The request's own unfinished claim (its fingerprint, no answer) only. */
const UNFINISHED = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local record = cjson.decode(raw)
if record.fingerprint ~= ARGV[1] or record.response ~= nil then return 0 end
`;

/** Deletes the key only while it still holds this request's unfinished claim. */
const RELEASE_IF_UNFINISHED = `${UNFINISHED}
return redis.call('DEL', KEYS[1])
`;

/** Replaces this request's unfinished claim with the abandoned attempt. ARGV: fingerprint, record, TTL. */
const ABANDON_IF_UNFINISHED = `${UNFINISHED}
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`;
