import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import type { Redis } from 'ioredis';
import { createApp } from '../src/app.factory.js';
import { REDIS } from '../src/redis/redis.module.js';
import { request } from './support/http.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { TEST_RUN_ID, testConfig } from './support/test-config.js';

const merchantA = mintApiKey();
const merchantB = mintApiKey();
const admin = mintApiKey();
// Its own topics: payments accepted here are never processed, and must not reach other suites' pipelines.
const OWN_TOPICS = { KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.security.` };
const KEYED = {
  ...OWN_TOPICS,
  API_KEYS: `MERCHANT-001:${hashApiKey(merchantA)},MERCHANT-002:${hashApiKey(merchantB)}`,
  ADMIN_API_KEYS: hashApiKey(admin),
};
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const payment = (extra: Record<string, unknown> = {}) => ({ orderId: `SEC-${randomUUID()}`, amount: '10.00', currency: 'USD', userId: 'USER-001', ...extra });

function expectErrorShape(body: unknown, type: string, code: string): void {
  expect(body).toEqual({ error: expect.objectContaining({ type, code, message: expect.any(String) }) });
}

describe('API keys (keys configured)', () => {
  let running: RunningApp;
  let api: string;

  beforeAll(async () => {
    running = await startTestApp(KEYED, { consumers: false });
    api = `${running.url}/api`;
  });

  afterAll(async () => {
    await running?.close();
  });

  it('should answer 401 with WWW-Authenticate and the JSON error shape without a key, or with a wrong one', async () => {
    const missing = await request(`${api}/payments`, { body: payment(), headers: { 'x-request-id': 'no-key-1' } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="payments"');
    expect(missing.headers.get('x-request-id')).toBe('no-key-1');
    expectErrorShape(missing.body, 'authentication_error', 'api_key_missing');

    for (const authorization of [`Bearer ${mintApiKey()}`, `Basic ${merchantA}`, merchantA, 'Bearer', `Bearer ${merchantA}x`]) {
      const wrong = await request(`${api}/payments/${randomUUID()}`, { headers: { authorization } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="payments"/);
      expectErrorShape(wrong.body, 'authentication_error', 'api_key_invalid');
    }
    // Unknown routes under /api/ do not tell an anonymous caller what exists.
    expect((await request(`${api}/nothing-here`)).status).toBe(401);
  });

  it('should keep health, metrics and the API docs open, with security headers', async () => {
    for (const path of ['/health/liveness', '/metrics', '/api/docs-json']) {
      const response = await fetch(`${running.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
    }
    const unauthorized = await request(`${api}/payments`);
    expect(unauthorized.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    // The OpenAPI page loads its scripts from itself, which helmet's default CSP allows.
    const docs = await fetch(`${running.url}/api/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await docs.text();
    expect(html).not.toMatch(/<script>(?!\s*<\/script>)/);
  });

  it("should take a merchant key's payment for its merchant, and refuse another merchantId with 403", async () => {
    const accepted = await request(`${api}/payments`, { body: payment(), headers: bearer(merchantA) });
    expect(accepted.status).toBe(202);
    expect(accepted.body.merchantId).toBe('MERCHANT-001');

    const same = await request(`${api}/payments`, { body: payment({ merchantId: 'MERCHANT-001' }), headers: bearer(merchantA) });
    expect(same.status).toBe(202);

    const other = payment({ merchantId: 'MERCHANT-002' });
    const refused = await request(`${api}/payments`, { body: other, headers: bearer(merchantA) });
    expect(refused.status).toBe(403);
    expectErrorShape(refused.body, 'permission_error', 'merchant_mismatch');
    // Refused means nothing happened: the order is still free for its real merchant.
    expect((await request(`${api}/payments`, { body: other, headers: bearer(merchantB) })).status).toBe(202);
  });

  it('should show a payment (and its events) only to its merchant and to admins; 404 to other merchants', async () => {
    const { body } = await request(`${api}/payments`, { body: payment(), headers: bearer(merchantA) });
    const { paymentId } = body;
    for (const path of [`/payments/${paymentId}`, `/payments/${paymentId}/events`]) {
      expect((await request(`${api}${path}`, { headers: bearer(merchantA) })).status).toBe(200);
      expect((await request(`${api}${path}`, { headers: bearer(admin) })).status).toBe(200);
      const hidden = await request(`${api}${path}`, { headers: bearer(merchantB) });
      const unknown = await request(`${api}${path.replace(paymentId, randomUUID())}`, { headers: bearer(merchantB) });
      expect(hidden.status).toBe(404);
      expectErrorShape(hidden.body, 'not_found_error', 'payment_not_found');
      expect(hidden.body.error.message.replace(paymentId, 'ID')).toBe(unknown.body.error.message.replace(/No payment [^.]+/, `No payment ID`));
    }
  });

  it('should scope Idempotency-Keys per merchant: one key, two merchants, two payments', async () => {
    const key = `shared-${randomUUID()}`;
    const bodyA = payment();
    const a = await request(`${api}/payments`, { body: bodyA, headers: { ...bearer(merchantA), 'idempotency-key': key } });
    const b = await request(`${api}/payments`, { body: payment(), headers: { ...bearer(merchantB), 'idempotency-key': key } });
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(a.body.paymentId).not.toBe(b.body.paymentId);
    // Within one merchant the key still replays its first answer.
    const again = await request(`${api}/payments`, { body: bodyA, headers: { ...bearer(merchantA), 'idempotency-key': key } });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.paymentId).toBe(a.body.paymentId);
  });

  it('should keep deposits, balances and dead letters to admin keys (403 for merchant keys)', async () => {
    const deposit = { depositId: `DEP-${randomUUID()}`, amount: '5.00', currency: 'USD' };
    const calls: [string, { body?: unknown }][] = [
      [`/accounts/USER-001/deposits`, { body: deposit }],
      [`/accounts/USER-001/balances`, {}],
      [`/admin/dead-letters`, {}],
      [`/admin/dead-letters/${randomUUID()}/replay`, { body: {} }],
    ];
    for (const [path, init] of calls) {
      const refused = await request(`${api}${path}`, { ...init, headers: bearer(merchantA) });
      expect(refused.status).toBe(403);
      expectErrorShape(refused.body, 'permission_error', 'admin_key_required');
    }
    const funded = await request(`${api}/accounts/USER-001/deposits`, { body: deposit, headers: bearer(admin) });
    expect(funded.status).toBe(201);
    expect((await request(`${api}/accounts/USER-001/balances`, { headers: bearer(admin) })).status).toBe(200);
    expect((await request(`${api}/admin/dead-letters`, { headers: bearer(admin) })).status).toBe(200);
  });
});

describe('start-up without keys', () => {
  it('should refuse to start in production with a clear message', async () => {
    await expect(createApp(testConfig({ NODE_ENV: 'production' }))).rejects.toThrow(/Refusing to start: NODE_ENV=production but no API keys/);
  });

  it('should run open elsewhere, with a loud warning', async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    let running: RunningApp | undefined;
    try {
      running = await startTestApp({ ...OWN_TOPICS, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' }, { consumers: false });
    } finally {
      spy.mockRestore();
    }
    try {
      const warning = written.map((line) => JSON.parse(line) as { level: string; message: string }).find((r) => r.message.includes('NO API KEYS'));
      expect(warning).toMatchObject({ level: 'warn', message: expect.stringContaining('OPEN') });
      expect((await request(`${running.url}/api/payments/${randomUUID()}`)).status).toBe(404);
    } finally {
      await running.close();
    }
  });
});

describe('rate limits (in Redis, shared by instances)', () => {
  let first: RunningApp;
  let second: RunningApp;
  const key = mintApiKey();
  // Its own Redis prefix: the open API counts per client IP, and every test app here is 127.0.0.1.
  const shared = { ...OWN_TOPICS, REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:rate-${randomUUID()}:`, RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '30' };

  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('should answer 429 with Retry-After once a key used up its limit across two instances', async () => {
    first = await startTestApp({ ...shared, API_KEYS: `MERCHANT-001:${hashApiKey(key)}` }, { consumers: false });
    second = await startTestApp({ ...shared, API_KEYS: `MERCHANT-001:${hashApiKey(key)}` }, { consumers: false });
    const statuses: number[] = [];
    for (const running of [first, second, first]) {
      const response = await request(`${running.url}/api/payments/${randomUUID()}`, { headers: bearer(key) });
      statuses.push(response.status);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
    }
    expect(statuses).toEqual([404, 404, 404]);
    const limited = await request(`${second.url}/api/payments/${randomUUID()}`, { headers: bearer(key) });
    expect(limited.status).toBe(429);
    expectErrorShape(limited.body, 'rate_limit_error', 'rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    // Health and metrics are not counted.
    expect((await fetch(`${second.url}/health/liveness`)).status).toBe(200);
  });

  it('should count the intake against the same budget, in the script that claims the order (two Redis round trips a payment)', async () => {
    const intakeKey = mintApiKey();
    const running = await startTestApp(
      { ...shared, REDIS_KEY_PREFIX: `${shared.REDIS_KEY_PREFIX}intake:`, API_KEYS: `MERCHANT-001:${hashApiKey(intakeKey)}` },
      { consumers: false },
    );
    const redis = running.app.get<Redis>(REDIS);
    const socket = (redis as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    try {
      expect((await request(`${running.url}/api/payments/${randomUUID()}`, { headers: bearer(intakeKey) })).status).toBe(404);
      // Every write to Redis while one payment with an Idempotency-Key is taken (no stage runs here).
      const writes = jest.spyOn(socket, 'write');
      const accepted = await request(`${running.url}/api/payments`, { body: payment(), headers: { ...bearer(intakeKey), 'idempotency-key': randomUUID() } });
      const roundTrips = writes.mock.calls.length;
      writes.mockRestore();
      expect(accepted.status).toBe(202);
      expect(accepted.headers.get('x-ratelimit-limit')).toBe('3');
      expect(accepted.headers.get('x-ratelimit-remaining')).toBe('1');
      expect(roundTrips).toBe(2);

      expect((await request(`${running.url}/api/payments`, { body: payment(), headers: bearer(intakeKey) })).status).toBe(202);
      const order = payment();
      const limited = await request(`${running.url}/api/payments`, { body: order, headers: bearer(intakeKey) });
      expect(limited.status).toBe(429);
      expectErrorShape(limited.body, 'rate_limit_error', 'rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Refused before the order was claimed: nothing of it is in Redis.
      expect(await redis.exists(`order:MERCHANT-001:${order.orderId}`)).toBe(0);
    } finally {
      await running.close();
    }
  });

  it('should count per client IP when the API is open, and not at all when disabled', async () => {
    const open = await startTestApp({ ...shared, REDIS_KEY_PREFIX: `${shared.REDIS_KEY_PREFIX}open:`, RATE_LIMIT_MAX: '2' }, { consumers: false });
    const off = await startTestApp({ ...shared, REDIS_KEY_PREFIX: `${shared.REDIS_KEY_PREFIX}off:`, RATE_LIMIT_MAX: '1', RATE_LIMIT_ENABLED: 'false' }, { consumers: false });
    try {
      const openStatuses = [];
      for (let i = 0; i < 3; i++) openStatuses.push((await request(`${open.url}/api/payments/${randomUUID()}`)).status);
      expect(openStatuses).toEqual([404, 404, 429]);
      const offStatuses = [];
      for (let i = 0; i < 3; i++) offStatuses.push((await request(`${off.url}/api/payments/${randomUUID()}`)).status);
      expect(offStatuses).toEqual([404, 404, 404]);
    } finally {
      await open.close();
      await off.close();
    }
  });
});
