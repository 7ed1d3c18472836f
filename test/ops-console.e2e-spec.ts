import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { KafkaTopics } from '../src/kafka/kafka-topics.js';
import { encodeCursor } from '../src/ops/stream-tail.js';
import { createEnvelope } from '../src/pipeline/event-envelope.js';
import { GLOBAL_STREAM } from '../src/state/global-stream.js';
import { TOPICS } from '../src/pipeline/stages.js';
import { accessibilityViolations, launchChromium, screenshot } from '../tools/browser.js';
import { PrivateRedis } from '../tools/private-redis.js';
import { chaosCacheDir } from '../tools/private-servers.js';
import { freePort } from './support/app-process.js';
import { request } from './support/http.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { TEST_RUN_ID } from './support/test-config.js';
import { until } from './support/until.js';

/*
 * The operations console in a real browser (Debian's Chromium, driven by playwright-core) against the
 * app on the real Kafka, Redis and PostgreSQL: sign-in and sign-out, the live tail, a lookup, a dead
 * letter replayed from the page, the lag bars of a stage that is held back, and Redis away. Each view is
 * screenshotted into test-results/ops-console/ and checked with axe-core. Over 300 lines on purpose:
 * one browser and one signed-in page go through the views in order (sign-in first, sign-out last), and
 * a second file would start a second browser and repeat the sign-in and the checks' helpers.
 */
const MERCHANT = `OPS-${randomUUID().slice(0, 8)}`;
const merchantKey = mintApiKey();
const adminKey = mintApiKey();
const KEYS = { API_KEYS: `${MERCHANT}:${hashApiKey(merchantKey)}`, ADMIN_API_KEYS: hashApiKey(adminKey), RATE_LIMIT_ENABLED: 'false' };
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('operations console (Chromium, real Kafka, Redis and PostgreSQL)', () => {
  let running: RunningApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const api = (app: RunningApp, path: string, init: { body?: unknown; key?: string; method?: string } = {}) =>
    request(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${init.key ?? merchantKey}` } });
  const pay = (app: RunningApp, userId: string, amount = '1.00') =>
    api(app, '/api/payments', { body: { orderId: `ORD-${randomUUID()}`, amount, currency: 'USD', userId } });
  const fund = async (userId: string) =>
    expect((await api(running, `/api/accounts/${userId}/deposits`, { key: adminKey, body: { depositId: randomUUID(), amount: '100.00', currency: 'USD' } })).status).toBe(201);

  async function signIn(target: Page, app: RunningApp): Promise<void> {
    await target.goto(`${app.url}/ops`);
    await target.getByLabel('Admin API key').waitFor();
    // Keyboard only: the key field has the focus order's first place, Enter submits.
    await target.keyboard.press('Tab');
    await expect(target.evaluate('document.activeElement?.id')).resolves.toBe('api-key');
    await target.keyboard.type(adminKey);
    await target.keyboard.press('Enter');
    await target.getByText(/Signed in: admin key/).waitFor();
    await target.getByText('feed live').waitFor();
  }

  async function expectAccessible(target: Page): Promise<void> {
    expect(await accessibilityViolations(target, axeSource)).toEqual([]);
  }

  beforeAll(async () => {
    // Topics and keys of its own: stepping back through the global stream then shows this suite's payments only.
    running = await startTestApp({ ...KEYS, KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.ops.`, REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:ops:` });
    await running.app.get(DataSource).query(`INSERT INTO merchants (id, name) VALUES ($1, 'ops console suite') ON CONFLICT DO NOTHING`, [MERCHANT]);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  it('signs in with an admin key into an HttpOnly, SameSite=Strict session cookie, and refuses other keys', async () => {
    await page.goto(`${running.url}/ops`);
    await page.getByLabel('Admin API key').waitFor();
    await expectAccessible(page);
    await screenshot(page, 'sign-in');
    for (const [key, message] of [
      [merchantKey, /merchant key/],
      ['psk_not-a-key-of-this-deployment', /not an admin API key/],
    ] as const) {
      await page.getByLabel('Admin API key').fill(key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toMatch(message);
    }
    expect(await context.cookies()).toEqual([]);

    await signIn(page, running);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'ops_session', httpOnly: true, sameSite: 'Strict', secure: false, path: '/' });
    expect(cookie.value).not.toContain(adminKey);
    expect(page.url()).toBe(`${running.url}/ops/`);
    // The page cannot read the cookie, and the key is nowhere in its storage.
    expect(await page.evaluate('[document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]')).toEqual(['', '{}', '{}']);
    for (const dependency of ['kafka', 'redis', 'db']) await page.locator(`[data-dependency="${dependency}"].badge-up`).waitFor();
  });

  it('shows payments in the live tail within 2 s of their 202, and looks one up with its four steps', async () => {
    const payer = `OPS-PAYER-${randomUUID().slice(0, 8)}`;
    await fund(payer);
    const accepted = await Promise.all([pay(running, payer), pay(running, payer), pay(running, payer)]);
    expect(accepted.map((a) => a.status)).toEqual([202, 202, 202]);
    // All three within 2 s of the last 202.
    await Promise.all(accepted.map(({ body }) => page.locator(`.tail tr[data-payment-id="${body.paymentId}"][data-status="PENDING"]`).waitFor({ timeout: 2000 })));

    const { paymentId } = accepted[0].body;
    await page.locator(`.tail tr[data-payment-id="${paymentId}"][data-status="COMPLETED"]`).waitFor({ timeout: 30_000 });
    await screenshot(page, 'live');
    await expectAccessible(page);

    // Stepping back through the stream by time: the last minute from its start, oldest first.
    await page.getByRole('button', { name: 'Back 1 min' }).click();
    await page.getByRole('heading', { name: /Live tail \(from/ }).waitFor();
    const pastRows = page.locator('.tail tbody tr');
    await pastRows.first().waitFor();
    expect(await pastRows.evaluateAll((rows) => rows.map((row) => `${row.getAttribute('data-payment-id')}:${row.getAttribute('data-status')}`))).toEqual(
      expect.arrayContaining(accepted.flatMap(({ body }) => ['PENDING', 'VALIDATED', 'APPROVED', 'COMPLETED'].map((status) => `${body.paymentId}:${status}`))),
    );
    await page.getByRole('button', { name: 'Back to live' }).click();
    await page.getByRole('heading', { name: /Live tail live/ }).waitFor();

    // Keyboard again: the lookup's field by its label, Enter looks it up.
    await page.getByLabel('Payment ID').fill(paymentId);
    await page.getByLabel('Payment ID').press('Enter');
    const steps = page.getByRole('list', { name: 'Payment timeline' }).locator('li[data-status]');
    await steps.nth(3).waitFor();
    expect(await steps.evaluateAll((items) => items.map((item) => item.getAttribute('data-status')))).toEqual(['PENDING', 'VALIDATED', 'APPROVED', 'COMPLETED']);
    await expect(steps.nth(2).textContent()).resolves.toMatch(/fraud.*risk score 0/);

    // Its refund, once the ledger has it, in the lookup's refunds panel.
    const refund = await api(running, `/api/payments/${paymentId}/refunds`, { body: { amount: '0.40' } });
    expect(refund.status).toBe(202);
    await until(async () => (await api(running, `/api/refunds/${refund.body.refundId}`)).body.status, (status) => status === 'SUCCEEDED', 'the refund');
    await page.getByRole('button', { name: 'Look up', exact: true }).click();
    await page.getByRole('table', { name: 'Refunds of the payment' }).getByText(refund.body.refundId).waitFor();
    await screenshot(page, 'lookup');
  });

  it('resumes the feed of a reconnecting page after the last stream id it saw (Last-Event-ID, or after=)', async () => {
    const before = Date.now() - 1;
    const payer = `OPS-PAYER-${randomUUID().slice(0, 8)}`;
    await fund(payer);
    const missed = await Promise.all([pay(running, payer), pay(running, payer)]);
    const ids = missed.map((a) => a.body.paymentId as string);
    for (const id of ids) await until(async () => (await api(running, `/api/payments/${id}`)).body.status, (status) => status === 'COMPLETED', `payment ${id}`);
    // Long past the live tail's reads: only a resume can bring these entries to a feed opened now.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // What a page that lost its connection before these payments sends when it reconnects: the header
    // from the browser's own reconnect, or the query from a page that opened a new feed after a refused one.
    const lastSeen = encodeCursor({ [GLOBAL_STREAM]: `${before}-0` });
    for (const resume of [{ headers: { 'last-event-id': lastSeen } }, { query: `?after=${lastSeen}` }]) {
      const abort = new AbortController();
      const feed = await fetch(`${running.url}/ops/api/feed${resume.query ?? ''}`, { headers: { authorization: `Bearer ${adminKey}`, ...resume.headers }, signal: abort.signal });
      const reader = feed.body!.pipeThrough(new TextDecoderStream()).getReader();
      try {
        let text = '';
        const firstTail = () => /event: tail\ndata: (.*)\n/.exec(text)?.[1];
        const deadline = Date.now() + 10_000;
        while (firstTail() === undefined && Date.now() < deadline) text += (await reader.read()).value ?? '';
        const entries = (JSON.parse(firstTail() ?? '{"entries":[]}') as { entries: { paymentId: string; status: string }[] }).entries;
        for (const id of ids) expect(entries.filter((e) => e.paymentId === id).map((e) => e.status)).toEqual(['PENDING', 'VALIDATED', 'APPROVED', 'COMPLETED']);
      } finally {
        abort.abort();
        await reader.cancel().catch(() => undefined);
      }
    }
  });

  it('replays a poisoned event\'s dead letter from the page, which refuses a change without the CSRF token', async () => {
    const poisonId = randomUUID();
    const kafka = new Kafka({ clientId: 'e2e-ops-poison', brokers: running.config.kafka.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: running.app.get(KafkaTopics).physical(TOPICS.initiated),
      messages: [{ key: 'OPS-POISON', value: JSON.stringify(createEnvelope('payment.initiated', poisonId, { orderId: 'x' }, 'poison')) }],
    });
    await producer.disconnect();

    const row = page.locator(`tr[data-payment-id="${poisonId}"][data-dead-letter]`);
    await row.waitFor({ timeout: 30_000 });
    const letterId = await row.getAttribute('data-dead-letter');
    await expect(row.locator('.error-text').textContent()).resolves.toMatch(/PermanentEventError/);

    // The same replay from the page's own origin but without the token: refused, nothing published.
    const forged = await page.evaluate((id) => fetch(`/api/admin/dead-letters/${id}/replay`, { method: 'POST' }).then(async (r) => [r.status, await r.json()]), letterId);
    expect(forged).toEqual([403, { error: expect.objectContaining({ code: 'csrf_token_invalid' }) }]);
    const dataSource = running.app.get(DataSource);
    const replayedAt = async () => ((await dataSource.query(`SELECT replayed_at FROM dead_letters WHERE id = $1`, [letterId])) as { replayed_at: Date | null }[])[0].replayed_at;
    expect(await replayedAt()).toBeNull();

    await row.getByRole('button', { name: `Replay dead letter ${letterId}` }).click();
    await expect(page.getByRole('status').filter({ hasText: 'published' }).textContent()).resolves.toContain(letterId);
    expect(await replayedAt()).toBeInstanceOf(Date);
    await page.locator(`tr[data-dead-letter="${letterId}"] td[data-replayed="yes"]`).waitFor();
    await screenshot(page, 'dead-letters');
  });

  it('shows the lag bars of a stage held back rise, and fall once it runs again', async () => {
    // An app of its own (its own topics and keys) with the ledger stage left out: payments stop at APPROVED.
    const isolated = { KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.ops-lag.`, REDIS_KEY_PREFIX: `test:${TEST_RUN_ID}:ops-lag:` };
    const heldBack = await startTestApp({ ...KEYS, ...isolated, APP_ROLES: 'api,validation,fraud' });
    let ledger: RunningApp | undefined;
    let closed = false;
    // A context of its own: cookies are per host, not per port, and this app keeps its sessions apart.
    const lagContext = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const lagPage = await lagContext.newPage();
    try {
      await signIn(lagPage, heldBack);
      const answers = await Promise.all(Array.from({ length: 30 }, () => pay(heldBack, `OPS-LAG-${randomUUID().slice(0, 8)}`)));
      expect(answers.every((a) => a.status === 202)).toBe(true);
      const total = (stage: string) => lagPage.locator(`li[data-stage="${stage}"]`).getAttribute('data-total-lag').then(Number);
      await until(() => total('ledger'), (lag) => lag === 30, 'the ledger lag of 30 payments on the page', 30_000);
      expect(await lagPage.locator('li[data-stage="ledger"] [data-lag]').evaluateAll((bars) => bars.filter((bar) => Number(bar.getAttribute('data-lag')) > 0).length)).toBeGreaterThan(0);
      expect(await total('validation')).toBe(0);
      await screenshot(lagPage, 'lag-held-back');
      await expectAccessible(lagPage);

      ledger = await startTestApp({ ...KEYS, ...isolated, APP_ROLES: 'ledger' });
      await until(() => total('ledger'), (lag) => lag === 0, 'the ledger lag back to 0 on the page', 60_000);

      // Shutting down with a page's feed open ends the feed (the server's close would wait for it), and the page says so.
      await Promise.all([ledger.close(), heldBack.close()]);
      ledger = undefined;
      closed = true;
      await lagPage.getByText('feed retrying').waitFor();
      // The service away is not a sign-out: the page keeps trying to reconnect, and keeps its session.
      for (let attempt = 0; attempt < 2; attempt++) {
        await lagPage.waitForEvent('requestfailed', { predicate: (failed) => new URL(failed.url()).pathname.startsWith('/ops/api/'), timeout: 15_000 });
      }
      expect(await lagPage.getByLabel('Admin API key').count()).toBe(0);
      expect(await lagPage.getByText('feed retrying').isVisible()).toBe(true);
    } finally {
      await lagContext.close();
      await ledger?.close();
      if (!closed) await heldBack.close();
    }
  });

  it('keeps its operators signed in while Redis is away, and comes back by itself', async () => {
    // A Redis of its own, to stall: the shared one serves the other suites.
    const port = await freePort();
    const redis = new PrivateRedis(port, 0, false, chaosCacheDir(), () => undefined);
    await redis.start();
    const isolated = { KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.ops-redis.`, REDIS_PORT: String(port), APP_ROLES: 'api' };
    let app: RunningApp | undefined;
    const awayContext = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const awayPage = await awayContext.newPage();
    try {
      app = await startTestApp({ ...KEYS, ...isolated });
      await signIn(awayPage, app);
      const [cookie] = await awayContext.cookies();
      redis.pause();
      try {
        const asked = await request(`${app.url}/ops/api/session`, { headers: { cookie: `ops_session=${cookie.value}` } });
        expect([asked.status, asked.body.error?.code]).toEqual([503, 'session_unavailable']);
        // A page opened now cannot learn its session: it says so and asks again, rather than ask for the key.
        await awayPage.reload();
        await awayPage.getByText(/cannot check its session right now/).waitFor();
        await screenshot(awayPage, 'session-unavailable');
        await expectAccessible(awayPage);
        expect(await awayPage.getByLabel('Admin API key').count()).toBe(0);
      } finally {
        redis.resume();
      }
      await awayPage.getByText('feed live').waitFor({ timeout: 15_000 });
      await awayPage.getByText(/Signed in: admin key/).waitFor();
    } finally {
      await awayContext.close();
      await app?.close();
      await redis.stop();
      redis.removeData();
    }
  });

  it("keeps the session over a reload, and shows a merchant's webhook endpoint with its deliveries", async () => {
    // Nothing listens on port 9: the delivery is attempted, refused and left to retry.
    const endpoint = await api(running, '/api/webhook-endpoints', { body: { url: `http://127.0.0.1:9/ops-suite-hook/${MERCHANT}`, events: ['payment.completed'] } });
    expect(endpoint.status).toBe(201);
    try {
      // A reload keeps the session (the cookie), and starts the page afresh on the live tail.
      await page.reload();
      await page.getByText(/Signed in: admin key/).waitFor();
      await page.getByText('feed live').waitFor();
      const payer = `OPS-PAYER-${randomUUID().slice(0, 8)}`;
      await fund(payer);
      const { body } = await pay(running, payer);
      await page.locator(`.tail tr[data-payment-id="${body.paymentId}"][data-status="COMPLETED"]`).waitFor({ timeout: 30_000 });
      await until(async () => (await api(running, `/api/webhook-endpoints/${endpoint.body.id}/deliveries`)).body.data, (d) => d.length > 0, 'the delivery of payment.completed');
      // The endpoints panel polls every 10 s; a click on Show reads the deliveries now.
      await page.getByRole('button', { name: `Show deliveries to ${endpoint.body.url}` }).waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: `Show deliveries to ${endpoint.body.url}` }).click();
      await page.getByRole('table', { name: 'Webhook deliveries' }).getByText('payment.completed').first().waitFor({ timeout: 15_000 });
      await screenshot(page, 'webhooks');
    } finally {
      await api(running, `/api/webhook-endpoints/${endpoint.body.id}`, { method: 'DELETE' });
    }
  });

  it('signs out: the session is forgotten by the server, not just by the browser', async () => {
    const [cookie] = await context.cookies();
    // Another tab's feed on the same session: signing out ends it too (the test waits for its end).
    const otherTab = (await fetch(`${running.url}/ops/api/feed`, { headers: { cookie: `ops_session=${cookie.value}` } })).body!.getReader();
    await otherTab.read();
    // And a second page of the console: its feed refused, it asks for the key again by itself.
    const secondPage = await context.newPage();
    await secondPage.goto(`${running.url}/ops`);
    await secondPage.getByText('feed live').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin API key').waitFor();
    await secondPage.getByLabel('Admin API key').waitFor({ timeout: 15_000 });
    await secondPage.close();
    expect(await context.cookies()).toEqual([]);
    while (!(await otherTab.read()).done);
    const replayed = await request(`${running.url}/ops/api/session`, { headers: { cookie: `ops_session=${cookie.value}` } });
    expect(replayed.status).toBe(401);
    expect(replayed.body.error.code).toBe('session_invalid');
  });
});
