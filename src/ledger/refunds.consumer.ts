import { Controller, UseFilters } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { decideEachRefund, type RefundStep } from '../pipeline/refund-lifecycle.js';
import type { StageMessage, StageOutcome } from '../pipeline/stage-batch.js';
import { StageErrorFilter } from '../pipeline/stage-error.filter.js';
import { StageHandler } from '../pipeline/stage-handler.decorator.js';
import { RefundsService } from './refunds.service.js';

/** The refunds stage: requested refunds are posted to the ledger (or declined), then announced. */
@Controller()
@UseFilters(StageErrorFilter)
export class RefundsConsumer {
  constructor(private readonly refunds: RefundsService) {}

  // PostgreSQL decides whether a refund already ended; a redelivery re-announces the outcome that stands.
  @StageHandler('refunds', { skipFinished: false })
  onRequested(@Payload() batch: StageMessage[]): Promise<StageOutcome<RefundStep>[]> {
    return decideEachRefund(batch, async (refunds) => {
      const posted = await this.refunds.postAll(refunds.map((r) => r.payload));
      return posted.map((result, i): StageOutcome<RefundStep> =>
        result.status === 'fulfilled'
          ? { kind: 'step', step: { event: refunds[i], record: result.value.record, amountRefundedMinor: result.value.amountRefundedMinor } }
          : { kind: 'retry', error: result.reason instanceof Error ? result.reason : new Error(String(result.reason)) },
      );
    });
  }
}
