import { describe, expect, it } from '@jest/globals';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { register } from 'prom-client';
import { baseUnitOf, MetricsCatalog, micrometerName, parseTags } from './metrics-catalog.js';
import { MetricsService } from './metrics.service.js';
import { registerProcessMetrics } from './process-metrics.js';

function catalog() {
  const registry = new Registry();
  const finalized = new Counter({ name: 'payments_finalized_total', help: 'outcomes', labelNames: ['status', 'currency'], registers: [registry] });
  finalized.inc({ status: 'COMPLETED', currency: 'USD' }, 3);
  finalized.inc({ status: 'DECLINED', currency: 'USD' });
  finalized.inc({ status: 'COMPLETED', currency: 'EUR' }, 2);
  const lag = new Gauge({ name: 'kafka_consumer_lag', help: 'lag', labelNames: ['partition'], registers: [registry] });
  lag.set({ partition: '0' }, 4);
  lag.set({ partition: '1' }, 6);
  const http = new Histogram({ name: 'http_server_requests_seconds', help: 'http', labelNames: ['status'], buckets: [0.1, 1], registers: [registry] });
  http.observe({ status: '200' }, 0.05);
  http.observe({ status: '200' }, 0.5);
  http.observe({ status: '400' }, 2);
  return new MetricsCatalog(registry);
}

describe('MetricsCatalog', () => {
  it("should list every metric once under Micrometer's dotted name, sorted", () => {
    expect(catalog().names()).toEqual(['http.server.requests', 'kafka.consumer.lag', 'payments.finalized']);
  });

  it('should sum a counter over the series matching the tags and list the other tags', async () => {
    expect(await catalog().describe('payments.finalized')).toEqual({
      name: 'payments.finalized',
      description: 'outcomes',
      baseUnit: null,
      measurements: [{ statistic: 'COUNT', value: 6 }],
      availableTags: [
        { tag: 'currency', values: ['EUR', 'USD'] },
        { tag: 'status', values: ['COMPLETED', 'DECLINED'] },
      ],
    });
    const completed = await catalog().describe('payments.finalized', { status: 'COMPLETED' });
    expect(completed?.measurements).toEqual([{ statistic: 'COUNT', value: 5 }]);
    expect(completed?.availableTags).toEqual([{ tag: 'currency', values: ['EUR', 'USD'] }]);
  });

  it('should give a gauge as VALUE and a histogram as COUNT and TOTAL_TIME, without bucket labels', async () => {
    expect((await catalog().describe('kafka.consumer.lag'))?.measurements).toEqual([{ statistic: 'VALUE', value: 10 }]);
    const http = await catalog().describe('http.server.requests', { status: '200' });
    expect(http?.baseUnit).toBe('seconds');
    expect(http?.measurements).toEqual([
      { statistic: 'COUNT', value: 2 },
      { statistic: 'TOTAL_TIME', value: 0.55 },
    ]);
    expect(http?.availableTags).toEqual([]);
  });

  it('should answer null for an unknown name or tags no series has', async () => {
    expect(await catalog().describe('nope')).toBeNull();
    // Prometheus names are not Actuator's: only the dotted name answers.
    expect(await catalog().describe('payments_finalized_total')).toBeNull();
    expect(await catalog().describe('payments.finalized', { status: 'LOST' })).toBeNull();
  });
});

describe("the app's real series under dotted names", () => {
  it('should give every registered series its own dotted name, with the ones Spring operators type first', () => {
    registerProcessMetrics();
    new MetricsService();
    const names = register.getMetricsAsArray().map((m) => m.name);
    const dotted = names.map(micrometerName);
    expect(new Set(dotted).size).toBe(names.length);
    for (const name of ['http.server.requests', 'payments.accepted', 'payments.finalized', 'kafka.consumer.lag', 'process.cpu.usage', 'process.uptime', 'nodejs.version.info']) {
      expect(dotted).toContain(name);
    }
    // promtool rejects a gauge named like a counter.
    expect(names.filter((n) => n.startsWith('nodejs_active_') && n.endsWith('_total'))).toEqual([]);
  });
});

describe('parseTags, baseUnitOf and micrometerName', () => {
  it('should read repeated key:value tags and refuse other forms', () => {
    expect(parseTags(['status:COMPLETED', 'uri:/api/payments/{paymentId}'])).toEqual({ status: 'COMPLETED', uri: '/api/payments/{paymentId}' });
    expect(parseTags(undefined)).toEqual({});
    expect(parseTags('status')).toBeNull();
  });

  it('should find the base unit in the name', () => {
    expect(baseUnitOf('process_cpu_seconds_total')).toBe('seconds');
    expect(baseUnitOf('nodejs_heap_size_total_bytes')).toBe('bytes');
    expect(baseUnitOf('payments_accepted_total')).toBeNull();
    expect(baseUnitOf('process_cpu_usage')).toBeNull();
  });

  it("should undo Micrometer's Prometheus naming: unit suffix, _total, underscores", () => {
    expect(micrometerName('http_server_requests_seconds')).toBe('http.server.requests');
    expect(micrometerName('payments_accepted_total')).toBe('payments.accepted');
    expect(micrometerName('process_uptime_seconds')).toBe('process.uptime');
    expect(micrometerName('process_cpu_usage')).toBe('process.cpu.usage');
    expect(micrometerName('nodejs_heap_size_total_bytes')).toBe('nodejs.heap.size.total');
    expect(micrometerName('kafka_produce_batch_records')).toBe('kafka.produce.batch.records');
  });
});
