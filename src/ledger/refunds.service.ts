import { Injectable, Logger } from '@nestjs/common';
import type { RefundPayload } from '../pipeline/refund-events.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { accountId } from './ledger-account.entity.js';
import { LedgerRepository, type LedgerTransaction } from './ledger.repository.js';
import type { RefundRecord } from '../pipeline/refund-record.entity.js';

export interface RefundResult {
  /** The refund's outcome: what this posting decided, or what an earlier delivery did. */
  record: RefundRecord;
  decidedNow: boolean;
  /** The payment's refunded total once this transaction committed (minor units). */
  amountRefundedMinor: string;
}

/**
 * Posts refunds: in one transaction, a new REFUND transfer from the merchant's account back to the
 * payer's wallet, the refund's SUCCEEDED row and the payment's refunded total. The payment's row is
 * locked first, so one payment's refunds are decided one after another; what the intake let through
 * concurrently beyond the payment ends DECLINED REFUND_EXCEEDS_PAYMENT here, and a merchant without
 * the money ends DECLINED MERCHANT_INSUFFICIENT_FUNDS. The database's constraints hold the same
 * limits whatever this code does.
 */
@Injectable()
export class RefundsService {
  private readonly logger = new Logger(RefundsService.name);

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly metrics: MetricsService,
  ) {}

  /** A batch in order, one transaction each (refunds are few next to payments); a rejected one is to be retried. */
  async postAll(refunds: RefundPayload[]): Promise<PromiseSettledResult<RefundResult>[]> {
    const results: PromiseSettledResult<RefundResult>[] = [];
    const failedPayers = new Map<string, unknown>();
    for (const refund of refunds) {
      // A payer's later refunds wait behind one that failed, so none overtakes it.
      const earlier = failedPayers.get(refund.userId);
      if (earlier !== undefined) {
        results.push({ status: 'rejected', reason: new Error(`Held back behind a failed refund of payer ${refund.userId}`, { cause: earlier }) });
        continue;
      }
      try {
        results.push({ status: 'fulfilled', value: await this.post(refund) });
      } catch (reason) {
        failedPayers.set(refund.userId, reason);
        results.push({ status: 'rejected', reason });
      }
    }
    return results;
  }

  async post(refund: RefundPayload): Promise<RefundResult> {
    const result = await this.ledger.transaction((tx) => this.decide(tx, refund));
    // Counted once, by the transaction that decided the outcome, once it committed.
    if (result.decidedNow) this.metrics.refundFinalized(result.record);
    if (result.decidedNow) this.logger.log(`Refund ${refund.refundId} of payment ${refund.paymentId}: ${result.record.status}${result.record.outcomeReason ? ` ${result.record.outcomeReason}` : ''}`);
    return result;
  }

  private async decide(tx: LedgerTransaction, refund: RefundPayload): Promise<RefundResult> {
    const payment = await tx.lockPayment(refund.paymentId);
    // A redelivery, or the intake's tombstone: the outcome that stands.
    const refundedBefore = payment?.amountRefundedMinor ?? '0';
    const earlier = await tx.refund(refund.refundId);
    if (earlier) return { record: earlier, decidedNow: false, amountRefundedMinor: refundedBefore };
    const end = async (status: RefundRecord['status'], outcomeReason: string | null) => ({
      amountRefundedMinor: status === 'SUCCEEDED' ? (BigInt(refundedBefore) + BigInt(refund.amountMinor)).toString() : refundedBefore,
      record: await tx.insertRefund({
        id: refund.refundId,
        paymentId: refund.paymentId,
        merchantId: refund.merchantId,
        userId: refund.userId,
        amountMinor: refund.amountMinor,
        currency: refund.currency,
        status,
        outcomeReason,
        reason: refund.reason ?? null,
        description: refund.description ?? null,
        requestedAt: new Date(refund.requestedAt),
      }),
      decidedNow: true,
    });
    if (!payment || payment.status !== 'COMPLETED' || payment.merchantId !== refund.merchantId || payment.currency !== refund.currency) {
      return end('DECLINED', 'PAYMENT_NOT_COMPLETED');
    }
    const amount = BigInt(refund.amountMinor);
    if (BigInt(payment.amountRefundedMinor) + amount > BigInt(payment.amountMinor)) return end('DECLINED', 'REFUND_EXCEEDS_PAYMENT');

    const wallet = accountId('wallet', payment.userId, payment.currency);
    const merchant = accountId('merchant', payment.merchantId, payment.currency);
    // The payment path locks the wallet, then the merchant: the same order here, so the two never deadlock.
    await tx.lockAccount(wallet);
    if (!(await tx.debitCovered(merchant, refund.amountMinor))) return end('DECLINED', 'MERCHANT_INSUFFICIENT_FUNDS');
    await tx.credit(wallet, refund.amountMinor);
    await tx.insertTransfer({
      id: refund.refundId,
      debitAccountId: merchant,
      creditAccountId: wallet,
      amount: refund.amountMinor,
      ledger: payment.currency,
      code: 'REFUND',
      paymentId: null,
      depositId: null,
      refundId: refund.refundId,
    });
    await tx.addRefunded(refund.paymentId, refund.amountMinor);
    return end('SUCCEEDED', null);
  }
}
