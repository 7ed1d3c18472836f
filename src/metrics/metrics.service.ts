import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, register, type Metric } from 'prom-client';

/** Seconds buckets for work that takes milliseconds to a few seconds (HTTP, Kafka acks, stage handlers). */
const FAST_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A payment's whole trip may include retries with backoff and broker outages. */
const END_TO_END_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Metrics live in prom-client's global registry, which outlives one Nest app (the e2e suites start
 * several apps in one process): an existing metric of the same name is reused instead of re-registered.
 */
function reuse<T extends Metric>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

/** The app's own metrics, named by Prometheus conventions (base units in names, `_total` counters). */
@Injectable()
export class MetricsService {
  readonly httpRequests = reuse(
    'http_server_requests_seconds',
    () =>
      new Histogram({
        name: 'http_server_requests_seconds',
        help: 'HTTP server requests, with Micrometer\'s tags (uri is the route template)',
        labelNames: ['method', 'uri', 'status', 'outcome', 'exception'] as const,
        buckets: FAST_SECONDS,
      }),
  );

  readonly paymentsAccepted = reuse(
    'payments_accepted_total',
    () => new Counter({ name: 'payments_accepted_total', help: 'Payments accepted (202) by the intake', labelNames: ['currency'] as const }),
  );

  readonly idempotencyRecalls = reuse(
    'payment_idempotency_recalls_total',
    () =>
      new Counter({
        name: 'payment_idempotency_recalls_total',
        help: 'Idempotency-Keys Redis did not know, looked up in PostgreSQL: new, next_attempt (past a 503), replayed, mismatch, unavailable (went on as attempt 0)',
        labelNames: ['outcome'] as const,
      }),
  );

  readonly paymentsFinalized = reuse(
    'payments_finalized_total',
    () =>
      new Counter({
        name: 'payments_finalized_total',
        help: 'Terminal outcomes decided, once per payment (COMPLETED, DECLINED, REJECTED, FAILED)',
        labelNames: ['status', 'reason', 'currency'] as const,
      }),
  );

  readonly refundsRequested = reuse(
    'refunds_requested_total',
    () => new Counter({ name: 'refunds_requested_total', help: 'Refunds accepted by the intake (202), once per refund', labelNames: ['currency'] as const }),
  );

  readonly refundsFinalized = reuse(
    'refunds_finalized_total',
    () =>
      new Counter({
        name: 'refunds_finalized_total',
        help: 'Refund outcomes decided, once per refund (SUCCEEDED, DECLINED, FAILED)',
        labelNames: ['status', 'reason', 'currency'] as const,
      }),
  );

  readonly paymentEndToEnd = reuse(
    'payment_end_to_end_seconds',
    () =>
      new Histogram({
        name: 'payment_end_to_end_seconds',
        help: 'From acceptance to the terminal outcome being decided',
        labelNames: ['status'] as const,
        buckets: END_TO_END_SECONDS,
      }),
  );

  readonly stageBatchDuration = reuse(
    'payment_stage_batch_seconds',
    () =>
      new Histogram({
        name: 'payment_stage_batch_seconds',
        help: 'Time a pipeline stage spends on one batch of events (a chunk of a partition), retries included',
        labelNames: ['stage'] as const,
        buckets: END_TO_END_SECONDS,
      }),
  );

  readonly stageEvents = reuse(
    'payment_stage_events_total',
    () =>
      new Counter({
        name: 'payment_stage_events_total',
        help: 'Events a pipeline stage settled, by how: step (advanced or ended the payment), skip (already ended), retry (tries that failed), dead-letter',
        labelNames: ['stage', 'outcome'] as const,
      }),
  );

  readonly kafkaProduce = reuse(
    'kafka_produce_seconds',
    () =>
      new Histogram({
        name: 'kafka_produce_seconds',
        help: 'Time until Kafka acknowledged a batch (acks=all), by outcome',
        labelNames: ['outcome'] as const,
        buckets: FAST_SECONDS,
      }),
  );

  readonly kafkaProduceBatch = reuse(
    'kafka_produce_batch_records',
    () =>
      new Histogram({
        name: 'kafka_produce_batch_records',
        help: 'Records per produced batch',
        buckets: [1, 2, 5, 10, 20, 50, 100],
      }),
  );

  readonly kafkaProducersRetired = reuse(
    'kafka_producers_retired_total',
    () =>
      new Counter({
        name: 'kafka_producers_retired_total',
        help: 'Idempotent producers replaced after a failed or late send (their sequence numbers were in doubt)',
      }),
  );

  readonly kafkaConsumerLag = reuse(
    'kafka_consumer_lag',
    () =>
      new Gauge({
        name: 'kafka_consumer_lag',
        help: 'Records not yet consumed: log-end offset minus the committed offset',
        labelNames: ['group', 'topic', 'partition'] as const,
      }),
  );

  readonly kafkaAssignedPartitions = reuse(
    'kafka_consumer_assigned_partitions',
    () =>
      new Gauge({
        name: 'kafka_consumer_assigned_partitions',
        help: "Partitions this instance's stage consumer holds after the last rebalance",
        labelNames: ['group', 'topic'] as const,
      }),
  );

  readonly deadLetters = reuse(
    'kafka_dead_letters_total',
    () => new Counter({ name: 'kafka_dead_letters_total', help: 'Records a stage gave up on and sent to <topic>-dlt', labelNames: ['topic'] as const }),
  );

  readonly redisStreamLength = reuse(
    'redis_stream_length',
    () => new Gauge({ name: 'redis_stream_length', help: 'Entries in a Redis stream (XLEN)', labelNames: ['stream'] as const }),
  );

  readonly webhookDeliveries = reuse(
    'webhook_deliveries_total',
    () =>
      new Counter({
        name: 'webhook_deliveries_total',
        help: 'Webhook delivery attempts by outcome: delivered, retry (answered otherwise, or no answer), failed (given up), gone (410: endpoint disabled), cancelled',
        labelNames: ['outcome'] as const,
      }),
  );

  readonly webhookAttemptDuration = reuse(
    'webhook_attempt_seconds',
    () => new Histogram({ name: 'webhook_attempt_seconds', help: 'One webhook delivery attempt, connect to answer', labelNames: ['outcome'] as const, buckets: FAST_SECONDS }),
  );

  readonly webhookDue = reuse('webhook_deliveries_due', () => new Gauge({ name: 'webhook_deliveries_due', help: 'Webhook deliveries due now and not yet sent' }));

  readonly webhookOldestDue = reuse(
    'webhook_oldest_due_seconds',
    () => new Gauge({ name: 'webhook_oldest_due_seconds', help: 'How long the oldest due webhook delivery has been waiting' }),
  );

  paymentAccepted(currency: string): void {
    this.paymentsAccepted.inc({ currency });
  }

  idempotencyRecalled(outcome: 'new' | 'next_attempt' | 'replayed' | 'mismatch' | 'unavailable'): void {
    this.idempotencyRecalls.inc({ outcome });
  }

  /** Call once per decided outcome (the terminal row was written now), never for a replay. */
  paymentFinalized(outcome: { status: string; reason: string | null }, payment: { currency: string; acceptedAt: string }): void {
    this.paymentsFinalized.inc({ status: outcome.status, reason: outcome.reason ?? '', currency: payment.currency });
    const elapsed = (Date.now() - Date.parse(payment.acceptedAt)) / 1000;
    if (Number.isFinite(elapsed) && elapsed >= 0) this.paymentEndToEnd.observe({ status: outcome.status }, elapsed);
  }

  refundRequested(currency: string): void {
    this.refundsRequested.inc({ currency });
  }

  /** Call once per decided refund outcome (its row was written now). */
  refundFinalized(outcome: { status: string; outcomeReason: string | null; currency: string }): void {
    this.refundsFinalized.inc({ status: outcome.status, reason: outcome.outcomeReason ?? '', currency: outcome.currency });
  }

  /** Starts a batch's timer; the returned function records its seconds and how many events ended how (one call per batch). */
  startStageBatch(stage: string): (outcomes: Record<string, number>) => void {
    const end = this.stageBatchDuration.startTimer({ stage });
    return (outcomes) => {
      end();
      for (const [outcome, count] of Object.entries(outcomes)) if (count > 0) this.stageEvents.inc({ stage, outcome }, count);
    };
  }

  startProduce(records: number): (outcome: 'ok' | 'error') => void {
    this.kafkaProduceBatch.observe(records);
    const end = this.kafkaProduce.startTimer();
    return (outcome) => end({ outcome });
  }

  producerRetired(): void {
    this.kafkaProducersRetired.inc();
  }

  /** After a rebalance: how many partitions of each subscribed topic this instance's group member got (0 is news too). */
  partitionsAssigned(group: string, topics: string[], assignment: Record<string, number[]>): void {
    for (const topic of topics) this.kafkaAssignedPartitions.set({ group, topic }, assignment[topic]?.length ?? 0);
  }

  deadLettered(topic: string): void {
    this.deadLetters.inc({ topic });
  }
}
