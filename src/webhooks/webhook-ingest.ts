import { Injectable } from '@nestjs/common';
import type { DecidedStep, StageEffects } from '../pipeline/stage-batch.js';
import type { WebhookEventRow } from './webhook-events.js';
import { WebhooksRepository } from './webhooks.repository.js';

/**
 * The webhooks stage's effects: a batch's outcomes stored as events with their deliveries, in one
 * transaction, before the transport commits the offsets (a crash in between redelivers the batch,
 * which stores nothing twice). Nothing is skipped: an outcome's event is decided by PostgreSQL.
 */
@Injectable()
export class WebhookIngest implements StageEffects<WebhookEventRow> {
  constructor(private readonly repository: WebhooksRepository) {}

  async finished(): Promise<ReadonlySet<string>> {
    return new Set();
  }

  async apply(steps: DecidedStep<WebhookEventRow>[]): Promise<void> {
    await this.repository.ingest(steps.map(({ step }) => step));
  }
}
