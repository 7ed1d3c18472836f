import { describe, expect, it } from '@jest/globals';
import type { RedisClient } from '../redis/redis.module.js';
import { CONSOLE_SESSION_SECONDS, ConsoleSessions, csrfMatches, sessionCookie, sessionTokenOf } from './console-sessions.js';

/** The three commands sessions use, on a Map. */
function fakeRedis() {
  const data = new Map<string, { value: string; ex: number }>();
  const redis = {
    set: async (key: string, value: string, _ex: 'EX', seconds: number) => void data.set(key, { value, ex: seconds }),
    get: async (key: string) => data.get(key)?.value ?? null,
    del: async (key: string) => Number(data.delete(key)),
  };
  return { redis: redis as unknown as RedisClient, data };
}

describe('ConsoleSessions', () => {
  it('keeps a session under the hash of its token, never the token, for the working day, and forgets it on sign-out', async () => {
    const { redis, data } = fakeRedis();
    const sessions = new ConsoleSessions(redis);
    const { token, session } = await sessions.open({ kind: 'admin', keyId: 'k1' });
    const [[key, stored]] = [...data.entries()];
    expect(key).toMatch(/^console-session:[0-9a-f]{64}$/);
    expect(key).not.toContain(token);
    expect(stored.ex).toBe(CONSOLE_SESSION_SECONDS);
    expect(await sessions.find(token)).toEqual(session);
    expect(session.csrfToken).not.toBe(token);
    await sessions.close(token);
    expect(await sessions.find(token)).toBeNull();
  });
});

describe('session cookie and CSRF token', () => {
  it('reads our cookie among others and ignores malformed values', () => {
    expect(sessionTokenOf('a=1; ops_session=abcdefghijklmnopqrstuvwxyz012345; b=2')).toBe('abcdefghijklmnopqrstuvwxyz012345');
    expect(sessionTokenOf('ops_session=short')).toBeUndefined();
    expect(sessionTokenOf('ops_session=<script>alert(1)</script>aaaaaaaaaaaa')).toBeUndefined();
    expect(sessionTokenOf(undefined)).toBeUndefined();
  });

  it('is HttpOnly and SameSite=Strict, Secure in production, and taken back with Max-Age=0', () => {
    expect(sessionCookie('tok', false)).toBe(`ops_session=tok; Max-Age=${CONSOLE_SESSION_SECONDS}; Path=/; HttpOnly; SameSite=Strict`);
    expect(sessionCookie('tok', true)).toMatch(/; Secure$/);
    expect(sessionCookie(null, false)).toBe('ops_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict');
  });

  it("accepts only the session's own CSRF token", () => {
    const session = { principal: { kind: 'admin' as const, keyId: 'k' }, csrfToken: 'right-token' };
    expect(csrfMatches('right-token', session)).toBe(true);
    expect(csrfMatches(['right-token'], session)).toBe(true);
    for (const wrong of ['wrong-token', 'right-toke', '', undefined]) expect(csrfMatches(wrong, session)).toBe(false);
  });
});
