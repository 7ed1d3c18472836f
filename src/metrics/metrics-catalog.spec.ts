import { describe, expect, it } from '@jest/globals';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { baseUnitOf, MetricsCatalog, parseTags } from './metrics-catalog.js';

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
  it('should list every metric name once, sorted', async () => {
    expect(await catalog().names()).toEqual(['http_server_requests_seconds', 'kafka_consumer_lag', 'payments_finalized_total']);
  });

  it('should sum a counter over the series matching the tags and list the other tags', async () => {
    expect(await catalog().describe('payments_finalized_total')).toEqual({
      name: 'payments_finalized_total',
      description: 'outcomes',
      baseUnit: null,
      measurements: [{ statistic: 'COUNT', value: 6 }],
      availableTags: [
        { tag: 'currency', values: ['EUR', 'USD'] },
        { tag: 'status', values: ['COMPLETED', 'DECLINED'] },
      ],
    });
    const completed = await catalog().describe('payments_finalized_total', { status: 'COMPLETED' });
    expect(completed?.measurements).toEqual([{ statistic: 'COUNT', value: 5 }]);
    expect(completed?.availableTags).toEqual([{ tag: 'currency', values: ['EUR', 'USD'] }]);
  });

  it('should give a gauge as VALUE and a histogram as COUNT and TOTAL_TIME, without bucket labels', async () => {
    expect((await catalog().describe('kafka_consumer_lag'))?.measurements).toEqual([{ statistic: 'VALUE', value: 10 }]);
    const http = await catalog().describe('http_server_requests_seconds', { status: '200' });
    expect(http?.baseUnit).toBe('seconds');
    expect(http?.measurements).toEqual([
      { statistic: 'COUNT', value: 2 },
      { statistic: 'TOTAL_TIME', value: 0.55 },
    ]);
    expect(http?.availableTags).toEqual([]);
  });

  it('should answer null for an unknown name or tags no series has', async () => {
    expect(await catalog().describe('nope')).toBeNull();
    expect(await catalog().describe('payments_finalized_total', { status: 'LOST' })).toBeNull();
  });
});

describe('parseTags and baseUnitOf', () => {
  it('should read repeated key:value tags and refuse other forms', () => {
    expect(parseTags(['status:COMPLETED', 'route:/api/payments/:paymentId'])).toEqual({ status: 'COMPLETED', route: '/api/payments/:paymentId' });
    expect(parseTags(undefined)).toEqual({});
    expect(parseTags('status')).toBeNull();
  });

  it('should find the base unit in the name', () => {
    expect(baseUnitOf('process_cpu_seconds_total')).toBe('seconds');
    expect(baseUnitOf('nodejs_heap_size_total_bytes')).toBe('bytes');
    expect(baseUnitOf('payments_accepted_total')).toBeNull();
  });
});
