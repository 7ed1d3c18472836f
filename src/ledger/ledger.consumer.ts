import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { StageMessage, StageOutcome } from '../pipeline/stage-batch.js';
import { StageErrorFilter } from '../pipeline/stage-error.filter.js';
import { StageHandler } from '../pipeline/stage-handler.decorator.js';
import type { ApprovedPaymentPayload } from '../pipeline/payment-events.js';
import { announce, decideEachPayment, type PaymentStep } from '../pipeline/payment-lifecycle.js';
import { LedgerService } from './ledger.service.js';

/** Stage 3: approved payments are posted to the ledger, then announced COMPLETED or DECLINED. */
@Controller()
@UseFilters(StageErrorFilter)
export class LedgerConsumer {
  constructor(private readonly ledger: LedgerService) {}

  // Also payments that already ended: a redelivery re-announces the outcome that stands, as the earlier
  // delivery may have stopped between its commit and its announcement. PostgreSQL decides, not Redis.
  @StageHandler('ledger', { skipFinished: false })
  onApproved(@Payload() batch: StageMessage[]): Promise<StageOutcome<PaymentStep>[]> {
    return decideEachPayment(batch, async (payments) => {
      const postings = await this.ledger.postAll(
        payments.map((p) => ({ paymentId: p.paymentId, payment: p.payload, riskScore: (p.payload as Partial<ApprovedPaymentPayload>).risk?.score ?? null })),
      );
      return postings.map((posting, i): StageOutcome<PaymentStep> =>
        posting.status === 'fulfilled' ? announce(payments[i], posting.value.record) : { kind: 'retry', error: asError(posting.reason) },
      );
    });
  }
}

const asError = (reason: unknown): Error => (reason instanceof Error ? reason : new Error(String(reason)));
