import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisClient } from '../redis/redis.module.js';
import type { Principal } from './api-keys.js';

/** The operations console's session cookie: HttpOnly, SameSite=Strict, Secure in production, path /. */
export const CONSOLE_SESSION_COOKIE = 'ops_session';

/** The header a signed-in page sends its CSRF token in, on every request that changes something. */
export const CSRF_HEADER = 'x-csrf-token';

/** How long a console session lasts from its sign-in (an operator's working day). */
export const CONSOLE_SESSION_SECONDS = 8 * 3600;

/** What the server keeps of a session: which admin key signed in (its keyId) and the page's CSRF token. */
export interface ConsoleSession {
  principal: Extract<Principal, { kind: 'admin' }>;
  csrfToken: string;
}

/**
 * Console sessions in Redis, shared by every API instance: the cookie holds a random token, never the
 * key, and Redis only its hash. Signing out deletes the session, so the cookie is worth nothing after.
 * The CSRF token is a second random value the page keeps in memory and sends back in a header, which a
 * page of another origin can neither read nor send with the cookie (double submit, synchronizer style).
 */
export class ConsoleSessions {
  constructor(private readonly redis: RedisClient) {}

  async open(principal: ConsoleSession['principal']): Promise<{ token: string; session: ConsoleSession }> {
    const token = randomBytes(32).toString('base64url');
    const session: ConsoleSession = { principal, csrfToken: randomBytes(32).toString('base64url') };
    await this.redis.set(keyOf(token), JSON.stringify(session), 'EX', CONSOLE_SESSION_SECONDS);
    return { token, session };
  }

  async find(token: string): Promise<ConsoleSession | null> {
    const stored = await this.redis.get(keyOf(token));
    return stored === null ? null : (JSON.parse(stored) as ConsoleSession);
  }

  async close(token: string): Promise<void> {
    await this.redis.del(keyOf(token));
  }
}

/** One key per session (no hash tag: nothing else is written with it). */
function keyOf(token: string): string {
  return `console-session:${createHash('sha256').update(token).digest('hex')}`;
}

/** The session token of a Cookie header, if it carries ours. */
export function sessionTokenOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const pair of cookieHeader.split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name === CONSOLE_SESSION_COOKIE && /^[\w-]{16,128}$/.test(value.join('='))) return value.join('=');
  }
  return undefined;
}

/** Whether the presented CSRF token is the session's, compared in constant time. */
export function csrfMatches(presented: string | string[] | undefined, session: ConsoleSession): boolean {
  const value = Array.isArray(presented) ? presented[0] : presented;
  if (!value) return false;
  const [a, b] = [Buffer.from(value), Buffer.from(session.csrfToken)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The Set-Cookie value that hands the browser its session (or, with no token, takes it back). */
export function sessionCookie(token: string | null, secure: boolean): string {
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])];
  if (token === null) return [`${CONSOLE_SESSION_COOKIE}=`, 'Max-Age=0', ...attributes].join('; ');
  return [`${CONSOLE_SESSION_COOKIE}=${token}`, `Max-Age=${CONSOLE_SESSION_SECONDS}`, ...attributes].join('; ');
}
