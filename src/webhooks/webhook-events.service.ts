import { Injectable, Logger } from '@nestjs/common';
import { unavailableUnless } from '../errors/app-error.js';
import { WebhookError, WebhookErrorCode } from './webhook-errors.js';
import { publicEventOf, type WebhookEvent } from './webhook-events.js';
import { WebhooksRepository, type EventQuery } from './webhooks.repository.js';

export interface EventPage {
  data: WebhookEvent[];
  /** More events past this page: ask again with `starting_after` = the last id. */
  hasMore: boolean;
}

/** The events API: what a merchant missed, newest first, and queueing one again. */
@Injectable()
export class WebhookEventsService {
  private readonly logger = new Logger(WebhookEventsService.name);

  constructor(private readonly repository: WebhooksRepository) {}

  async list(query: EventQuery): Promise<EventPage> {
    if (query.startingAfter !== undefined) await this.eventOrNotFound(query.startingAfter, query.merchantId, 'starting_after');
    const rows = await this.unavailableUnless(() => this.repository.events({ ...query, limit: query.limit + 1 }));
    return { data: rows.slice(0, query.limit).map(publicEventOf), hasMore: rows.length > query.limit };
  }

  async find(id: string, merchantId?: string): Promise<WebhookEvent> {
    return publicEventOf(await this.eventOrNotFound(id, merchantId));
  }

  /** Due now for every endpoint subscribed to it; how many deliveries that queued. */
  async redeliver(id: string, merchantId?: string): Promise<{ eventId: string; queued: number }> {
    const event = await this.eventOrNotFound(id, merchantId);
    return { eventId: id, queued: await this.unavailableUnless(() => this.repository.redeliver(event)) };
  }

  private async eventOrNotFound(id: string, merchantId: string | undefined, param?: string) {
    const event = /^evt_[0-9a-f]{32}$/.test(id) ? await this.unavailableUnless(() => this.repository.event(id, merchantId)) : null;
    if (!event) throw new WebhookError(WebhookErrorCode.EventNotFound, `No event ${id}.`, param ? { param } : undefined);
    return event;
  }

  private unavailableUnless<T>(call: () => Promise<T>): Promise<T> {
    return unavailableUnless(
      call,
      (retry) => new WebhookError(WebhookErrorCode.WebhooksUnavailable, undefined, retry),
      (message) => this.logger.warn(`Events: PostgreSQL unavailable: ${message}`),
    );
  }
}
