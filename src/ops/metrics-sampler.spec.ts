import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { MetricsSampler, quantiles } from './metrics-sampler.js';

describe('quantiles (histogram_quantile over a window of bucket counts)', () => {
  const window = [new Map([[0.1, 3], [0.5, 6], [Infinity, 6]]), new Map([[0.1, 2], [0.5, 4], [Infinity, 4]])];

  it('interpolates within the bucket the rank falls in, the window summed', () => {
    // 10 observations: 5 up to 0.1 s, 5 more up to 0.5 s.
    const [p50, p99] = quantiles(window, [0.5, 0.99]);
    expect(p50).toBeCloseTo(0.1, 6);
    expect(p99).toBeCloseTo(0.1 + 0.4 * (4.9 / 5), 6);
  });

  it('answers the highest finite bound for a rank in +Inf, and null without observations', () => {
    expect(quantiles([new Map([[0.1, 1], [1, 1], [Infinity, 4]])], [0.99])).toEqual([1]);
    expect(quantiles([new Map([[0.1, 0], [Infinity, 0]])], [0.5])).toEqual([null]);
    expect(quantiles([], [0.5])).toEqual([null]);
  });
});

describe('MetricsSampler', () => {
  const topics = new KafkaTopics(AppConfig.fromEnvironment({ KAFKA_TOPIC_PREFIX: 'sampler-spec.' }));

  it("samples each second's counts as differences of the totals, by outcome, and keeps them in order", async () => {
    const metrics = new MetricsService();
    const sampler = new MetricsSampler(metrics, topics);
    expect(await sampler.tick(1_000)).toBeUndefined(); // the first read is the baseline
    metrics.paymentAccepted('USD');
    metrics.paymentAccepted('EUR');
    metrics.paymentFinalized({ status: 'COMPLETED', reason: null }, { currency: 'USD', acceptedAt: new Date(Date.now() - 40).toISOString() });
    metrics.paymentFinalized({ status: 'DECLINED', reason: 'INSUFFICIENT_FUNDS' }, { currency: 'USD', acceptedAt: new Date().toISOString() });
    const seen: number[] = [];
    sampler.onSample((s) => seen.push(s.t));
    const sample = await sampler.tick(2_000);
    expect(sample).toMatchObject({ t: 2_000, accepted: 2, completed: 1, declined: 1, rejected: 0, failed: 0 });
    expect(sample!.endToEndP99).toBeGreaterThan(0);
    expect(await sampler.tick(3_000)).toMatchObject({ accepted: 0, completed: 0, declined: 0 });
    expect(sampler.history().map((s) => s.t)).toEqual([2_000, 3_000]);
    expect(seen).toEqual([2_000, 3_000]);
  });

  it("reports the lag of this deployment's stage groups only, named by stage", async () => {
    const metrics = new MetricsService();
    metrics.kafkaConsumerLag.set({ group: 'sampler-spec.payments-ledger', topic: 'sampler-spec.payments.approved', partition: '1' }, 7);
    metrics.kafkaConsumerLag.set({ group: 'another-deployment.payments-ledger', topic: 'x', partition: '0' }, 99);
    const lag = await new MetricsSampler(metrics, topics).lag();
    expect(lag).toEqual([{ stage: 'ledger', topic: 'sampler-spec.payments.approved', partition: 1, lag: 7 }]);
  });
});
