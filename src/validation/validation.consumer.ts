import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { StageMessage, StageOutcome } from '../pipeline/stage-batch.js';
import { StageErrorFilter } from '../pipeline/stage-error.filter.js';
import { StageHandler } from '../pipeline/stage-handler.decorator.js';
import { PAYMENT_EVENT_TYPES } from '../pipeline/payment-events.js';
import { advanceTo, decideEachPayment, finishAs, type PaymentStep } from '../pipeline/payment-lifecycle.js';
import { ValidationService } from './validation.service.js';

/** Stage 1: initiated payments are validated, or rejected with a reason. */
@Controller()
@UseFilters(StageErrorFilter)
export class ValidationConsumer {
  constructor(private readonly validation: ValidationService) {}

  @StageHandler('validation')
  onInitiated(@Payload() batch: StageMessage[]): Promise<StageOutcome<PaymentStep>[]> {
    return decideEachPayment(batch, async (payments) => {
      const decisions = await this.validation.validateAll(payments.map((p) => p.payload));
      return payments.map((payment, i) => {
        const decision = decisions[i];
        return decision.valid
          ? advanceTo(payment, { status: 'VALIDATED', stage: 'validation', type: PAYMENT_EVENT_TYPES.validated, payload: payment.payload })
          : finishAs(payment, { status: 'REJECTED', stage: 'validation', reason: decision.reason });
      });
    });
  }
}
