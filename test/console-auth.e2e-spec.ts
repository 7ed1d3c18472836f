import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { createApp } from '../src/app.factory.js';
import { request } from './support/http.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { TEST_RUN_ID, testConfig } from './support/test-config.js';

/*
 * How the operations console signs in under each key setting, over plain HTTP (its browser suite is
 * test/ops-console.e2e-spec.ts): OPEN_API next to an admin key (npm run local), admin keys alone as
 * before, and no key at all. Payments accepted here are never processed (topics of their own).
 */
const admin = mintApiKey();
const merchant = mintApiKey();
const OWN_TOPICS = { KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.console-auth.` };
const KEYED = { ...OWN_TOPICS, API_KEYS: `MERCHANT-001:${hashApiKey(merchant)}`, ADMIN_API_KEYS: hashApiKey(admin) };
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const payment = () => ({ orderId: `CON-${randomUUID()}`, amount: '10.00', currency: 'USD', userId: 'USER-001' });

function expectErrorShape(body: unknown, type: string, code: string): void {
  expect(body).toEqual({ error: expect.objectContaining({ type, code, message: expect.any(String) }) });
}

describe('OPEN_API with an admin key (`npm run local`): /api open, the operations console behind the key', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startTestApp({ ...OWN_TOPICS, ADMIN_API_KEYS: hashApiKey(admin), OPEN_API: 'true' }, { consumers: false });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('answers /api without a key, refuses the console without the admin key, and signs it in with the key', async () => {
    expect((await request(`${running.url}/api/payments`, { body: payment() })).status).toBe(202);
    expect((await request(`${running.url}/api/admin/dead-letters`)).status).toBe(200);
    for (const path of ['/ops/api/session', '/ops/api/feed']) {
      const refused = await request(`${running.url}${path}`);
      expect(refused.status).toBe(401);
      expectErrorShape(refused.body, 'authentication_error', 'api_key_missing');
    }
    const signedIn = await request(`${running.url}/ops/api/session`, { method: 'POST', headers: bearer(admin) });
    expect(signedIn.status).toBe(201);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0];
    expect((await request(`${running.url}/ops/api/session`, { headers: { cookie } })).body).toEqual({ principal: { kind: 'admin', keyId: expect.any(String) }, csrfToken: signedIn.body.csrfToken });
    // A change with the cookie needs the page's CSRF token too.
    const replay = `${running.url}/api/admin/dead-letters/${randomUUID()}/replay`;
    expectErrorShape((await request(replay, { method: 'POST', headers: { cookie } })).body, 'permission_error', 'csrf_token_invalid');
    expect((await request(replay, { method: 'POST', headers: { cookie, 'x-csrf-token': signedIn.body.csrfToken } })).status).toBe(404);
    // An unknown session on the console: 401, and the browser is told to drop the cookie.
    const stale = await request(`${running.url}/ops/api/session`, { headers: { cookie: `ops_session=${'x'.repeat(43)}` } });
    expectErrorShape(stale.body, 'authentication_error', 'session_invalid');
    expect(stale.headers.get('set-cookie')).toMatch(/^ops_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Strict/);
  });

  it('keeps admin keys alone as they were (every /api route needs a key), and refuses OPEN_API in production', async () => {
    const keyed = await startTestApp({ ...OWN_TOPICS, ADMIN_API_KEYS: hashApiKey(admin) }, { consumers: false });
    try {
      expect((await request(`${keyed.url}/api/payments`, { body: payment() })).status).toBe(401);
    } finally {
      await keyed.close();
    }
    await expect(createApp(testConfig({ ...KEYED, NODE_ENV: 'production', OPEN_API: 'true' }))).rejects.toThrow(/OPEN_API=true/);
  });
});

describe('the console without any key (the API open)', () => {
  it('keeps no session: one made now would outlive the open API once keys are set', async () => {
    const open = await startTestApp({ ...OWN_TOPICS }, { consumers: false });
    try {
      const signedIn = await request(`${open.url}/ops/api/session`, { method: 'POST' });
      expect(signedIn.status).toBe(201);
      expect(signedIn.body).toEqual({ principal: { kind: 'open' }, csrfToken: null });
      expect(signedIn.headers.get('set-cookie')).toBeNull();
    } finally {
      await open.close();
    }
  });
});
