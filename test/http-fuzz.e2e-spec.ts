import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { TOPICS } from '../src/pipeline/stages.js';
import { REDIS } from '../src/redis/redis.module.js';
import { KafkaProbe } from './support/kafka-probe.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { TEST_RUN_ID } from './support/test-config.js';

/**
 * Property-based fuzzing of the HTTP API with fast-check: over 10,000 generated requests (hostile and
 * valid-ish JSON, wrong types, huge numbers, unicode, prototype-pollution keys, non-JSON, odd content
 * types, Idempotency-Keys, Authorization headers and paths) over real keep-alive HTTP connections,
 * so the whole pipeline runs (Node's parser, Fastify's routing, hooks, content-type parsers and body
 * limit, Nest's pipes and filters), plus a few hundred raw byte sequences over a socket for the cases
 * an HTTP client refuses to send. (app.inject is out: light-my-request requires the ESM-only `cookie`,
 * which Jest on Node 20 cannot load.) Every answer must be 2xx
 * or 4xx in the API's JSON error shape, never 5xx; what was refused must leave no trace (no Kafka
 * event, no Redis key, no PostgreSQL row); and the app must still serve afterwards. Over 300 lines on
 * purpose: the generators and the checks of what a refused request left behind are read together.
 */

const merchantA = mintApiKey();
const merchantB = mintApiKey();
const admin = mintApiKey();
const REDIS_PREFIX = `test:${TEST_RUN_ID}:fuzz:`;
const BATCH = 10;
const BATCHES = 1_000; // 10,000 requests over HTTP
const SOCKET_RUNS = 300;

const PROTO_BODIES = [
  '{"__proto__":{"polluted":true},"orderId":"O-1","amount":1,"currency":"USD","userId":"U-1"}',
  '{"constructor":{"prototype":{"polluted":true}},"orderId":"O-1","amount":1,"currency":"USD","userId":"U-1"}',
  '{"orderId":"O-1","amount":1,"currency":"USD","userId":"U-1","__proto__":null}',
  '{"orderId":"O-1","amount":1,"currency":"USD","userId":"U-1","prototype":{}}',
  '{"a":{"__proto__":{"b":1}}}',
  '{"depositId":"D-1","amount":"1","currency":"USD","constructor":{"name":"x"}}',
  '{"__proto__":[]}',
];

const idLike = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }), weight: 2 },
  { arbitrary: fc.constantFrom('', ' ', 'USER-001', 'x'.repeat(65), '../etc', 'a\u0000b', '１２３', '💳', 'MERCHANT-001'), weight: 2 },
);

const amount = fc.oneof(
  fc.constantFrom('1.00', '99.99', '0.01', 5, 12.5, '1000000', '1000000.01', '1e3', '-1', '0', 0, -0, '0.001', ' 1', '1 ', '١٢', 'Infinity'),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => n.toString()),
  fc.stringMatching(/^\d{1,20}(\.\d{0,6})?$/),
  fc.constantFrom(null, true, [], {}, [1], { value: 1 }),
);

const currency = fc.oneof(fc.constantFrom('USD', 'EUR', 'GBP', 'CNY', 'JPY', 'KRW', 'BHD'), fc.constantFrom('usd', 'XXX', '', 'US D', null, 840), fc.string({ maxLength: 4 }));

const withExtras = <T extends Record<string, unknown>>(base: fc.Arbitrary<T>) =>
  fc.tuple(base, fc.option(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), { nil: undefined, freq: 3 })).map(
    ([object, extra]) => ({ ...extra, ...object }),
  );

/** Mostly-valid bodies, so that a fair share gets past validation (202s, 409s, 422s) and must leave exact traces. */
const validPayment = fc.record(
  {
    orderId: fc.stringMatching(/^FZ-[A-Za-z0-9]{1,12}$/),
    amount: fc.constantFrom('1.00', 5, '12.34', 0.5),
    currency: fc.constantFrom('USD', 'EUR'),
    userId: fc.constantFrom('USER-001', 'USER-002'),
    merchantId: fc.constantFrom('MERCHANT-001', 'MERCHANT-002'),
    description: fc.string({ unit: 'grapheme', maxLength: 40 }),
  },
  { requiredKeys: ['orderId', 'amount', 'currency', 'userId'] },
);
const validDeposit = fc.record({
  depositId: fc.stringMatching(/^FZD-[A-Za-z0-9]{1,8}$/),
  amount: fc.constantFrom('1.00', 2, '0.5'),
  currency: fc.constantFrom('USD', 'EUR'),
});

const chaoticPayment = withExtras(
  fc.record(
    {
      orderId: idLike,
      amount,
      currency,
      userId: idLike,
      merchantId: fc.oneof(fc.constantFrom('MERCHANT-001', 'MERCHANT-002'), idLike),
      description: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constant(7)),
    },
    { requiredKeys: [] },
  ),
);

const paymentBody = fc.oneof({ arbitrary: validPayment, weight: 3 }, { arbitrary: chaoticPayment, weight: 5 });
const depositBody = fc.oneof(validDeposit, withExtras(fc.record({ depositId: idLike, amount, currency }, { requiredKeys: [] })));

/** The raw body, or undefined for none. */
const body: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: paymentBody.map((b) => JSON.stringify(b)), weight: 8 },
  { arbitrary: depositBody.map((b) => JSON.stringify(b)), weight: 3 },
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 2 },
  { arbitrary: fc.constantFrom(...PROTO_BODIES), weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 2 },
  {
    arbitrary: fc.constantFrom(
      '',
      'null',
      '{',
      '{"orderId":',
      '[]'.repeat(5000),
      '['.repeat(5000) + ']'.repeat(5000),
      `{"description":"${'x'.repeat(17_000)}"}`,
      '{"amount":1e999999}',
      '{"amount":123456789012345678901234567890}',
      '\ufeff{"orderId":"O"}',
      'orderId=1&amount=2',
    ),
    weight: 2,
  },
  { arbitrary: fc.constant(undefined), weight: 1 },
);

const segment = fc.oneof(
  fc.uuid().map(String),
  idLike.map((s) => encodeURIComponent(s)),
  fc.constantFrom('..', '.', '%2e%2e', '%00', '%', '%zz', '%E2%82', 'é', '%F0%9F%92%B3', 'a'.repeat(3000), '4111111111111111', ''),
);

const path: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constant('/api/payments'), weight: 10 },
  { arbitrary: segment.map((id) => `/api/payments/${id}`), weight: 3 },
  { arbitrary: segment.map((id) => `/api/payments/${id}/events`), weight: 2 },
  { arbitrary: segment.map((id) => `/api/payments/${id}/refunds`), weight: 2 },
  { arbitrary: segment.map((id) => `/api/refunds/${id}`), weight: 1 },
  { arbitrary: segment.map((id) => `/api/accounts/${id}/deposits`), weight: 3 },
  { arbitrary: segment.map((id) => `/api/accounts/${id}/balances`), weight: 1 },
  { arbitrary: fc.string({ maxLength: 12 }).map((limit) => `/api/admin/dead-letters?limit=${encodeURIComponent(limit)}`), weight: 1 },
  { arbitrary: segment.map((id) => `/api/admin/dead-letters/${id}/replay`), weight: 1 },
  {
    arbitrary: fc.constantFrom('/', '/api', '/api/', '//api/payments', '/api/payments/', '/API/payments', '/api/payments?x=1&x=2', '/api/docs-json', '/health', '/metrics', '/api/payments#frag', '/api/%2e%2e/payments'),
    weight: 2,
  },
  { arbitrary: fc.webPath().map((p) => `/api/${p.replace(/^\/+/, '')}`), weight: 1 },
);

const authorization = fc.oneof(
  { arbitrary: fc.constant(`Bearer ${merchantA}`), weight: 8 },
  { arbitrary: fc.constant(`Bearer ${merchantB}`), weight: 2 },
  { arbitrary: fc.constant(`Bearer ${admin}`), weight: 3 },
  { arbitrary: fc.constant(undefined), weight: 2 },
  {
    arbitrary: fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
      fc.constantFrom(`Bearer ${merchantA}x`, `bearer ${merchantA}`, `Basic ${merchantA}`, merchantA, 'Bearer', `Bearer ${'k'.repeat(5000)}`, `Bearer ${hashApiKey(merchantA)}`),
    ),
    weight: 2,
  },
);

const contentType = fc.oneof(
  { arbitrary: fc.constant('application/json'), weight: 10 },
  {
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      '',
    ),
    weight: 3,
  },
  { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
);

const idempotencyKey = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 6 },
  { arbitrary: fc.constantFrom('fuzz-key-1', 'fuzz-key-2'), weight: 2 },
  { arbitrary: fc.string({ maxLength: 300 }), weight: 2 },
);

const method = fc.oneof(
  { arbitrary: fc.constant('POST' as const), weight: 10 },
  { arbitrary: fc.constant('GET' as const), weight: 4 },
  { arbitrary: fc.constantFrom('PUT' as const, 'DELETE' as const, 'PATCH' as const, 'OPTIONS' as const, 'HEAD' as const), weight: 1 },
);

const requestCase = fc.record({ method, path, body, authorization, contentType, idempotencyKey });
type RequestCase = typeof requestCase extends fc.Arbitrary<infer T> ? T : never;

interface Accepted {
  paymentId: string;
  orderId: string;
  merchantId: string;
  idempotencyKey?: string;
}

describe('HTTP API fuzzing (fast-check)', () => {
  let running: RunningApp;
  let probe: KafkaProbe;
  let redis: Redis;
  let db: DataSource;
  const accepted: Accepted[] = [];
  let depositsCreated = 0;
  let requests = 0;
  const statuses = new Map<number, number>();

  const counts = async () => {
    const [row] = await db.query(
      `SELECT (SELECT COUNT(*) FROM payments)::int AS payments, (SELECT COUNT(*) FROM ledger_transfers)::int AS transfers,
              (SELECT COUNT(*) FROM dead_letters)::int AS "deadLetters"`,
    );
    return row as { payments: number; transfers: number; deadLetters: number };
  };

  const redisKeys = async (): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
      keys.push(...batch.map((key) => key.slice(REDIS_PREFIX.length)));
      cursor = next;
    } while (cursor !== '0');
    return keys;
  };

  beforeAll(async () => {
    running = await startTestApp(
      {
        API_KEYS: `MERCHANT-001:${hashApiKey(merchantA)},MERCHANT-002:${hashApiKey(merchantB)}`,
        ADMIN_API_KEYS: hashApiKey(admin),
        REDIS_KEY_PREFIX: REDIS_PREFIX,
        KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.fuzz.`,
        KAFKA_PUBLISH_TIMEOUT_MS: '5000',
      },
      // No pipeline stages: then the intake is the only writer, and every trace is the fuzz's own.
      { consumers: false },
    );
    probe = await KafkaProbe.start(running.config, TOPICS.initiated);
    redis = running.app.get<Redis>(REDIS);
    db = running.app.get(DataSource);
  });

  afterAll(async () => {
    agent.destroy();
    await probe?.stop();
    await running?.close();
  });

  const agent = new Agent({ keepAlive: true, maxSockets: BATCH });

  /** One request over HTTP through the whole pipeline, checked on its own. */
  async function send(c: RequestCase): Promise<void> {
    const headers: Record<string, string> = {};
    if (c.contentType !== undefined) headers['content-type'] = c.contentType;
    if (c.authorization !== undefined) headers.authorization = c.authorization;
    if (c.idempotencyKey !== undefined) headers['idempotency-key'] = c.idempotencyKey;
    const hasBody = c.body !== undefined && !['GET', 'HEAD'].includes(c.method);
    // An HTTP client sends only printable ASCII in the target; anything else is percent-encoded (raw bytes: see the socket test).
    const target = c.path.replace(/[^\x21-\x7e]/g, (char) => encodeURIComponent(char));
    const response = await exchangeHttp(running.url, agent, c.method, target, headers, hasBody ? c.body : undefined);
    requests++;
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    const context = `${c.method} ${c.path} -> ${response.statusCode} ${response.body.slice(0, 300)}`;

    if (response.statusCode >= 500 || response.statusCode < 200 || (response.statusCode >= 300 && response.statusCode < 400)) {
      throw new Error(`unexpected status: ${context}`);
    }
    if (response.statusCode >= 400 && c.method !== 'HEAD') {
      let parsed: { error?: { type?: unknown; code?: unknown; message?: unknown } };
      try {
        parsed = JSON.parse(response.body);
      } catch {
        throw new Error(`error answer is not JSON: ${context}`);
      }
      const error = parsed.error;
      if (typeof error?.type !== 'string' || typeof error.code !== 'string' || typeof error.message !== 'string') {
        throw new Error(`error answer not in the API's shape: ${context}`);
      }
      if (response.statusCode === 401 && !response.headers['www-authenticate']) throw new Error(`401 without WWW-Authenticate: ${context}`);
      if (response.statusCode === 429 && !response.headers['retry-after']) throw new Error(`429 without Retry-After: ${context}`);
    }
    if (response.statusCode === 202 && c.path.startsWith('/api/payments') && response.headers['idempotent-replayed'] !== 'true') {
      const created = JSON.parse(response.body) as Accepted;
      // HTTP drops a header value's surrounding whitespace; the server saw the trimmed key.
      accepted.push({ paymentId: created.paymentId, orderId: created.orderId, merchantId: created.merchantId, idempotencyKey: c.idempotencyKey?.trim() });
    }
    if (response.statusCode === 201 && c.path.includes('/deposits')) depositsCreated++;
  }

  it('should answer 10,000 generated requests with 2xx or a JSON 4xx, and keep what it refused out of Kafka, Redis and PostgreSQL', async () => {
    const before = await counts();
    const streamBefore = await redis.xlen('payments');

    await fc.assert(
      fc.asyncProperty(fc.array(requestCase, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(batch.map(send));
      }),
      { numRuns: BATCHES, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 0 },
    );
    expect(requests).toBeGreaterThanOrEqual(BATCH * BATCHES);
    // The generators reach every part of the API: refusals of each kind and real acceptances.
    for (const status of [202, 400, 401, 403, 404, 413, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);

    // Kafka holds exactly the accepted payments, each once.
    const acceptedIds = new Set(accepted.map((a) => a.paymentId));
    await probe.waitFor(() => true, { atLeast: accepted.length, timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const published = probe.events.map((e) => e.envelope?.paymentId);
    expect(published.filter((id) => !id || !acceptedIds.has(id))).toEqual([]);
    expect(published).toHaveLength(acceptedIds.size);

    // PostgreSQL: with the stages off, the intake writes no payment row; deposits only for their 201s.
    const after = await counts();
    expect(after).toEqual({ ...before, transfers: before.transfers + depositsCreated });

    // Redis: the global stream grew by one PENDING per accepted payment, and every key is accounted for.
    expect((await redis.xlen('payments')) - streamBefore).toBe(acceptedIds.size);
    const allowed = new Set<string>(['payments']);
    for (const a of accepted) {
      allowed.add(`payment:${a.paymentId}`).add(`payment:${a.paymentId}:events`).add(`payment:${a.paymentId}:event-ids`);
      allowed.add(`order:${encodeURIComponent(a.merchantId)}:${a.orderId}`);
      if (a.idempotencyKey !== undefined) allowed.add(`idempotency:${encodeURIComponent(a.merchantId)}:${a.idempotencyKey}`);
    }
    const strays = (await redisKeys()).filter((key) => !allowed.has(key) && !key.startsWith('ratelimit:'));
    expect(strays).toEqual([]);
    console.log(`fuzz: ${requests} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ${acceptedIds.size} payments accepted, ${depositsCreated} deposits`);
  });

  it('should answer a few hundred raw, partly malformed HTTP requests over a real socket the same way', async () => {
    const { port } = new URL(running.url);
    const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
    const rawRequest = fc
      .record({
        method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT'), token, fc.string({ maxLength: 8 })),
        target: fc.oneof(path, fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => `/api/${s}`)),
        version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 x', 'HTTP/1', ''),
        headers: fc.array(
          fc.oneof(
            fc.constantFrom(
              'Content-Type: application/json',
              `Authorization: Bearer ${merchantA}`,
              'Authorization: Bearer',
              'Transfer-Encoding: chunked',
              'Content-Length: 5',
              'Content-Length: -1',
              'Content-Length: 1, 2',
              'Host: a\u0000b',
              ' folded: value',
              'X-Long: ' + 'x'.repeat(20_000),
              'Idempotency-Key: \u0001',
              'bad header',
            ),
            fc.tuple(token, fc.string({ unit: 'binary-ascii', maxLength: 30 })).map(([name, value]) => `${name}: ${value}`),
          ),
          { maxLength: 4 },
        ),
        body: fc.oneof(body.map((b) => b ?? ''), fc.constantFrom('0\r\n\r\n', 'zz\r\nabc\r\n0\r\n\r\n')),
      })
      .map(({ method, target, version, headers, body: payload }) => {
        const lines = [`${method} ${target} ${version}`.trimEnd(), 'Host: 127.0.0.1', 'Connection: close', ...headers];
        if (!headers.some((h) => /^(content-length|transfer-encoding):/i.test(h))) lines.push(`Content-Length: ${Buffer.byteLength(payload)}`);
        return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${payload}`, 'latin1');
      });

    const answered = new Map<number | 'none', number>();
    const check = async (raw: Buffer) => {
        const { answer, waitedForBody } = await exchange(Number(port), raw);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
        answered.set(answer === '' ? 'none' : status, (answered.get(answer === '' ? 'none' : status) ?? 0) + 1);
        // Silence is allowed only where the server was still waiting for a body the request promised
        // and the client then gave up; what it does say must be a 2xx or a JSON 4xx (never a 5xx).
        if (answer === '') {
          if (!waitedForBody) throw new Error(`closed without an answer: ${raw.toString('latin1').slice(0, 300)}`);
          return;
        }
        if (!(status >= 200 && status < 300) && !(status >= 400 && status < 500)) throw new Error(`unexpected answer: ${answer.slice(0, 300)}`);
        if (status >= 400) {
          const payload = answer.slice(answer.indexOf('\r\n\r\n') + 4);
          const parsed = JSON.parse(payload) as { error?: { type?: unknown; code?: unknown } };
          if (typeof parsed.error?.type !== 'string' || typeof parsed.error.code !== 'string') throw new Error(`not the error shape: ${answer.slice(0, 300)}`);
        }
    };
    await fc.assert(
      fc.asyncProperty(fc.array(rawRequest, { minLength: 5, maxLength: 5 }), async (batch) => {
        await Promise.all(batch.map(check));
      }),
      { numRuns: SOCKET_RUNS / 5 },
    );
    console.log(`raw socket: ${JSON.stringify(Object.fromEntries(answered))}`);
    expect([...answered.values()].reduce((a, b) => a + b, 0)).toBe(SOCKET_RUNS);
    expect(answered.get(400) ?? 0).toBeGreaterThan(0);
  });

  it('should still be up and taking payments afterwards', async () => {
    expect((await fetch(`${running.url}/health/liveness`)).status).toBe(200);
    const orderId = `FUZZ-AFTER-${Date.now()}`;
    // The broker is shared: if a neighbour's test restarts it just now, the intake rightly answers 503; retry a while.
    let status = 0;
    for (let attempt = 0; attempt < 6 && status !== 202; attempt++) {
      const response = await fetch(`${running.url}/api/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${merchantA}` },
        body: JSON.stringify({ orderId, amount: '1.00', currency: 'USD', userId: 'USER-001' }),
      });
      status = response.status;
      if (status === 503) await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    expect(status).toBe(202);
  });
});

interface HttpAnswer {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request over the keep-alive agent. Some generated requests frame their body in ways the server
 * cannot follow (a body on a method without a length); it then answers and closes that connection,
 * and a request the agent had already put on it meets the close (ECONNRESET, "socket hang up"). The
 * server never read that request, so it goes again on a connection of its own, as clients retry.
 */
async function exchangeHttp(base: string, agent: Agent, method: string, path: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer> {
  try {
    return await exchangeOnce(base, agent, method, path, headers, body);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code !== 'ECONNRESET' && message !== 'socket hang up') throw error;
    return exchangeOnce(base, false, method, path, headers, body);
  }
}

function exchangeOnce(base: string, agent: Agent | false, method: string, path: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const outgoing = httpRequest({ agent, hostname, port, method, path, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ statusCode: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/**
 * Writes raw bytes and returns everything the server sends until it closes the connection. A request
 * the server is still reading after 1 s (a promised body that never comes) is ended by the client
 * (FIN), as a client that gave up would; the server must then answer or close, and an answer that
 * comes late (a 5xx after a slow failure) is still read. A server that does neither within 5 s fails.
 */
function exchange(port: number, raw: Buffer): Promise<{ answer: string; waitedForBody: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let waitedForBody = false;
    const socket = connect(port, '127.0.0.1');
    const finish = () => {
      clearTimeout(giveUp);
      clearTimeout(hung);
      socket.destroy();
      resolve({ answer: Buffer.concat(chunks).toString('utf8'), waitedForBody });
    };
    const giveUp = setTimeout(() => {
      if (chunks.length === 0) waitedForBody = true;
      socket.end();
    }, 1000);
    const hung = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within 5 s of the client's FIN: ${raw.toString('latin1').slice(0, 200)}`));
    }, 6000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? finish() : reject(error)));
    socket.write(raw);
  });
}
