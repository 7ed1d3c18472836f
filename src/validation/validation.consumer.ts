import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '../kafka/event-envelope.js';
import { StageErrorFilter } from '../kafka/stage-error.filter.js';
import { StageEvent } from '../kafka/stage-event.decorator.js';
import { TOPICS } from '../kafka/topics.js';
import { asPaymentEvent, PAYMENT_EVENT_TYPES } from '../payments/payment-events.js';
import { PaymentLifecycle } from '../payments/payment-lifecycle.service.js';
import { ValidationService } from './validation.service.js';

/** Stage 1: initiated payments are validated, or rejected with a reason. */
@Controller()
@UseFilters(StageErrorFilter)
export class ValidationConsumer {
  constructor(
    private readonly validation: ValidationService,
    private readonly lifecycle: PaymentLifecycle,
  ) {}

  @StageEvent(TOPICS.initiated, 'validation')
  async onInitiated(@Payload() event: EventEnvelope<unknown>): Promise<void> {
    const payment = asPaymentEvent(event);
    if (await this.lifecycle.isFinished(event.paymentId)) return;
    const decision = await this.validation.validate(payment.payload);
    if (decision.valid) {
      await this.lifecycle.advance(payment, {
        status: 'VALIDATED',
        stage: 'validation',
        topic: TOPICS.validated,
        type: PAYMENT_EVENT_TYPES.validated,
        payload: payment.payload,
      });
    } else {
      await this.lifecycle.finish(payment, { status: 'REJECTED', stage: 'validation', reason: decision.reason });
    }
  }
}
