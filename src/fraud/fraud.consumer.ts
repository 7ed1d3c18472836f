import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { EventEnvelope } from '../kafka/event-envelope.js';
import { StageErrorFilter } from '../kafka/stage-error.filter.js';
import { StageEvent } from '../kafka/stage-event.decorator.js';
import { TOPICS } from '../kafka/topics.js';
import { asPaymentEvent, PAYMENT_EVENT_TYPES, type ApprovedPaymentPayload } from '../payments/payment-events.js';
import { PaymentLifecycle } from '../payments/payment-lifecycle.service.js';
import { FraudService } from './fraud.service.js';

/** Stage 2: validated payments are scored, then approved or rejected with a FRAUD_* reason. */
@Controller()
@UseFilters(StageErrorFilter)
export class FraudConsumer {
  constructor(
    private readonly fraud: FraudService,
    private readonly lifecycle: PaymentLifecycle,
  ) {}

  @StageEvent(TOPICS.validated, 'fraud')
  async onValidated(@Payload() event: EventEnvelope<unknown>): Promise<void> {
    const payment = asPaymentEvent(event);
    if (await this.lifecycle.isFinished(event.paymentId)) return;
    const decision = await this.fraud.assess(event.paymentId, payment.payload);
    const risk = { score: decision.score, rules: decision.rules };
    if (decision.approved) {
      await this.lifecycle.advance<ApprovedPaymentPayload>(payment, {
        status: 'APPROVED',
        stage: 'fraud',
        topic: TOPICS.approved,
        type: PAYMENT_EVENT_TYPES.approved,
        payload: { ...payment.payload, risk },
        detail: { risk },
      });
    } else {
      await this.lifecycle.finish(payment, {
        status: 'REJECTED',
        stage: 'fraud',
        reason: decision.reason ?? 'FRAUD_SUSPECTED',
        riskScore: decision.score,
        detail: { risk },
      });
    }
  }
}
