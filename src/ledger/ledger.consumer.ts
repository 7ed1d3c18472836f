import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '../kafka/event-envelope.js';
import { StageErrorFilter } from '../kafka/stage-error.filter.js';
import { StageEvent } from '../kafka/stage-event.decorator.js';
import { TOPICS } from '../kafka/topics.js';
import { asPaymentEvent, type ApprovedPaymentPayload } from '../payments/payment-events.js';
import { PaymentLifecycle } from '../payments/payment-lifecycle.service.js';
import { LedgerService } from './ledger.service.js';

/** Stage 3: approved payments are posted to the ledger, then announced COMPLETED or DECLINED. */
@Controller()
@UseFilters(StageErrorFilter)
export class LedgerConsumer {
  constructor(
    private readonly ledger: LedgerService,
    private readonly lifecycle: PaymentLifecycle,
  ) {}

  @StageEvent(TOPICS.approved, 'ledger')
  async onApproved(@Payload() event: EventEnvelope<unknown>): Promise<void> {
    const payment = asPaymentEvent(event);
    const risk = (payment.payload as Partial<ApprovedPaymentPayload>).risk;
    const { record } = await this.ledger.postPayment(payment.paymentId, payment.payload, risk?.score ?? null);
    // Also after a redelivery: the earlier delivery may have stopped between its commit and this announcement.
    await this.lifecycle.announce(payment, record);
  }
}
