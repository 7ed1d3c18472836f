import { Injectable, Logger } from '@nestjs/common';
import { retryAfter } from '../errors/app-error.js';
import { PaymentError, PaymentErrorCode } from './payment-errors.js';
import type { CurrencyCode } from '../money/currencies.js';
import { formatMinorUnits } from '../money/money.js';
import { inMachineOrder, refundsOf, type CurrentState, type HistoryEntry } from '../pipeline/payment-view.js';
import { refundTransitionOf } from '../pipeline/refund-lifecycle.js';
import type { RefundRecord } from '../pipeline/refund-record.entity.js';
import { RefundRecords } from '../pipeline/refund-records.repository.js';
import { PaymentView } from '../pipeline/ports.js';
import { isRefundHistoryStatus, isTerminal, type PaymentStatus } from '../pipeline/payment-status.js';
import { paymentOfRecord, snapshotOf } from '../pipeline/payment-events.js';
import type { PaymentRecord } from '../pipeline/payment-record.entity.js';
import { PaymentRecords } from '../pipeline/payment-records.repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Status queries: Redis first (the fast view), PostgreSQL when Redis has forgotten the payment or is
 * away (terminal payments live there), and a 404 only when neither knows it.
 *
 * PostgreSQL's terminal row is the truth and is committed before the Redis view hears of it (the
 * stage publishes payments.finalized in between, and the view is best effort). So when Redis says a
 * payment is still in flight, a primary-key read of PostgreSQL decides: once the money has moved, the
 * API never answers APPROVED for it.
 */
@Injectable()
export class PaymentQueryService {
  private readonly logger = new Logger(PaymentQueryService.name);

  constructor(
    private readonly state: PaymentView,
    private readonly records: PaymentRecords,
    private readonly refunds: RefundRecords,
  ) {}

  /**
   * With `merchantId`, a payment of another merchant is answered exactly like an unknown one (404),
   * so a merchant cannot even learn that another's paymentId exists.
   */
  async current(paymentId: string, merchantId?: string): Promise<CurrentState> {
    const fromRedis = UUID.test(paymentId) ? await this.fromRedis(() => this.state.current(paymentId)) : null;
    let state: CurrentState;
    if (!fromRedis) state = toCurrentState(await this.recordOrNotFound(paymentId));
    else if (isTerminal(fromRedis.status)) state = fromRedis;
    else {
      const record = await this.terminalRecordIfReadable(paymentId);
      state = record ? toCurrentState(record) : fromRedis;
    }
    if (merchantId !== undefined && state.merchantId !== merchantId) throw paymentNotFound(paymentId);
    return state;
  }

  /**
   * Just the status, by the same rule as current(): what the intake's order check asks of an earlier
   * payment. Redis errors propagate (the intake answers 503); null when neither store knows the payment.
   */
  async status(paymentId: string): Promise<PaymentStatus | null> {
    const inRedis = await this.state.status(paymentId);
    if (isTerminal(inRedis)) return inRedis;
    return (await this.terminalRecordIfReadable(paymentId))?.status ?? inRedis;
  }

  /**
   * The payment's transitions from its Redis stream. When the stream has no terminal step but the
   * payment has ended (the view missed it, or Redis forgot the payment), the step comes from current().
   */
  async history(paymentId: string, merchantId?: string): Promise<HistoryEntry[]> {
    const state = await this.current(paymentId, merchantId);
    const stream = await this.fromRedis(() => this.state.history(paymentId));
    // A stream with refund steps only (the payment's own expired first) still needs the payment's start.
    const entries: HistoryEntry[] = stream?.some((e) => !isRefundHistoryStatus(e.status)) ? stream : [{ status: 'PENDING', stage: 'intake', at: state.createdAt, detail: FROM_DATABASE }, ...(stream ?? [])];
    if (!isTerminal(state.status)) return entries;
    if (!entries.some((entry) => isTerminal(entry.status))) {
      const terminal: HistoryEntry = { status: state.status, stage: state.stage, at: state.updatedAt, detail: FROM_DATABASE };
      entries.push(state.reason ? { ...terminal, reason: state.reason } : terminal);
    }
    return state.status === 'COMPLETED' ? inMachineOrder([...entries, ...(await this.refundStepsMissingFrom(entries, paymentId))]) : entries;
  }

  /** The steps of the payment's refunds that ended in PostgreSQL and that the stream has not (or no longer) got. */
  private async refundStepsMissingFrom(entries: HistoryEntry[], paymentId: string): Promise<HistoryEntry[]> {
    let refunds: RefundRecord[];
    try {
      refunds = await this.refunds.ofPayment(paymentId);
    } catch (error) {
      this.logger.warn(`PostgreSQL unavailable for a payment's refunds, answering the stream's history: ${(error as Error).message}`);
      return [];
    }
    const inStream = new Set(entries.map((e) => `${e.status}:${String(e.detail?.refundId)}`));
    // Oldest first, so that refunds the stream has not got keep their order in the history.
    return [...refunds]
      .sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime())
      .flatMap((refund) => {
        const ids = { refundId: refund.id, paymentId: refund.paymentId, amountMinor: refund.amountMinor, currency: refund.currency as CurrencyCode };
        // One the intake could not confirm (its client got a 503) was never pending.
        if (refund.outcomeReason === 'PUBLISH_UNCONFIRMED') return [refundTransitionOf(ids, 'FAILED', 'intake', refund.createdAt.toISOString(), refund.outcomeReason)];
        const outcomeStage = refund.status === 'FAILED' ? 'dead-letter' : 'refunds';
        return [refundTransitionOf(ids, 'PENDING', 'intake', refund.requestedAt.toISOString()), refundTransitionOf(ids, refund.status, outcomeStage, refund.createdAt.toISOString(), refund.outcomeReason)];
      })
      .filter((step) => !inStream.has(`${step.status}:${step.detail.refundId}`))
      .map(({ status, stage, at, reason, detail }) => ({ status, stage, at, ...(reason && { reason }), detail: { ...detail, ...FROM_DATABASE } }));
  }

  /** The terminal row if PostgreSQL has one; null when it has none or cannot be read (Redis's answer stands). */
  private async terminalRecordIfReadable(paymentId: string): Promise<PaymentRecord | null> {
    try {
      return await this.records.findById(paymentId);
    } catch (error) {
      this.logger.warn(`PostgreSQL unavailable for a status query, answering from Redis: ${(error as Error).message}`);
      return null;
    }
  }

  private async fromRedis<T>(read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      this.logger.warn(`Redis unavailable for a status query, reading PostgreSQL: ${(error as Error).message}`);
      return null;
    }
  }

  private async recordOrNotFound(paymentId: string): Promise<PaymentRecord> {
    if (!UUID.test(paymentId)) throw paymentNotFound(paymentId);
    let record: PaymentRecord | null;
    try {
      record = await this.records.findById(paymentId);
    } catch (error) {
      this.logger.warn(`PostgreSQL unavailable for a status query: ${(error as Error).message}`);
      throw new PaymentError(PaymentErrorCode.StatusUnavailable, undefined, { headers: retryAfter(1) });
    }
    if (!record) throw paymentNotFound(paymentId);
    return record;
  }
}

function paymentNotFound(paymentId: string): PaymentError {
  return new PaymentError(PaymentErrorCode.PaymentNotFound, `No payment ${paymentId}.`);
}

const FROM_DATABASE = { source: 'database' };

function toCurrentState(record: PaymentRecord): CurrentState {
  return {
    ...snapshotOf(record.id, paymentOfRecord(record)),
    status: record.status,
    stage: record.stage,
    reason: record.reason ?? undefined,
    updatedAt: record.updatedAt.toISOString(),
    ...refundsOf(record.status, formatMinorUnits(BigInt(record.amountMinor), record.currency as CurrencyCode), record.currency, record.amountRefundedMinor),
  };
}
