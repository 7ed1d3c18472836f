import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Histogram, Metric } from 'prom-client';
import { KafkaTopics } from '../kafka/kafka-topics.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { STAGE_TABLE } from '../pipeline/stages.js';
import type { ConsoleLag, ConsoleSample } from './feed-types.js';

/** 15 minutes of one-second samples. */
export const SAMPLE_SECONDS = 15 * 60;
/** Quantiles over the last 10 s: steady enough to read, quick enough to show a spike. */
const QUANTILE_WINDOW = 10;
const OUTCOMES = ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'] as const;

interface Totals {
  accepted: number;
  finalized: Record<string, number>;
  http: Map<number, number>;
  endToEnd: Map<number, number>;
}

/**
 * The console's charts, from this process's own metrics (the ones /metrics serves), read once a
 * second into a ring of the last 15 minutes: what a new page draws at once, without asking Prometheus.
 * Reading a few counters a second costs the pipeline nothing it could measure. In a split deployment
 * they are this instance's counts (an API-only instance's accepted and HTTP figures; its workers'
 * outcomes live in theirs); consumer lag is the whole group's.
 */
@Injectable()
export class MetricsSampler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly samples: ConsoleSample[] = [];
  private readonly httpWindow: Map<number, number>[] = [];
  private readonly endToEndWindow: Map<number, number>[] = [];
  private previous?: Totals;
  private timer?: NodeJS.Timeout;
  private readonly listeners = new Set<(sample: ConsoleSample, lag: ConsoleLag[]) => void>();
  private readonly stageOfGroup: Map<string, string>;

  constructor(
    private readonly metrics: MetricsService,
    topics: KafkaTopics,
  ) {
    this.stageOfGroup = new Map(STAGE_TABLE.map(({ stage }) => [topics.consumerGroup(stage), stage]));
  }

  onApplicationBootstrap(): void {
    // A failed read (it only reads this process's own registry) skips a second rather than failing the process.
    this.timer = setInterval(() => void this.tick().catch(() => undefined), 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The last 15 minutes, oldest first. */
  history(): ConsoleSample[] {
    return [...this.samples];
  }

  /** Calls `listener` with each new sample and the lag as it is then (read once for every listener); returns the unsubscribe. */
  onSample(listener: (sample: ConsoleSample, lag: ConsoleLag[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each of this deployment's stages' lag per input partition, as BacklogMetrics last read it (every few seconds). */
  async lag(): Promise<ConsoleLag[]> {
    const { values } = await this.metrics.kafkaConsumerLag.get();
    return values
      .filter(({ labels }) => this.stageOfGroup.has(String(labels.group)))
      .map(({ labels, value }) => ({
        stage: this.stageOfGroup.get(String(labels.group))!,
        topic: String(labels.topic),
        partition: Number(labels.partition),
        lag: value,
      }))
      .sort((a, b) => a.stage.localeCompare(b.stage) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Reads the totals and appends one sample (public for the unit spec, which drives the clock). */
  async tick(now = Date.now()): Promise<ConsoleSample | undefined> {
    const totals = await this.totals();
    const previous = this.previous;
    this.previous = totals;
    if (!previous) return undefined;
    const finalized = (status: string) => Math.max(0, (totals.finalized[status] ?? 0) - (previous.finalized[status] ?? 0));
    pushBounded(this.httpWindow, difference(totals.http, previous.http), QUANTILE_WINDOW);
    pushBounded(this.endToEndWindow, difference(totals.endToEnd, previous.endToEnd), QUANTILE_WINDOW);
    const [httpP50, httpP99] = quantiles(this.httpWindow, [0.5, 0.99]);
    const [endToEndP50, endToEndP99] = quantiles(this.endToEndWindow, [0.5, 0.99]);
    const sample: ConsoleSample = {
      t: now,
      accepted: Math.max(0, totals.accepted - previous.accepted),
      completed: finalized('COMPLETED'),
      declined: finalized('DECLINED'),
      rejected: finalized('REJECTED'),
      failed: finalized('FAILED'),
      httpP50,
      httpP99,
      endToEndP50,
      endToEndP99,
    };
    pushBounded(this.samples, sample, SAMPLE_SECONDS);
    if (this.listeners.size > 0) {
      const lag = await this.lag();
      for (const listener of this.listeners) listener(sample, lag);
    }
    return sample;
  }

  private async totals(): Promise<Totals> {
    const [accepted, finalized, http, endToEnd] = await Promise.all([
      this.metrics.paymentsAccepted.get(),
      this.metrics.paymentsFinalized.get(),
      cumulativeBuckets(this.metrics.httpRequests, (labels) => String(labels.uri ?? '').startsWith('/api/')),
      cumulativeBuckets(this.metrics.paymentEndToEnd, () => true),
    ]);
    const byStatus: Record<string, number> = Object.fromEntries(OUTCOMES.map((status) => [status, 0]));
    for (const { labels, value } of finalized.values) byStatus[String(labels.status)] = (byStatus[String(labels.status)] ?? 0) + value;
    return { accepted: accepted.values.reduce((sum, { value }) => sum + value, 0), finalized: byStatus, http, endToEnd };
  }
}

/** A histogram's cumulative bucket counts by upper bound, summed over the series `keep` selects (+Inf as Infinity). */
async function cumulativeBuckets(histogram: Histogram<string> & Metric, keep: (labels: Partial<Record<string, string | number>>) => boolean): Promise<Map<number, number>> {
  const buckets = new Map<number, number>();
  for (const { labels, value, metricName } of (await histogram.get()).values) {
    if (!metricName?.endsWith('_bucket') || !keep(labels)) continue;
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + value);
  }
  return buckets;
}

function difference(now: Map<number, number>, before: Map<number, number>): Map<number, number> {
  const delta = new Map<number, number>();
  for (const [le, count] of now) delta.set(le, Math.max(0, count - (before.get(le) ?? 0)));
  return delta;
}

/**
 * Prometheus' histogram_quantile over the window's summed bucket counts: linear within the bucket the
 * rank falls in; the highest finite bound when it falls in +Inf; null without observations.
 */
export function quantiles(window: Map<number, number>[], qs: number[]): (number | null)[] {
  const summed = new Map<number, number>();
  for (const buckets of window) for (const [le, count] of buckets) summed.set(le, (summed.get(le) ?? 0) + count);
  const bounds = [...summed.keys()].sort((a, b) => a - b);
  const total = summed.get(Infinity) ?? 0;
  return qs.map((q) => {
    if (total === 0) return null;
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const le of bounds) {
      const count = summed.get(le)!;
      if (count >= rank) {
        if (le === Infinity) return lower;
        return lower + (le - lower) * ((rank - below) / Math.max(count - below, 1e-9));
      }
      lower = le;
      below = count;
    }
    return lower;
  });
}

function pushBounded<T>(ring: T[], item: T, size: number): void {
  ring.push(item);
  if (ring.length > size) ring.shift();
}
