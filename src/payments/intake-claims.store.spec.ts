import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import type { PaymentView } from '../pipeline/ports.js';
import { RedisKeySpace } from '../redis/key-space.js';
import { fakeRedis } from '../../test/support/fake-redis.js';
import { IdempotencyStore } from './idempotency.store.js';
import { IntakeClaims, type IntakeClaimRequest } from './intake-claims.store.js';
import { intakeSettingsOf } from './intake-settings.js';
import { OrderRegistry } from './order-registry.store.js';

/*
 * How the intake's claim script is called, Redis faked: one call for everything on one server; on a
 * Redis Cluster, the rate count first (its key is @fastify/rate-limit's, in a slot of its own), then
 * the claims of the requests under their limit, per merchant. The script itself runs against a real
 * Redis in the e2e suites, and against a real cluster in redis-cluster.e2e-spec.ts.
 */

const config = AppConfig.fromEnvironment({ RATE_LIMIT_MAX: '10' });
const settings = intakeSettingsOf(config);

function claimsOn(keySpace: RedisKeySpace, answers: unknown[]) {
  const { redis, calls } = fakeRedis({ intakeClaimAll: answers });
  const claims = new IntakeClaims(redis, settings, keySpace, new IdempotencyStore(redis, settings, keySpace), new OrderRegistry(redis, keySpace), {} as PaymentView);
  return { claims, calls };
}

const request = (merchantId: string, n: number): IntakeClaimRequest => ({
  rateLimitKey: 'key:abc',
  idempotency: { merchantId, key: `k-${n}`, fingerprint: 'f' },
  merchantId,
  orderId: `o-${n}`,
  paymentId: `p-${n}`,
});

describe('IntakeClaims (Redis faked)', () => {
  it('counts the rate and claims key and order in one call on one server', async () => {
    const { claims, calls } = claimsOn(new RedisKeySpace(false, 'payments:', 16), [
      [
        ['claimed', 1, 60_000],
        ['order_taken', 2, 59_000, 'p-0'],
      ],
    ]);
    const [first, second] = await Promise.all([claims.claim(request('M-1', 1)), claims.claim(request('M-2', 2))]);
    expect(first).toEqual({ kind: 'claimed', rate: { limit: 10, remaining: 9, resetMs: 60_000 } });
    expect(second).toEqual({ kind: 'order_taken', rate: { limit: 10, remaining: 8, resetMs: 59_000 }, holder: 'p-0' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^intakeClaimAll 6 ratelimit:key:abc idempotency:M-1:k-1 order:M-1:o-1 ratelimit:key:abc idempotency:M-2:k-2 order:M-2:o-2 60000 30 10 /);
  });

  it('on a cluster counts the rate first, then claims only what is under its limit, per merchant slot', async () => {
    const { claims, calls } = claimsOn(new RedisKeySpace(true, 'payments:', 16), [
      // The rate call of both requests (one rate key, one slot) …
      [
        ['claimed', 1, 60_000],
        ['claimed', 2, 59_000],
        ['rate_limited', 11, 58_000],
      ],
      // … then one claim call per merchant's slot.
      [['claimed', 0, 0]],
    ]);
    const results = await Promise.all([claims.claim(request('M-1', 1)), claims.claim(request('M-2', 2)), claims.claim(request('M-1', 3))]);
    expect(results).toEqual([
      { kind: 'claimed', rate: { limit: 10, remaining: 9, resetMs: 60_000 } },
      { kind: 'claimed', rate: { limit: 10, remaining: 8, resetMs: 59_000 } },
      { kind: 'rate_limited', rate: { limit: 10, remaining: 0, resetMs: 58_000 } },
    ]);
    expect(calls[0]).toBe('intakeClaimAll 9 ' + Array(9).fill('ratelimit:key:abc').join(' ') + ' 60000 30 10   10   10  ');
    // The rate-limited third request claims nothing; the others claim with no rate to count (max 0).
    expect(calls.slice(1).sort()).toEqual([
      'intakeClaimAll 3 order:{M-1}:o-1 idempotency:{M-1}:k-1 order:{M-1}:o-1 60000 30 0 {"fingerprint":"f"} p-1',
      'intakeClaimAll 3 order:{M-2}:o-2 idempotency:{M-2}:k-2 order:{M-2}:o-2 60000 30 0 {"fingerprint":"f"} p-2',
    ]);
  });

  it("on a cluster fails only the requests of a slot whose call failed (a master away), not the others'", async () => {
    const keySpace = new RedisKeySpace(true, 'payments:', 16);
    const requests = [request('M-1', 1), request('M-2', 2)].map((r) => ({ ...r, rateLimitKey: undefined }));
    expect(keySpace.slotOf('order:{M-1}:o-1')).not.toBe(keySpace.slotOf('order:{M-2}:o-2'));
    // One call per merchant's slot, in the requests' order: the first one's master is away.
    const { claims, calls } = claimsOn(keySpace, [new Error('CLUSTERDOWN The cluster is down'), [['claimed', 0, 0]]]);
    const results = await Promise.allSettled(requests.map((r) => claims.claim(r)));
    expect(calls).toHaveLength(2);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: 'CLUSTERDOWN The cluster is down' } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: { kind: 'claimed' } });
  });
});
