import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook, type WebhookRequest } from './webhook-sender.js';

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A merchant endpoint on 127.0.0.1: each path answers differently, and every request that reaches it is recorded. */
const received: Received[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    switch (req.url) {
      case '/ok':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('thanks');
        return;
      case '/redirect':
        res.writeHead(302, { Location: '/elsewhere' }).end('moved');
        return;
      case '/slow':
        return; // never answers
      case '/large':
        res.writeHead(200);
        res.write('a'.repeat(64 * 1024));
        res.end('b'.repeat(64 * 1024));
        return;
      case '/euro':
        res.writeHead(200).end('€€€'); // 3 bytes each
        return;
      default:
        res.writeHead(404).end();
    }
  });
});
let base: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
});

const send = (path: string, overrides: Partial<WebhookRequest> = {}) =>
  sendWebhook({ url: `${base}${path}`, headers: {}, body: '{"type":"payment.succeeded"}', timeoutMs: 2000, allowPrivate: true, ...overrides });

describe('sendWebhook', () => {
  it('should POST the body and headers as given and report the answer', async () => {
    const body = JSON.stringify({ type: 'payment.succeeded', data: { id: 'pay_1', amount: '€12.50' } });
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000', 'webhook-signature': 'v1,c2lnbmF0dXJl' };
    const result = await send('/ok', { body, headers });
    expect(result).toEqual({ statusCode: 200, durationMs: expect.any(Number), bodyExcerpt: 'thanks' });
    expect(result.durationMs).toBeGreaterThan(0);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/ok', body });
    expect(received[0].headers).toMatchObject({
      ...headers,
      'content-type': 'application/json',
      'user-agent': 'payments-system-webhooks/1',
      'content-length': String(Buffer.byteLength(body)),
    });
  });

  it('should report a redirect as its status and not follow it', async () => {
    const result = await send('/redirect');
    expect(result).toMatchObject({ statusCode: 302, bodyExcerpt: 'moved' });
    expect(result.error).toBeUndefined();
    expect(received.map((r) => r.url)).toEqual(['/redirect']);
  });

  it('should give up on a server that does not answer in time', async () => {
    const result = await send('/slow', { timeoutMs: 150 });
    expect(result).toEqual({ statusCode: null, durationMs: expect.any(Number), error: 'timeout after 150 ms' });
    expect(result.durationMs).toBeGreaterThanOrEqual(140);
    expect(result.durationMs).toBeLessThan(1500);
  });

  it('should keep only maxResponseBytes of a large answer (1024 by default)', async () => {
    await expect(send('/large', { maxResponseBytes: 100 })).resolves.toMatchObject({ statusCode: 200, bodyExcerpt: 'a'.repeat(100) });
    const byDefault = await send('/large');
    expect(byDefault).toMatchObject({ statusCode: 200, bodyExcerpt: 'a'.repeat(1024) });
    expect(byDefault.error).toBeUndefined();
  });

  it('should not cut a character in half at the limit', async () => {
    await expect(send('/euro', { maxResponseBytes: 7 })).resolves.toMatchObject({ statusCode: 200, bodyExcerpt: '€€' });
  });

  it.each(['127.0.0.1', 'localhost'])('should refuse %s unless allowPrivate, before any request is sent', async (host) => {
    const result = await send('/ok', { url: `${base.replace('127.0.0.1', host)}/ok`, allowPrivate: false });
    // localhost may resolve to ::1 first on some machines; either is refused.
    expect(result).toEqual({ statusCode: null, durationMs: expect.any(Number), error: expect.stringMatching(/(127\.0\.0\.1|::1).* is refused/) });
    expect(received).toEqual([]);
  });

  it('should reach a private host by name through its checked lookup when allowPrivate', async () => {
    await expect(send('/ok', { url: `${base.replace('127.0.0.1', 'localhost')}/ok` })).resolves.toMatchObject({ statusCode: 200, bodyExcerpt: 'thanks' });
  });

  it('should turn a refused connection into an error result', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await send('/ok', { url: `http://127.0.0.1:${port}/ok` });
    expect(result).toEqual({ statusCode: null, durationMs: expect.any(Number), error: expect.stringContaining('ECONNREFUSED') });
  });

  it('should turn an invalid url or header into an error result instead of throwing', async () => {
    await expect(send('/ok', { url: 'ftp://127.0.0.1/ok' })).resolves.toMatchObject({ statusCode: null, error: 'url must use http or https' });
    await expect(send('/ok', { headers: { 'webhook-id': 'msg_1\r\nX-Injected: 1' } })).resolves.toMatchObject({ statusCode: null, error: expect.stringContaining('webhook-id') });
    expect(received).toEqual([]);
  });
});
