import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import { fakeRedis } from '../../test/support/fake-redis.js';
import { IdempotencyStore, type StoredResponse } from './idempotency.store.js';
import { intakeSettingsOf } from './intake-settings.js';
import { RedisKeySpace } from '../redis/key-space.js';

/*
 * The store's TypeScript side with Redis faked: how answers of the scripts and commands are read,
 * the wait for a request in flight, the race of a vanished holder. The Lua scripts themselves run
 * against a real Redis in the e2e suites (payments-intake, intake-claim-leases, durable-idempotency).
 */

const config = AppConfig.fromEnvironment({});
const settings = intakeSettingsOf(config);
const keys = RedisKeySpace.of(config);
const answer: StoredResponse = { statusCode: 202, headers: { Location: '/api/payments/p-1' }, body: { paymentId: 'p-1' } };

describe('IdempotencyStore (Redis faked)', () => {
  const taken = (record: object) => ['taken', JSON.stringify(record)];

  it('claims a free key, and reads a next attempt past an abandoned one', async () => {
    const free = new IdempotencyStore(fakeRedis({ idempotencyClaim: [['claimed', '']] }).redis, settings, keys);
    expect(await free.claim('M-1', 'k', 'f1', 0)).toEqual({ kind: 'claimed' });
    const past = new IdempotencyStore(fakeRedis({ idempotencyClaim: [['next_attempt', 3]] }).redis, settings, keys);
    expect(await past.claim('M-1', 'k', 'f1', 0)).toEqual({ kind: 'claimed', attempt: 3 });
  });

  it('replays the stored answer for the same body and refuses another body', async () => {
    const store = new IdempotencyStore(fakeRedis({ idempotencyClaim: [taken({ fingerprint: 'f1', response: answer })] }).redis, settings, keys);
    expect(await store.claim('M-1', 'k', 'f1', 0)).toEqual({ kind: 'replay', response: answer });
    expect(await store.claim('M-1', 'k', 'f2', 0)).toEqual({ kind: 'mismatch' });
  });

  it('waits for a request in flight and replays its answer once it lands', async () => {
    const { redis, calls } = fakeRedis({ idempotencyClaim: [taken({ fingerprint: 'f1' }), taken({ fingerprint: 'f1' }), taken({ fingerprint: 'f1', response: answer })] });
    expect(await new IdempotencyStore(redis, settings, keys).claim('M-1', 'k', 'f1', 5_000)).toEqual({ kind: 'replay', response: answer });
    expect(calls).toHaveLength(3);
  });

  it('answers in_progress once the wait is over', async () => {
    const { redis, calls } = fakeRedis({ idempotencyClaim: [taken({ fingerprint: 'f1' })] });
    expect(await new IdempotencyStore(redis, settings, keys).claim('M-1', 'k', 'f1', 50)).toEqual({ kind: 'in_progress' });
    expect(calls.length).toBeGreaterThan(1); // it asked again while it waited
  });

  it('scopes keys per merchant, so `a:b` + `c` never meets `a` + `b:c`', () => {
    const store = new IdempotencyStore(fakeRedis().redis, settings, keys);
    expect(store.keyOf('a:b', 'c')).not.toBe(store.keyOf('a', 'b:c'));
  });

  it('spends an attempt as a record of the abandoned attempt, for the TTL, only over its own claim', async () => {
    const { redis, calls } = fakeRedis({ idempotencyAbandon: [1] });
    await new IdempotencyStore(redis, settings, keys).abandon('M-1', 'k', 'f1', 2);
    expect(calls).toEqual([`idempotencyAbandon idempotency:M-1:k f1 {"abandonedAttempt":2} ${config.payments.idempotencyTtlSeconds}`]);
  });
});
