import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { StageMessage, StageOutcome } from '../pipeline/stage-batch.js';
import { StageErrorFilter } from '../pipeline/stage-error.filter.js';
import { StageHandler } from '../pipeline/stage-handler.decorator.js';
import { PAYMENT_EVENT_TYPES, type ApprovedPaymentPayload } from '../pipeline/payment-events.js';
import { advanceTo, decideEachPayment, finishAs, type PaymentStep } from '../pipeline/payment-lifecycle.js';
import { FraudService } from './fraud.service.js';

/** Stage 2: validated payments are scored, then approved or rejected with a FRAUD_* reason. */
@Controller()
@UseFilters(StageErrorFilter)
export class FraudConsumer {
  constructor(private readonly fraud: FraudService) {}

  @StageHandler('fraud')
  onValidated(@Payload() batch: StageMessage[]): Promise<StageOutcome<PaymentStep>[]> {
    return decideEachPayment(batch, async (payments) => {
      // In offset order: a payer's velocity window counts its earlier payments of this batch too.
      const decisions = await this.fraud.assessAll(payments.map((p) => ({ paymentId: p.paymentId, payment: p.payload })));
      return payments.map((payment, i) => {
        const decision = decisions[i];
        const risk = { score: decision.score, rules: decision.rules };
        if (!decision.approved) {
          return finishAs(payment, { status: 'REJECTED', stage: 'fraud', reason: decision.reason ?? 'FRAUD_SUSPECTED', riskScore: decision.score, detail: { risk } });
        }
        const approved: ApprovedPaymentPayload = { ...payment.payload, risk };
        return advanceTo(payment, { status: 'APPROVED', stage: 'fraud', type: PAYMENT_EVENT_TYPES.approved, payload: approved, detail: { risk } });
      });
    });
  }
}
