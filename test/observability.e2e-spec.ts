import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BacklogMetrics } from '../src/pipeline/backlog.metrics.js';
import { request } from './support/http.js';
import { TEST_RUN_ID } from './support/test-config.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const TERMINAL = ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'];

/** Sum of every sample of one metric in Prometheus' text format, optionally only the labelled ones. */
function sampleSum(text: string, name: string, labelFilter: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name && labelFilter(match[2] ?? '')) sum += Number(match[3]);
  }
  return sum;
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('observability (real Kafka, Redis and PostgreSQL)', () => {
  let running: RunningApp;
  let api: string;

  beforeAll(async () => {
    // Small stage chunks and a short fetch wait (the seed's knobs): the exact counts below still hold.
    running = await startTestApp({ STAGE_BATCH_MAX_RECORDS: '3', KAFKA_FETCH_MAX_WAIT_MS: '20', KAFKA_FETCH_MIN_BYTES: '1' });
    api = running.url;
  });

  afterAll(async () => {
    await running?.close();
  });

  const prometheusText = async (path = '/metrics') => {
    const response = await fetch(`${api}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  };

  it("should answer /health, liveness and readiness in Actuator's shape, the root with its groups", async () => {
    for (const path of ['/health', '/health/readiness', '/actuator/health', '/actuator/health/readiness']) {
      const root = path === '/health' || path === '/actuator/health';
      const { status, body } = await request(`${api}${path}`);
      expect({ path, status }).toEqual({ path, status: 200 });
      expect(body.status).toBe('UP');
      // Spring Boot with probes on: the root lists the groups and shows both probe states.
      expect(Object.keys(body.components).sort()).toEqual(root ? ['db', 'kafka', 'livenessState', 'readinessState', 'redis'] : ['db', 'kafka', 'redis']);
      expect(body.groups).toEqual(root ? ['liveness', 'readiness'] : undefined);
      for (const name of ['db', 'kafka', 'redis']) {
        expect(body.components[name].status).toBe('UP');
        expect(typeof body.components[name].details).toBe('object');
      }
      if (root) expect([body.components.livenessState, body.components.readinessState]).toEqual([{ status: 'UP' }, { status: 'UP' }]);
      expect(body.components.kafka.details).toMatchObject({ brokers: expect.any(Number), clusterId: expect.any(String) });
    }
    for (const path of ['/health/liveness', '/actuator/health/liveness']) {
      const { status, body } = await request(`${api}${path}`);
      expect(status).toBe(200);
      expect(body.status).toBe('UP');
    }
    const redisOnly = await request(`${api}/actuator/health/redis`);
    expect(redisOnly.status).toBe(200);
    expect(redisOnly.body).toMatchObject({ status: 'UP', details: { latencyMs: expect.any(Number) } });
    expect((await request(`${api}/actuator/health/nope`)).status).toBe(404);
  });

  it("should list Actuator's links on /actuator", async () => {
    const { status, body } = await request(`${api}/actuator`);
    expect(status).toBe(200);
    const base = `${api}/actuator`;
    expect(body._links).toEqual({
      self: { href: base, templated: false },
      health: { href: `${base}/health`, templated: false },
      'health-path': { href: `${base}/health/{*path}`, templated: true },
      metrics: { href: `${base}/metrics`, templated: false },
      'metrics-requiredMetricName': { href: `${base}/metrics/{requiredMetricName}`, templated: true },
      prometheus: { href: `${base}/prometheus`, templated: false },
    });
  });

  it('should serve the Prometheus text on /metrics and /actuator/prometheus, default metrics included', async () => {
    for (const path of ['/metrics', '/actuator/prometheus']) {
      const text = await prometheusText(path);
      for (const name of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'http_server_requests_seconds', 'payments_accepted_total']) {
        expect(text).toContain(`# TYPE ${name} `);
      }
    }
  });

  it("should name the metrics on /actuator/metrics in Micrometer's dotted form and describe one, with tag filtering and a 404 for unknown names", async () => {
    const names = await request(`${api}/actuator/metrics`);
    expect(names.status).toBe(200);
    expect(names.body.names).toEqual(
      expect.arrayContaining(['http.server.requests', 'payments.accepted', 'payments.finalized', 'kafka.consumer.lag', 'process.cpu.usage', 'process.uptime']),
    );
    expect(names.body.names.filter((name: string) => name.includes('_'))).toEqual([]);

    const http = await request(`${api}/actuator/metrics/http.server.requests`);
    expect(http.status).toBe(200);
    expect(Object.keys(http.body)).toEqual(['name', 'description', 'baseUnit', 'measurements', 'availableTags']);
    expect(http.body).toMatchObject({ name: 'http.server.requests', description: expect.any(String), baseUnit: 'seconds' });
    expect(http.body.measurements.map((m: { statistic: string }) => m.statistic)).toEqual(['COUNT', 'TOTAL_TIME']);
    expect(http.body.availableTags.map((t: { tag: string }) => t.tag)).toEqual(['exception', 'method', 'outcome', 'status', 'uri']);

    const filtered = await request(`${api}/actuator/metrics/http.server.requests?tag=uri:/actuator/metrics&tag=status:200`);
    expect(filtered.status).toBe(200);
    expect(filtered.body.measurements[0].value).toBeGreaterThanOrEqual(1);
    expect(filtered.body.availableTags).toEqual([
      { tag: 'exception', values: ['none'] },
      { tag: 'method', values: ['GET'] },
      { tag: 'outcome', values: ['SUCCESS'] },
    ]);

    const uptime = await request(`${api}/actuator/metrics/process.uptime`);
    expect(uptime.body).toMatchObject({ name: 'process.uptime', baseUnit: 'seconds', measurements: [{ statistic: 'VALUE', value: expect.any(Number) }] });
    expect(uptime.body.measurements[0].value).toBeGreaterThan(0);
    const cpu = await request(`${api}/actuator/metrics/process.cpu.usage`);
    expect(cpu.body.measurements[0].value).toBeGreaterThanOrEqual(0);
    expect(cpu.body.measurements[0].value).toBeLessThanOrEqual(1);

    const unknown = await request(`${api}/actuator/metrics/no.such.metric`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ type: 'not_found_error', code: 'metric_not_found' });
    // Prometheus' name is not Actuator's.
    expect((await request(`${api}/actuator/metrics/http_server_requests_seconds`)).status).toBe(404);
    expect((await request(`${api}/actuator/metrics/http.server.requests?tag=nocolon`)).status).toBe(400);
  });

  it("should tag HTTP answers as Micrometer does (uri, method, status, outcome, exception), Fastify body-parsing 400s included", async () => {
    const badJson = (labels: string) =>
      ['uri="/api/payments"', 'status="400"', 'method="POST"', 'outcome="CLIENT_ERROR"'].every((l) => labels.includes(l)) && !labels.includes('exception="none"');
    const before = sampleSum(await prometheusText(), 'http_server_requests_seconds_count', badJson);
    expect((await request(`${api}/api/payments`, { rawBody: '{"broken":' })).status).toBe(400);
    expect((await request(`${api}/api/payments/${randomUUID()}`)).status).toBe(404);
    expect((await request(`${api}/no/such/route`)).status).toBe(404);
    const text = await prometheusText();
    expect(sampleSum(text, 'http_server_requests_seconds_count', badJson)).toBe(before + 1);
    // The template, not the raw URL: one series for every payment id.
    expect(text).toMatch(/http_server_requests_seconds_count\{[^}]*uri="\/api\/payments\/\{paymentId\}"[^}]*\}/);
    expect(text).toMatch(/http_server_requests_seconds_count\{(?=[^}]*uri="UNKNOWN")(?=[^}]*status="404")(?=[^}]*outcome="CLIENT_ERROR")[^}]*\}/);
    expect(text).not.toContain('no/such/route');
  });

  it('should raise the 202 series of POST /api/payments by exactly 1 for one payment', async () => {
    const accepted = (labels: string) => ['uri="/api/payments"', 'method="POST"', 'status="202"', 'outcome="SUCCESS"', 'exception="none"'].every((l) => labels.includes(l));
    const before = sampleSum(await prometheusText(), 'http_server_requests_seconds_count', accepted);
    const paid = await request(`${api}/api/payments`, { body: { orderId: `OBS-${randomUUID()}`, amount: '1.00', currency: 'USD', userId: 'USER-001' } });
    expect(paid.status).toBe(202);
    expect(sampleSum(await prometheusText(), 'http_server_requests_seconds_count', accepted)).toBe(before + 1);
    // Settled before the next test counts outcomes.
    const settled = await eventually(() => request(`${api}/api/payments/${paid.body.paymentId}`), (r) => TERMINAL.includes(r.body.status), 30_000);
    expect(TERMINAL).toContain(settled.body.status);
  });

  it('should pass promtool check metrics on /metrics', async () => {
    const promtool = spawnSync('promtool', ['--version']);
    if (promtool.error) {
      // scripts/test.sh installs Debian's prometheus package where it can; say so when it could not.
      console.warn('promtool not found (Debian package prometheus): the exposition check did not run');
      if (process.env.CI) throw new Error('promtool is missing in CI: scripts/test.sh should have installed it');
      return;
    }
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: await prometheusText(), encoding: 'utf8' });
    expect({ status: checked.status, output: `${checked.stdout}${checked.stderr}` }).toEqual({ status: 0, output: '' });
  });

  it('should expose every metric the Grafana dashboard queries (docs/grafana/payments-dashboard.json)', async () => {
    const dashboard = JSON.parse(readFileSync('docs/grafana/payments-dashboard.json', 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const queried = dashboard.panels.flatMap((panel) => (panel.targets ?? []).flatMap((t) => [...t.expr.matchAll(/([a-z_:][a-z0-9_:]*)\{/g)].map((m) => ({ panel: panel.title, metric: m[1] }))));
    expect(queried.map((q) => q.metric)).toEqual(expect.arrayContaining(['payments_finalized_total', 'refunds_requested_total', 'refunds_finalized_total']));
    const text = await prometheusText();
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name])));
    expect(queried.filter((q) => !exposed.has(q.metric))).toEqual([]);
  });

  it('should count N accepted and N finalized payments, once each, after N payments settle', async () => {
    const N = 20;
    const userId = `OBS-${randomUUID()}`;
    const deposit = await request(`${api}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount: '100.00', currency: 'USD' } });
    expect(deposit.status).toBe(201);

    const before = await prometheusText();
    const accepted = await Promise.all(
      Array.from({ length: N }, () => request(`${api}/api/payments`, { body: { orderId: `OBS-${randomUUID()}`, amount: '1.00', currency: 'USD', userId } })),
    );
    expect(accepted.map((r) => r.status)).toEqual(Array(N).fill(202));
    for (const { body } of accepted) {
      const settled = await eventually(() => request(`${api}/api/payments/${body.paymentId}`), (r) => TERMINAL.includes(r.body.status), 30_000);
      expect(TERMINAL).toContain(settled.body.status);
    }

    // A status query answers COMPLETED from the committed row, a moment before the stage that wrote it
    // has counted it and returned: wait for the counts to arrive, then require exactly N.
    const stages = ['validation', 'fraud', 'ledger'];
    const rise = (text: string, name: string, labels?: (labels: string) => boolean) => sampleSum(text, name, labels) - sampleSum(before, name, labels);
    const stepsOf = (stage: string) => (l: string) => l.includes(`stage="${stage}"`) && l.includes('outcome="step"');
    const after = await eventually(
      () => prometheusText(),
      (t) => rise(t, 'payments_finalized_total') >= N && stages.every((stage) => rise(t, 'payment_stage_events_total', stepsOf(stage)) >= N),
      10_000,
    );
    expect(rise(after, 'payments_accepted_total')).toBe(N);
    expect(rise(after, 'payments_finalized_total')).toBe(N);
    expect(rise(after, 'payments_finalized_total', (l) => l.includes('status="COMPLETED"') && l.includes('currency="USD"'))).toBe(N);
    expect(rise(after, 'payment_end_to_end_seconds_count')).toBe(N);
    for (const stage of stages) {
      // Counted per event, timed per batch: each stage settled every payment, in at most as many batches.
      expect(rise(after, 'payment_stage_events_total', stepsOf(stage))).toBeGreaterThanOrEqual(N);
      const batches = rise(after, 'payment_stage_batch_seconds_count', (l) => l.includes(`stage="${stage}"`));
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(batches).toBeLessThanOrEqual(rise(after, 'payment_stage_events_total', (l) => l.includes(`stage="${stage}"`)));
    }
    expect(sampleSum(after, 'kafka_produce_seconds_count')).toBeGreaterThan(sampleSum(before, 'kafka_produce_seconds_count'));

    // The same numbers through Actuator's door.
    const actuator = await request(`${api}/actuator/metrics/payments.finalized?tag=status:COMPLETED`);
    expect(actuator.body.measurements[0].value).toBeGreaterThanOrEqual(N);
  });

  it('should report consumer lag per stage group and the global stream length, lag draining to zero', async () => {
    const prefix = running.config.kafka.topicPrefix;
    const text = await eventually(
      () => prometheusText(),
      (t) =>
        ['validation', 'fraud', 'ledger'].every((stage) => t.includes(`group="${prefix}payments-${stage}"`)) &&
        sampleSum(t, 'kafka_consumer_lag') === 0 &&
        sampleSum(t, 'redis_stream_length') > 0,
      20_000,
    );
    for (const stage of ['validation', 'fraud', 'ledger']) expect(text).toContain(`kafka_consumer_lag{group="${prefix}payments-${stage}"`);
    expect(sampleSum(text, 'kafka_consumer_lag')).toBe(0);
    expect(sampleSum(text, 'redis_stream_length', (l) => l.includes('stream="payments"'))).toBeGreaterThan(0);
  });

});

describe('consumer lag while the stages are held back', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // Fresh topics and groups of their own (still removed by the run's teardown), stages not started yet.
    running = await startTestApp({ KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.lag.` }, { consumers: false });
  });

  afterAll(async () => {
    await running?.close();
  });

  const validationLag = async (): Promise<number> => {
    await running.app.get(BacklogMetrics).refresh();
    const text = await (await fetch(`${running.url}/metrics`)).text();
    return sampleSum(text, 'kafka_consumer_lag', (labels) => labels.includes(`group="test.${TEST_RUN_ID}.lag.payments-validation"`));
  };

  it('should rise by the payments waiting for a stage and fall to zero once it consumes them', async () => {
    const N = 5;
    expect(await validationLag()).toBe(0);
    for (let i = 0; i < N; i++) {
      const accepted = await request(`${running.url}/api/payments`, {
        body: { orderId: `LAG-${randomUUID()}`, amount: '1.00', currency: 'USD', userId: `LAG-${randomUUID()}` },
      });
      expect(accepted.status).toBe(202);
    }
    // A refresh right after the topics were created can meet a partition whose leader is still moving: asked again.
    expect(await eventually(validationLag, (lag) => lag === N, 15_000)).toBe(N);

    await running.app.startAllMicroservices();
    expect(await eventually(validationLag, (lag) => lag === 0, 30_000)).toBe(0);
  });
});
