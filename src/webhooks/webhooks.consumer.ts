import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { decideEach, type StageMessage, type StageOutcome } from '../pipeline/stage-batch.js';
import { StageErrorFilter } from '../pipeline/stage-error.filter.js';
import { StageHandler } from '../pipeline/stage-handler.decorator.js';
import { TOPICS } from '../pipeline/stages.js';
import { webhookEventOf, type WebhookEventRow } from './webhook-events.js';

/** The webhooks stage: every payment and refund outcome becomes its merchant's event (WebhookIngest stores it). */
@Controller()
@UseFilters(StageErrorFilter)
export class WebhooksConsumer {
  @StageHandler('webhooks', { topic: TOPICS.finalized, skipFinished: false })
  onPaymentOutcome(@Payload() batch: StageMessage[]): Promise<StageOutcome<WebhookEventRow>[]> {
    return eventsOf(batch);
  }

  @StageHandler('webhooks', { topic: TOPICS.refundFinalized, skipFinished: false })
  onRefundOutcome(@Payload() batch: StageMessage[]): Promise<StageOutcome<WebhookEventRow>[]> {
    return eventsOf(batch);
  }
}

/** An outcome the intake wrote for a request it answered 503 (nothing was taken) is no event of the merchant's. */
function eventsOf(batch: StageMessage[]): Promise<StageOutcome<WebhookEventRow>[]> {
  return decideEach(batch, webhookEventOf, async (events) =>
    events.map((step): StageOutcome<WebhookEventRow> => (isAbandonedAtIntake(step) ? { kind: 'skip' } : { kind: 'step', step })),
  );
}

function isAbandonedAtIntake(event: WebhookEventRow): boolean {
  const reason = event.data.object === 'payment' ? event.data.reason : event.data.outcomeReason;
  return reason === 'PUBLISH_UNCONFIRMED';
}
