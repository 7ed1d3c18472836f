import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { publicEventOf } from './webhook-events.js';
import { sendWebhook, type WebhookResponse } from './webhook-sender.js';
import { WEBHOOK_SETTINGS, type WebhookSettings } from './webhook-settings.js';
import { webhookHeaders } from './webhook-signature.js';
import { WebhooksRepository, type AttemptOutcome, type ClaimedDelivery } from './webhooks.repository.js';

/**
 * Deliveries one instance sends at once, and to one endpoint at most: a busy merchant's endpoint gets
 * most slots (at 4 it could not keep up with 150 payments/s plus a backlog, `npm run chaos`), and an
 * endpoint that hangs still leaves some to the others.
 */
const CONCURRENCY = 32;
const PER_ENDPOINT = 24;
/** How often the due-delivery gauges are refreshed. */
const GAUGE_REFRESH_MS = 5_000;

/**
 * The delivery workers of an instance with the `webhooks` role: every WEBHOOK_POLL_MS they lease due
 * deliveries (several instances share the work, SKIP LOCKED), POST each with the Standard Webhooks
 * headers, and record the attempt: 2xx delivered; 410 Gone disables the endpoint; anything else, or no
 * answer, tries again on WEBHOOK_RETRY_SCHEDULE (with jitter) until WEBHOOK_GIVE_UP_HOURS after the
 * first attempt, when the delivery fails and its endpoint is disabled. A receiver's outage never
 * touches readiness: it only grows the backlog gauges.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private timer?: NodeJS.Timeout;
  private gaugeTimer?: NodeJS.Timeout;
  private claiming?: Promise<void>;
  /** Deliveries being sent: each frees its slot when done, whatever the others do. */
  private readonly sending = new Set<Promise<void>>();
  private stopped = false;
  private lastError = '';

  constructor(
    private readonly repository: WebhooksRepository,
    private readonly metrics: MetricsService,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.settings.workers) return;
    this.timer = setInterval(() => void this.tick(), this.settings.pollMs);
    this.gaugeTimer = setInterval(() => void this.refreshGauges(), GAUGE_REFRESH_MS);
    this.gaugeTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.gaugeTimer);
    await this.claiming;
    await Promise.allSettled([...this.sending]);
  }

  /** Leases as many due deliveries as there are free slots and starts sending them; one claim at a time. */
  tick(): Promise<void> {
    if (this.claiming || this.stopped || this.sending.size >= CONCURRENCY) return this.claiming ?? Promise.resolve();
    // The lease outlives an attempt, so no other worker sends a delivery this one is still sending.
    const leaseMs = this.settings.timeoutMs * 2 + 5_000;
    this.claiming = this.repository
      .claimDue(CONCURRENCY - this.sending.size, leaseMs, PER_ENDPOINT)
      .then((claimed) => {
        this.lastError = '';
        for (const delivery of claimed) {
          const sending: Promise<void> = this.deliver(delivery)
            .catch((error: Error) => this.logger.warn(`Webhook ${delivery.event.id} to ${delivery.endpointId} not recorded (${error.message}); sent again once its lease runs out`))
            .finally(() => {
              this.sending.delete(sending);
              // A freed slot is filled at once, not at the next poll: one endpoint's deliveries flow at
              // PER_ENDPOINT per round trip, not PER_ENDPOINT per WEBHOOK_POLL_MS.
              void this.tick();
            });
          this.sending.add(sending);
        }
      })
      .catch((error: Error) => {
        if (error.message !== this.lastError) this.logger.warn(`Webhook deliveries not claimed: ${error.message}`);
        this.lastError = error.message;
      })
      .finally(() => (this.claiming = undefined));
    return this.claiming;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    if (delivery.endpointStatus !== 'enabled') {
      await this.repository.cancel(delivery.id);
      this.metrics.webhookDeliveries.inc({ outcome: 'cancelled' });
      return;
    }
    const body = JSON.stringify(publicEventOf(delivery.event));
    const attemptedAt = new Date();
    const response = await sendWebhook({
      url: delivery.url,
      headers: webhookHeaders(delivery.secret, delivery.event.id, body, attemptedAt.getTime()),
      body,
      timeoutMs: this.settings.timeoutMs,
      allowPrivate: this.settings.allowPrivateUrls,
    });
    const outcome = await this.outcomeOf(delivery, response, attemptedAt);
    const label = outcome.kind === 'failed' && outcome.disableEndpoint === 'gone' ? 'gone' : outcome.kind;
    this.metrics.webhookDeliveries.inc({ outcome: label });
    this.metrics.webhookAttemptDuration.observe({ outcome: label }, response.durationMs / 1000);
    const error = response.error ?? (response.statusCode !== null && (response.statusCode < 200 || response.statusCode > 299) ? `HTTP ${response.statusCode}` : null);
    await this.repository.recordAttempt(delivery, { attemptedAt: attemptedAt.toISOString(), statusCode: response.statusCode, durationMs: response.durationMs, error }, outcome);
    if (outcome.kind === 'failed') this.logger.warn(`Webhook ${delivery.event.id} to ${delivery.endpointId} given up (${error})${outcome.disableEndpoint ? `; endpoint disabled: ${outcome.disableEndpoint}` : ''}`);
  }

  private async outcomeOf(delivery: ClaimedDelivery, response: WebhookResponse, attemptedAt: Date): Promise<AttemptOutcome> {
    const status = response.statusCode;
    if (status !== null && status >= 200 && status <= 299) return { kind: 'delivered' };
    if (status === 410) return { kind: 'failed', disableEndpoint: 'gone' };
    // The streak of failures runs from its first one (a redelivery starts a new streak).
    const firstFailure = delivery.failingSince ? Date.parse(delivery.failingSince) : attemptedAt.getTime();
    if (attemptedAt.getTime() - firstFailure >= this.settings.giveUpMs) {
      // The endpoint goes too once it has failed for as long (a delivery of a healthy endpoint may just be unlucky).
      const failingSince = await this.repository.failingSince(delivery.endpointId);
      const failingLong = failingSince !== null && attemptedAt.getTime() - failingSince.getTime() >= this.settings.giveUpMs;
      return { kind: 'failed', ...(failingLong && { disableEndpoint: 'failing' }) };
    }
    return { kind: 'retry', nextAttemptAt: new Date(attemptedAt.getTime() + retryDelayMs(this.settings.retryScheduleMs, delivery.attempts + 1)) };
  }

  private async refreshGauges(): Promise<void> {
    try {
      const { due, oldestDueSeconds } = await this.repository.backlog();
      this.metrics.webhookDue.set(due);
      this.metrics.webhookOldestDue.set(oldestDueSeconds);
    } catch {
      // PostgreSQL away: the gauges keep their last values; tick() reports the outage.
    }
  }
}

/** The wait after the nth failed attempt (1-based): the schedule's nth step, its last one repeated, ±10 % jitter. */
export function retryDelayMs(schedule: number[], failedAttempts: number, random = Math.random): number {
  const step = schedule[Math.min(failedAttempts, schedule.length) - 1];
  return Math.round(step * (0.9 + random() * 0.2));
}
