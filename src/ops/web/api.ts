/**
 * The page's calls: the console's own /ops/api and the service's existing /api routes, with the
 * session cookie the browser sends by itself (same origin) and, for anything that changes state, the
 * CSRF token the sign-in answered with. The key itself is sent once, in the sign-in's Authorization
 * header, and never kept by the page.
 */

export interface Session {
  principal: { kind: 'admin'; keyId: string } | { kind: 'open' };
  csrfToken: string | null;
}

/** The API's error body: `{ error: { code, message, param? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

export function rememberSession(session: Session | null): void {
  csrfToken = session?.csrfToken ?? null;
}

export async function call<T>(path: string, init: { method?: string; body?: unknown; key?: string } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.key !== undefined) headers.authorization = `Bearer ${init.key}`;
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? `${method} ${path}: ${response.status}`);
  }
  return body as T;
}

export const signIn = (key: string) => call<Session>('/ops/api/session', { method: 'POST', key });
const currentSession = () => call<Session>('/ops/api/session');

/** How often a page that cannot learn its session (the service restarting, Redis away) asks again. */
const SESSION_RETRY_MS = 2_000;

/**
 * This page's session as the server knows it: the session, or `null` when it has none (401). While
 * the server cannot say (the service restarting, Redis away), which is no reason to sign out, it asks
 * again every 2 s and tells `unavailable` why; an abort ends the asking (the answer is then `null`).
 */
export async function knownSession(signal: AbortSignal, unavailable: (reason: string) => void = () => undefined): Promise<Session | null> {
  while (!signal.aborted) {
    try {
      return await currentSession();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      unavailable(error instanceof Error ? error.message : String(error));
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, SESSION_RETRY_MS);
      signal.addEventListener('abort', done);
    });
  }
  return null;
}
export const signOut = () => call<void>('/ops/api/session', { method: 'DELETE' });

/** Times as operators read them: local clock time with milliseconds. */
export function clock(at: string | number): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return `${date.toLocaleTimeString(undefined, { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
