import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HealthReporter, type ActuatorHealth } from '../health/health-reporter.js';
import type { ConsoleLag, ConsoleSample } from './feed-types.js';
import { MetricsSampler } from './metrics-sampler.js';
import { InvalidCursor, StreamTail, type TailBatch } from './stream-tail.js';

/** How often the dependencies' health is asked while a page listens (once for all pages). */
const HEALTH_EVERY_MS = 5_000;

/** One message of the console's live feed (Server-Sent Events: its event name, data, and the tail's resume id). */
export type FeedMessage =
  | { event: 'hello'; data: { samples: ConsoleSample[]; lag: ConsoleLag[]; health: ActuatorHealth | null; cursor: string } }
  | { event: 'sample'; data: { sample: ConsoleSample; lag: ConsoleLag[] } }
  | { event: 'health'; data: ActuatorHealth }
  | { event: 'tail'; id: string; data: Omit<TailBatch, 'cursor'> };

/**
 * What an open console page is sent: the charts' history at once, then every second's sample and
 * lag, the health of Kafka, Redis and PostgreSQL, and the tail of the global stream. Every source is
 * shared: one sampler, one health poller and one stream reader for all pages, however many are open.
 */
@Injectable()
export class ConsoleFeed implements OnModuleDestroy {
  private readonly healthListeners = new Set<(health: ActuatorHealth) => void>();
  private lastHealth: ActuatorHealth | null = null;
  private healthTimer?: NodeJS.Timeout;

  constructor(
    private readonly sampler: MetricsSampler,
    private readonly tail: StreamTail,
    private readonly health: HealthReporter,
  ) {}

  /**
   * Starts a page's feed: `send` gets each message, the tail's from after `resumeFrom` (the last id the
   * page saw, when it reconnects) or from the stream's end. Returns the stop.
   */
  async open(send: (message: FeedMessage) => void, resumeFrom?: string): Promise<() => void> {
    const [lag, cursor] = await Promise.all([this.sampler.lag(), resumeFrom ?? this.tail.head()]);
    send({ event: 'hello', data: { samples: this.sampler.history(), lag, health: this.lastHealth, cursor } });
    if (resumeFrom !== undefined) {
      // A token that is not one of ours (another deployment's, mangled) resumes nothing rather than failing the feed.
      const missed = await this.tail.after(resumeFrom).catch((error: unknown) => {
        if (error instanceof InvalidCursor) return null;
        throw error;
      });
      if (missed && missed.entries.length > 0) send({ event: 'tail', id: missed.cursor, data: { entries: missed.entries, skipped: missed.skipped } });
    }
    const stops = [
      this.sampler.onSample((sample, lag) => send({ event: 'sample', data: { sample, lag } })),
      this.tail.subscribe(({ cursor, ...batch }) => send({ event: 'tail', id: cursor, data: batch })),
      this.watchHealth((health) => send({ event: 'health', data: health })),
    ];
    return () => stops.forEach((stop) => stop());
  }

  private watchHealth(listener: (health: ActuatorHealth) => void): () => void {
    this.healthListeners.add(listener);
    if (!this.healthTimer) {
      let polling = false;
      const poll = async () => {
        // A dependency that is away can make a check outlast the interval: no second one meanwhile.
        if (polling) return;
        polling = true;
        const report = await this.health.dependencies(['kafka', 'redis', 'db']).catch(() => null);
        polling = false;
        if (report) this.lastHealth = report.body;
        if (report) for (const each of this.healthListeners) each(report.body);
      };
      void poll();
      this.healthTimer = setInterval(() => void poll(), HEALTH_EVERY_MS);
      this.healthTimer.unref();
    } else if (this.lastHealth) {
      listener(this.lastHealth);
    }
    return () => {
      this.healthListeners.delete(listener);
      if (this.healthListeners.size === 0) {
        clearInterval(this.healthTimer);
        this.healthTimer = undefined;
      }
    };
  }

  onModuleDestroy(): void {
    clearInterval(this.healthTimer);
  }
}
