import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { REDIS } from '../redis/redis.module.js';

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
  | { kind: 'claimed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

interface KeyRecord {
  fingerprint: string;
  response?: StoredResponse;
}

/**
 * Stripe-style idempotency keys in Redis, scoped per merchant (each merchant has its own key space,
 * so two merchants, or two keys of different merchants, can never collide or replay each other's answer). The first request with a key claims it atomically (SET NX);
 * a retry with the same body gets the stored response, one with another body is refused, and one that
 * arrives while the first is still running waits for it.
 */
@Injectable()
export class IdempotencyStore {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  /** Claims the key, or tells what the earlier request with it became. Waits up to waitMs for one in flight. */
  async claim(merchantId: string, key: string, fingerprint: string, waitMs: number): Promise<IdempotencyClaim> {
    const redisKey = this.keyOf(merchantId, key);
    const deadline = Date.now() + waitMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 100)) {
      // Unfinished, the claim is a lease; complete() keeps the answer for the full TTL.
      const created = await this.redis.set(redisKey, this.claimRecord(fingerprint), 'EX', CLAIM_LEASE_SECONDS, 'NX');
      if (created === 'OK') return { kind: 'claimed' };
      const raw = await this.redis.get(redisKey);
      if (raw !== null) {
        const existing = JSON.parse(raw) as KeyRecord;
        if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (existing.response) return { kind: 'replay', response: existing.response };
      }
      // raw === null: the earlier request failed and released the key between our two calls; retry the claim.
      if (raw !== null && Date.now() >= deadline) return { kind: 'in_progress' };
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  /** What a finished key holds for its TTL: the answer to replay (IntakeClaims stores it with the order's confirmation). */
  answerRecord(fingerprint: string, response: StoredResponse): string {
    return JSON.stringify({ fingerprint, response } satisfies KeyRecord);
  }

  /** Frees a key whose request failed, so that the client's retry runs again instead of replaying an error. */
  async release(merchantId: string, key: string, fingerprint: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_UNFINISHED, 1, this.keyOf(merchantId, key), fingerprint);
  }

  /** What an unfinished claim of a key holds (IntakeClaims sets it in its own script). */
  claimRecord(fingerprint: string): string {
    return JSON.stringify({ fingerprint } satisfies KeyRecord);
  }

  /** The merchant part is URI-encoded: ids may hold ":", and `a:b` + `c` must not meet `a` + `b:c`. */
  keyOf(merchantId: string, key: string): string {
    return `idempotency:${encodeURIComponent(merchantId)}:${key}`;
  }
}

/** Deletes the key only while it still holds this request's unfinished claim. */
const RELEASE_IF_UNFINISHED = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local record = cjson.decode(raw)
if record.fingerprint == ARGV[1] and record.response == nil then return redis.call('DEL', KEYS[1]) end
return 0
`;
