import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { checkWebhookInvariants } from '../src/webhooks/webhook-invariants.js';
import { WebhooksRepository } from '../src/webhooks/webhooks.repository.js';
import { WebhookReceiver as Receiver } from '../tools/webhook-receiver.js';
import { request } from './support/http.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { until } from './support/until.js';

/**
 * Webhooks through the real pipeline: a payment's outcome on payments.finalized, the webhooks stage
 * storing its event and deliveries in PostgreSQL, the delivery workers POSTing it to a real HTTP
 * receiver in this process, which verifies every signature with the `standardwebhooks` package.
 * Each test has a merchant of its own, so their endpoints and events never mix.
 */
const RUN = randomUUID().slice(0, 8);
const MERCHANTS = ['SIGNED', 'RETRY', 'UNSUB', 'GONE', 'DELETED', 'REFUND', 'EVENTS', 'VERIFY', 'GIVEUP', 'LEASE'].map((name) => ({ id: `WH-${name}-${RUN}`, key: mintApiKey() }));
const merchant = (name: string) => MERCHANTS.find((m) => m.id === `WH-${name}-${RUN}`)!;
const adminKey = mintApiKey();

describe('webhooks (real Kafka, Redis, PostgreSQL and HTTP receivers)', () => {
  let running: RunningApp;
  let dataSource: DataSource;
  const receivers: Receiver[] = [];

  const call = (path: string, init: { body?: unknown; key?: string; method?: string } = {}) =>
    request(`${running.url}${path}`, {
      ...(init.method && { method: init.method }),
      ...(init.body !== undefined && { body: init.body }),
      headers: { authorization: `Bearer ${init.key ?? adminKey}` },
    });

  async function receiver(answer?: (index: number) => number): Promise<{ receiver: Receiver; url: string }> {
    const r = new Receiver(answer);
    receivers.push(r);
    return { receiver: r, url: await r.start() };
  }

  async function endpoint(name: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
    const created = await call('/api/webhook-endpoints', { key: merchant(name).key, body: { url, events, description: `${name} test` } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^we_/), url, events, status: 'enabled', secret: expect.stringMatching(/^whsec_/) });
    return created.body;
  }

  /** A COMPLETED payment of `amount` USD of this merchant, from a funded payer of its own. */
  async function completedPayment(name: string, amount = '5.00'): Promise<string> {
    const userId = `WH-PAYER-${randomUUID().slice(0, 8)}`;
    expect((await call(`/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount: '100.00', currency: 'USD' } })).status).toBe(201);
    const accepted = await call('/api/payments', { key: merchant(name).key, body: { orderId: `ORD-${randomUUID()}`, amount, currency: 'USD', userId } });
    expect(accepted.status).toBe(202);
    const done = await until(async () => (await call(`/api/payments/${accepted.body.paymentId}`)).body, (p) => p.status === 'COMPLETED', 'the payment completed');
    return done.paymentId;
  }

  /** The merchant's events as the events API lists them. */
  const eventsOf = async (name: string, query = '') => (await call(`/api/events${query}`, { key: merchant(name).key })).body;

  beforeAll(async () => {
    running = await startTestApp({
      API_KEYS: MERCHANTS.map((m) => `${m.id}:${hashApiKey(m.key)}`).join(','),
      ADMIN_API_KEYS: hashApiKey(adminKey),
      RATE_LIMIT_ENABLED: 'false',
      // Seconds, not hours, between attempts; and the receivers listen on loopback.
      WEBHOOK_RETRY_SCHEDULE: '200ms,300ms,400ms',
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    });
    dataSource = running.app.get(DataSource);
    for (const m of MERCHANTS) await dataSource.query(`INSERT INTO merchants (id, name) VALUES ($1, 'webhooks suite') ON CONFLICT DO NOTHING`, [m.id]);
  });

  afterAll(async () => {
    await running?.close();
    await Promise.all(receivers.map((r) => r.stop()));
  });

  it('delivers a completed payment once to a subscribed endpoint, signed as Standard Webhooks says, and lists the event', async () => {
    const { receiver: hooks, url } = await receiver();
    const { secret, id: endpointId } = await endpoint('SIGNED', url, ['payment.completed']);
    const paymentId = await completedPayment('SIGNED', '12.34');

    await until(async () => hooks.received.length, (n) => n >= 1, 'the webhook');
    const [event] = hooks.verified(secret);
    expect(event).toMatchObject({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: 'payment.completed',
      data: { object: { object: 'payment', paymentId, merchantId: merchant('SIGNED').id, amount: '12.34', currency: 'USD', status: 'COMPLETED' } },
    });
    expect(hooks.received[0].headers['webhook-id']).toBe(event.id);
    // Another secret does not verify it: the signature is real.
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 7).toString('base64')}`).verify(hooks.received[0].body, hooks.received[0].headers as Record<string, string>)).toThrow();

    const listed = await eventsOf('SIGNED');
    expect(listed).toMatchObject({ hasMore: false, data: [{ id: event.id, type: 'payment.completed' }] });
    expect((await call(`/api/events/${event.id}`, { key: merchant('SIGNED').key })).body).toEqual(listed.data[0]);
    expect((await call(`/api/events/${event.id}`, { key: merchant('RETRY').key })).status).toBe(404); // another merchant's
    const deliveries = await until(async () => (await call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('SIGNED').key })).body.data, (d) => d[0]?.status === 'delivered', 'the delivery recorded');
    expect(deliveries).toMatchObject([{ eventId: event.id, eventType: 'payment.completed', status: 'delivered', attempts: [{ statusCode: 200, error: null }] }]);
    // Listed without the secret.
    expect((await call('/api/webhook-endpoints', { key: merchant('SIGNED').key })).body.data).toEqual([expect.not.objectContaining({ secret: expect.anything() })]);

    // A redelivery sends the same event again, with the same webhook-id: receivers dedupe by it.
    expect((await call(`/api/events/${event.id}/redeliver`, { key: merchant('SIGNED').key, method: 'POST' })).body).toEqual({ eventId: event.id, queued: 1 });
    await until(async () => hooks.received.length, (n) => n >= 2, 'the redelivery');
    expect(hooks.verified(secret).map((e) => e.id)).toEqual([event.id, event.id]);
  });

  it('tries a failing receiver again with backoff: three 500s, then the 4th attempt delivers, every attempt listed', async () => {
    const { receiver: hooks, url } = await receiver((i) => (i < 3 ? 500 : 200));
    const { secret, id: endpointId } = await endpoint('RETRY', url, ['*']);
    await completedPayment('RETRY');

    await until(async () => hooks.received.length, (n) => n >= 4, 'four attempts');
    const events = hooks.verified(secret);
    expect(new Set(events.map((e) => e.id)).size).toBe(1); // one event, four attempts
    const [delivery] = await until(async () => (await call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('RETRY').key })).body.data, (d) => d[0]?.status === 'delivered', 'delivered');
    expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 500, 200]);
    expect(delivery.attempts.slice(0, 3).map((a: { error: string }) => a.error)).toEqual(['HTTP 500', 'HTTP 500', 'HTTP 500']);
    // The waits follow the schedule (200, 300, 400 ms, ±10 %): each later than the one before's lower bound.
    const times = delivery.attempts.map((a: { attemptedAt: string }) => Date.parse(a.attemptedAt));
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(180);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(270);
    expect(times[3] - times[2]).toBeGreaterThanOrEqual(360);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hooks.received).toHaveLength(4); // nothing after the success
  });

  it('sends nothing of a type the endpoint did not subscribe to, though the event is listed', async () => {
    const { receiver: hooks, url } = await receiver();
    const { id: endpointId } = await endpoint('UNSUB', url, ['refund.succeeded']);
    await completedPayment('UNSUB');
    const listed = await until(() => eventsOf('UNSUB'), (page) => page.data.length === 1, 'the event stored');
    expect(listed.data[0].type).toBe('payment.completed');
    await new Promise((resolve) => setTimeout(resolve, 500)); // ten polls of the workers
    expect(hooks.received).toEqual([]);
    expect((await call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('UNSUB').key })).body.data).toEqual([]);
  });

  it('disables an endpoint that answers 410 Gone, which then gets nothing more', async () => {
    const { receiver: hooks, url } = await receiver(() => 410);
    const { id: endpointId } = await endpoint('GONE', url, ['payment.completed']);
    await completedPayment('GONE');
    await until(async () => (await call('/api/webhook-endpoints', { key: merchant('GONE').key })).body.data[0], (e) => e.status === 'disabled', 'the endpoint disabled');
    expect((await call('/api/webhook-endpoints', { key: merchant('GONE').key })).body.data[0]).toMatchObject({ id: endpointId, status: 'disabled', disabledReason: 'gone' });
    expect(hooks.received).toHaveLength(1);

    await completedPayment('GONE');
    await until(() => eventsOf('GONE'), (page) => page.data.length === 2, 'the second event stored');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hooks.received).toHaveLength(1);
  });

  it('sends nothing to a deleted endpoint, and 404s it afterwards', async () => {
    const { receiver: hooks, url } = await receiver();
    const { id: endpointId } = await endpoint('DELETED', url, ['*']);
    expect((await call(`/api/webhook-endpoints/${endpointId}`, { key: merchant('DELETED').key, method: 'DELETE' })).status).toBe(204);
    await completedPayment('DELETED');
    await until(() => eventsOf('DELETED'), (page) => page.data.length === 1, 'the event stored');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hooks.received).toEqual([]);
    expect((await call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('DELETED').key })).status).toBe(404);
    expect((await call('/api/webhook-endpoints', { key: merchant('DELETED').key })).body.data).toEqual([]);
  });

  it('delivers refund outcomes too, and signs with the new secret after a rotation', async () => {
    const { receiver: hooks, url } = await receiver();
    const { id: endpointId } = await endpoint('REFUND', url, ['refund.succeeded']);
    const rotated = await call(`/api/webhook-endpoints/${endpointId}/rotate-secret`, { key: merchant('REFUND').key, method: 'POST' });
    expect(rotated.body.secret).toMatch(/^whsec_/);
    const paymentId = await completedPayment('REFUND', '20.00');
    const refund = await call(`/api/payments/${paymentId}/refunds`, { key: merchant('REFUND').key, body: { amount: '7.50' } });
    expect(refund.status).toBe(202);
    await until(async () => hooks.received.length, (n) => n >= 1, 'the refund webhook');
    expect(hooks.verified(rotated.body.secret)).toMatchObject([
      { type: 'refund.succeeded', data: { object: { object: 'refund', refundId: refund.body.refundId, paymentId, amount: '7.50', status: 'SUCCEEDED' } } },
    ]);
  });

  it('pages through events newest first with starting_after, filters by type and time, and refuses bad queries', async () => {
    for (let i = 0; i < 3; i++) await completedPayment('EVENTS');
    const all = await until(() => eventsOf('EVENTS'), (page) => page.data.length === 3, 'three events');
    const first = await eventsOf('EVENTS', '?limit=2');
    expect(first.hasMore).toBe(true);
    const second = await eventsOf('EVENTS', `?limit=2&starting_after=${first.data[1].id}`);
    expect(second.hasMore).toBe(false);
    expect([...first.data, ...second.data].map((e: { id: string }) => e.id)).toEqual(all.data.map((e: { id: string }) => e.id));
    expect(all.data.map((e: { created: string }) => e.created)).toEqual([...all.data.map((e: { created: string }) => e.created)].sort().reverse());
    expect((await eventsOf('EVENTS', '?type=refund.succeeded')).data).toEqual([]);
    const newest = all.data[0].created;
    expect((await eventsOf('EVENTS', `?created[gte]=${encodeURIComponent(newest)}`)).data.map((e: { id: string }) => e.id)).toEqual([all.data[0].id]);
    expect((await eventsOf('EVENTS', `?created[lte]=${encodeURIComponent(all.data[2].created)}`)).data.map((e: { id: string }) => e.id)).toEqual([all.data[2].id]);
    for (const [query, param] of [
      ['?type=payment.teleported', 'type'],
      ['?limit=0', 'limit'],
      ['?created[gte]=yesterday', 'created[gte]'],
    ]) {
      const refused = await call(`/api/events${query}`, { key: merchant('EVENTS').key });
      expect({ status: refused.status, code: refused.body.error?.code, param: refused.body.error?.param }).toEqual({ status: 400, code: 'parameter_invalid', param });
    }
    expect((await call('/api/events?starting_after=evt_00000000000000000000000000000000', { key: merchant('EVENTS').key })).status).toBe(404);
  });

  it('refuses endpoint URLs that are not http(s), carry credentials, or (in production mode) reach private addresses', async () => {
    const create = (url: string) => call('/api/webhook-endpoints', { key: merchant('EVENTS').key, body: { url, events: ['*'] } });
    for (const url of ['ftp://example.com/hooks', 'http://user:secret@example.com/hooks', 'not a url']) {
      const refused = await create(url);
      expect({ url, status: refused.status, code: refused.body.error?.code }).toEqual({ url, status: 400, code: 'webhook_url_invalid' });
    }
    const badEvents = await call('/api/webhook-endpoints', { key: merchant('EVENTS').key, body: { url: 'https://example.com/hooks', events: ['payment.teleported'] } });
    expect(badEvents.status).toBe(400);

    const production = await startTestApp({ WEBHOOK_ALLOW_PRIVATE_URLS: 'false' }, { consumers: false });
    try {
      for (const url of ['http://127.0.0.1:8080/hooks', 'http://localhost/hooks', 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/hooks', 'http://[::1]/hooks']) {
        const refused = await request(`${production.url}/api/webhook-endpoints`, { body: { url, events: ['*'] } });
        expect({ url, status: refused.status, code: refused.body.error?.code }).toEqual({ url, status: 400, code: 'webhook_url_forbidden' });
      }
      const rows: { n: string }[] = await dataSource.query(`SELECT count(*)::text AS n FROM webhook_endpoints WHERE url LIKE '%169.254.169.254%' OR url LIKE '%10.1.2.3%'`);
      expect(rows[0].n).toBe('0');
    } finally {
      await production.close();
    }
  });

  it("lets verify's check find an outcome whose delivery is missing, and none while every outcome has its own", async () => {
    const { receiver: hooks, url } = await receiver();
    const { id: endpointId } = await endpoint('VERIFY', url, ['payment.completed']);
    const paymentId = await completedPayment('VERIFY');
    await until(async () => hooks.received.length, (n) => n >= 1, 'the webhook');
    await until(async () => (await call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('VERIFY').key })).body.data[0]?.status, (s) => s === 'delivered', 'delivered');
    const ours = (violations: { detail: Record<string, unknown> }[]) => violations.filter((v) => v.detail.endpointId === endpointId);
    expect(ours(await checkWebhookInvariants(dataSource.manager, new Date()))).toEqual([]);

    // The delivery row lost (as a bug, or a restore from an old backup, would lose it): the check names it.
    await dataSource.query(`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)`, [endpointId]);
    await dataSource.query(`DELETE FROM webhook_deliveries WHERE endpoint_id = $1`, [endpointId]);
    expect(ours(await checkWebhookInvariants(dataSource.manager, new Date()))).toEqual([
      { invariant: 'every outcome has a delivery to each endpoint subscribed to it', detail: { paymentId, type: 'payment.completed', endpointId } },
    ]);
    // Its redelivery puts it back.
    const [event] = (await eventsOf('VERIFY')).data;
    expect((await call(`/api/events/${event.id}/redeliver`, { key: merchant('VERIFY').key, method: 'POST' })).body.queued).toBe(1);
    expect(ours(await checkWebhookInvariants(dataSource.manager, new Date()))).toEqual([]);
  });

  it('gives a delivery up once it has failed for WEBHOOK_GIVE_UP_HOURS, and disables an endpoint failing that long', async () => {
    // Give-up time 0: each delivery's first failure is already past it.
    const impatient = await startTestApp({ WEBHOOK_GIVE_UP_HOURS: '0', WEBHOOK_POLL_MS: '50', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }, { consumers: false });
    const { receiver: hooks, url } = await receiver(() => 500);
    const { id: endpointId } = await endpoint('GIVEUP', url, ['payment.completed']);
    try {
      const listed = () => call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('GIVEUP').key }).then((r) => r.body.data);
      const status = async () => (await call('/api/webhook-endpoints', { key: merchant('GIVEUP').key })).body.data[0];
      // Both apps' workers take deliveries: the suite's retries within a second, the impatient one gives up
      // at once. A delivery ends failed; the endpoint goes once a failure finds it failing since an earlier one.
      for (let i = 0; i < 5 && (await status()).status === 'enabled'; i++) {
        await completedPayment('GIVEUP');
        await until(listed, (d) => d.length === i + 1 && ['failed', 'cancelled'].includes(d[0].status), `delivery ${i + 1} given up`);
      }
      expect(await status()).toMatchObject({ status: 'disabled', disabledReason: 'failing' });
      const deliveries = await listed();
      expect(deliveries.map((d: { status: string }) => d.status).filter((s: string) => s !== 'failed')).toEqual([]);
      expect(deliveries.every((d: { attempts: { statusCode: number }[] }) => d.attempts.every((a) => a.statusCode === 500))).toBe(true);
      expect(hooks.received.length).toBeGreaterThanOrEqual(deliveries.length);
    } finally {
      await impatient.close();
    }
  });

  it("lets only the holder of a delivery's current lease record its outcome: a redelivery takes the lease back", async () => {
    const { receiver: hooks, url } = await receiver();
    const { id: endpointId } = await endpoint('LEASE', url, ['payment.completed']);
    await completedPayment('LEASE');
    const listed = () => call(`/api/webhook-endpoints/${endpointId}/deliveries`, { key: merchant('LEASE').key }).then((r) => r.body.data);
    await until(listed, (d) => d[0]?.status === 'delivered', 'the first delivery');
    // A worker holds the delivery (as claimDue leases it) while the merchant redelivers the event.
    const [[claimed]]: [{ id: string; lease_id: string }[]] = await dataSource.query(
      `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() + interval '1 hour', locked_until = now() + interval '1 minute', lease_id = gen_random_uuid()
       WHERE endpoint_id = $1 RETURNING id, lease_id`,
      [endpointId],
    );
    const [event] = (await eventsOf('LEASE')).data;
    expect((await call(`/api/events/${event.id}/redeliver`, { key: merchant('LEASE').key, method: 'POST' })).body.queued).toBe(1);
    // The stale holder's outcome comes in: its attempt is recorded, the delivery's state is not its to change.
    await running.app.get(WebhooksRepository).recordAttempt({ id: claimed.id, endpointId, leaseId: claimed.lease_id }, { attemptedAt: new Date().toISOString(), statusCode: 500, durationMs: 1, error: 'HTTP 500' }, { kind: 'failed' });
    const [{ status }]: { status: string }[] = await dataSource.query(`SELECT status FROM webhook_deliveries WHERE id = $1`, [claimed.id]);
    expect(status).not.toBe('failed');
    // The redelivery arrives, under the event's id.
    await until(async () => hooks.received.length, (n) => n >= 2, 'the redelivery');
    const [delivery] = await until(listed, (d) => d[0]?.status === 'delivered', 'delivered again');
    expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode).sort()).toEqual([200, 200, 500]);
    expect(new Set(hooks.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
  });
});
