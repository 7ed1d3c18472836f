import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { retryAfter, unavailableUnless } from '../errors/app-error.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { CurrencyCode } from '../money/currencies.js';
import { formatMinorUnits, toMinorUnits } from '../money/money.js';
import { createEnvelope, stepEventId } from '../pipeline/event-envelope.js';
import type { PaymentRecord } from '../pipeline/payment-record.entity.js';
import { PaymentRecords } from '../pipeline/payment-records.repository.js';
import { EventBus, EventPublishError, PaymentView } from '../pipeline/ports.js';
import { REFUND_EVENT_TYPES, type RefundPayload, type RefundStatus } from '../pipeline/refund-events.js';
import type { RefundRecord } from '../pipeline/refund-record.entity.js';
import { RefundRecords } from '../pipeline/refund-records.repository.js';
import { refundTransitionOf } from '../pipeline/refund-lifecycle.js';
import { TOPICS } from '../pipeline/stages.js';
import type { CreateRefundRequest } from './dto/create-refund.request.js';
import { IdempotencyStore, type StoredResponse } from './idempotency.store.js';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { keyReused, PaymentError, PaymentErrorCode } from './payment-errors.js';
import { RefundError, RefundErrorCode } from './refund-errors.js';
import { RefundReservations, type PendingRefund } from './refund-reservations.store.js';

/** A refund as the API shows it. */
export interface RefundView {
  refundId: string;
  paymentId: string;
  amount: string;
  currency: string;
  status: RefundStatus;
  /** Why it was declined or failed. */
  outcomeReason?: string;
  reason?: string;
  description?: string;
  requestedAt: string;
}

export interface CreateRefundResult {
  response: StoredResponse;
  replayed: boolean;
}

const IN_FLIGHT = Symbol('in flight');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The refunds' front door: one durably published refund.requested event per refund, never more than
 * is left to refund as far as the intake can see (RefundReservations), with Idempotency-Keys as for
 * payments: the key decides the refundId, so a retry Redis forgot still names the same refund.
 */
@Injectable()
export class RefundsIntake {
  private readonly logger = new Logger(RefundsIntake.name);

  constructor(
    @Inject(INTAKE_SETTINGS) private readonly settings: IntakeSettings,
    private readonly publisher: EventBus,
    private readonly payments: PaymentRecords,
    private readonly refunds: RefundRecords,
    private readonly reservations: RefundReservations,
    private readonly idempotency: IdempotencyStore,
    private readonly view: PaymentView,
    private readonly metrics: MetricsService,
  ) {}

  async create(paymentId: string, request: CreateRefundRequest, idempotencyKey: string | undefined, correlationId: string, merchantId?: string): Promise<CreateRefundResult> {
    const payment = await this.refundable(paymentId, merchantId);
    const currency = payment.currency as CurrencyCode;
    const amountMinor = request.amount === undefined ? null : toMinorUnits(request.amount, currency, this.settings.maxAmount).toString();
    const asked = { paymentId, amountMinor, reason: request.reason ?? null, description: request.description ?? null };
    const fingerprint = createHash('sha256').update(JSON.stringify(asked)).digest('hex');
    const scopedKey = idempotencyKey === undefined ? undefined : `refund:${paymentId}:${idempotencyKey}`;
    const refundId = scopedKey === undefined ? randomUUID() : uuidv5(JSON.stringify([payment.merchantId, scopedKey]), this.settings.paymentIdNamespace);

    if (scopedKey !== undefined) {
      const earlier = await this.unavailableUnless(() => this.idempotency.claim(payment.merchantId, scopedKey, fingerprint, this.settings.publishTimeoutMs + 1000));
      if (earlier.kind === 'replay') return { response: earlier.response, replayed: true };
      if (earlier.kind === 'mismatch') throw keyReused();
      if (earlier.kind === 'in_progress') throw new PaymentError(PaymentErrorCode.IdempotencyRequestInProgress, undefined, { param: 'Idempotency-Key' });
      // Redis held no record of the key: PostgreSQL may have the refund it named.
      const ended = await this.refunds.findById(refundId).catch(() => null);
      if (ended) {
        const same = (amountMinor === null || ended.amountMinor === amountMinor) && (ended.reason ?? null) === asked.reason;
        if (!same) {
          await this.idempotency.release(payment.merchantId, scopedKey, fingerprint).catch(() => undefined);
          throw keyReused();
        }
        const response = acceptedResponse(viewOfRecord(ended));
        await this.idempotency.remember(payment.merchantId, scopedKey, fingerprint, response).catch(() => undefined);
        return { response, replayed: true };
      }
    }
    try {
      const response = await this.accept(payment, refundId, amountMinor, request, correlationId, scopedKey !== undefined);
      if (scopedKey !== undefined) await this.idempotency.remember(payment.merchantId, scopedKey, fingerprint, response).catch(() => undefined);
      return { response, replayed: false };
    } catch (error) {
      if (scopedKey !== undefined) await this.idempotency.release(payment.merchantId, scopedKey, fingerprint).catch(() => undefined);
      throw error;
    }
  }

  async find(refundId: string, merchantId?: string): Promise<RefundView> {
    const notFound = new RefundError(RefundErrorCode.RefundNotFound, `No refund ${refundId}.`);
    if (!UUID.test(refundId)) throw notFound;
    const ended = await this.unavailableUnless(() => this.refunds.findById(refundId));
    if (ended) {
      if (merchantId !== undefined && ended.merchantId !== merchantId) throw notFound;
      return viewOfRecord(ended);
    }
    const pending = await this.unavailableUnless(() => this.reservations.find(refundId));
    if (!pending || (merchantId !== undefined && pending.merchantId !== merchantId)) throw notFound;
    return viewOfPending(pending);
  }

  /** A payment's refunds, newest first: those that ended (PostgreSQL) and those in flight (Redis). */
  async ofPayment(paymentId: string, merchantId?: string): Promise<RefundView[]> {
    // A payment still in flight has no refunds yet.
    if ((await this.payment(paymentId, merchantId)) === IN_FLIGHT) return [];
    const [ended, pending] = await Promise.all([this.unavailableUnless(() => this.refunds.ofPayment(paymentId)), this.reservations.pending(paymentId).catch(() => [])]);
    const endedIds = new Set(ended.map((r) => r.id));
    return [...ended.map(viewOfRecord), ...pending.filter((p) => !endedIds.has(p.refundId)).map(viewOfPending)].sort((a, b) => b.requestedAt.localeCompare(a.requestedAt));
  }

  private async accept(payment: PaymentRecord, refundId: string, amountMinor: string | null, request: CreateRefundRequest, correlationId: string, keyed: boolean): Promise<StoredResponse> {
    const requestedAt = new Date().toISOString();
    const pending: Omit<PendingRefund, 'amountMinor'> & { amountMinor: string | null } = {
      refundId,
      paymentId: payment.id,
      merchantId: payment.merchantId,
      amountMinor,
      currency: payment.currency,
      ...(request.reason !== undefined && { reason: request.reason }),
      ...(request.description !== undefined && { description: request.description }),
      requestedAt,
    };
    const reservation = await this.unavailableUnless(async () => {
      const pendingIds = await this.reservations.pendingIds(payment.id);
      const ended = (await this.refunds.findByIds(pendingIds)).map((r) => r.id);
      // Read after the ended refunds: each of them is in this total (same transaction in the ledger),
      // so dropping their reservations never counts them nowhere. One that ends meanwhile is counted
      // twice at worst, which refuses too early, never too late.
      const refunded = BigInt((await this.payments.findById(payment.id))?.amountRefundedMinor ?? payment.amountRefundedMinor);
      return this.reservations.reserve(pending, BigInt(payment.amountMinor) - refunded, ended);
    });
    if (reservation.kind === 'exceeds') {
      const left = formatMinorUnits(BigInt(reservation.availableMinor), payment.currency as CurrencyCode);
      throw new RefundError(RefundErrorCode.RefundExceedsPayment, `Payment ${payment.id} has ${left} ${payment.currency} left to refund.`, { param: 'amount' });
    }
    const payload: RefundPayload = {
      refundId,
      paymentId: payment.id,
      merchantId: payment.merchantId,
      userId: payment.userId,
      amountMinor: reservation.amountMinor,
      currency: payment.currency as CurrencyCode,
      ...(request.reason !== undefined && { reason: request.reason }),
      ...(request.description !== undefined && { description: request.description }),
      requestedAt,
    };
    const envelope = createEnvelope(REFUND_EVENT_TYPES.requested, payment.id, payload, correlationId, new Date(requestedAt), stepEventId(refundId, REFUND_EVENT_TYPES.requested));
    try {
      await this.publisher.publish([{ topic: TOPICS.refundRequested, key: payment.userId, envelope }]);
    } catch (error) {
      if (!(error instanceof EventPublishError)) throw error;
      await this.abandon(payload, error, keyed);
      throw new RefundError(RefundErrorCode.RefundUnavailable, undefined, { headers: retryAfter(1) });
    }
    this.metrics.refundRequested(payload.currency);
    // Best effort, as a payment's PENDING: the refund is taken, and its outcome comes from PostgreSQL.
    await this.view
      .appendRefundSteps([refundTransitionOf(payload, 'PENDING', 'intake', requestedAt)])
      .catch((error: Error) => this.logger.warn(`Refund ${refundId} accepted but its REFUND_PENDING step was not written: ${error.message}`));
    return acceptedResponse(viewOfPending({ ...pending, amountMinor: reservation.amountMinor }));
  }

  /**
   * Kafka did not confirm the event; it may still land. A refund without a key ends FAILED first, so
   * a late event moves no money behind the 503. A keyed one keeps its refundId: the client's retry
   * names the same refund, which the ledger posts once.
   */
  private async abandon(refund: RefundPayload, cause: EventPublishError, keyed: boolean): Promise<void> {
    this.logger.warn(`Refund ${refund.refundId} not accepted: ${cause.message}`);
    if (!keyed) {
      await this.refunds
        .insert({ id: refund.refundId, paymentId: refund.paymentId, merchantId: refund.merchantId, userId: refund.userId, amountMinor: refund.amountMinor, currency: refund.currency, status: 'FAILED', outcomeReason: 'PUBLISH_UNCONFIRMED', reason: refund.reason ?? null, description: refund.description ?? null, requestedAt: new Date(refund.requestedAt) }, 'keep-first')
        .catch((error: Error) => this.logger.error(`Could not record abandoned refund ${refund.refundId}: ${error.message}`));
    }
    await this.reservations.release(refund.paymentId, refund.refundId).catch(() => undefined);
  }

  /** The payment, if it is the merchant's and COMPLETED; 404 for another merchant's or an unknown one, 409 otherwise. */
  private async refundable(paymentId: string, merchantId?: string): Promise<PaymentRecord> {
    const payment = await this.payment(paymentId, merchantId);
    const status = payment === IN_FLIGHT ? 'still in flight' : payment.status;
    if (payment === IN_FLIGHT || payment.status !== 'COMPLETED') {
      throw new RefundError(RefundErrorCode.PaymentNotRefundable, `Payment ${paymentId} is ${status}; only a COMPLETED payment can be refunded.`);
    }
    return payment;
  }

  /** The payment's row; IN_FLIGHT while only the Redis view knows it; 404 for an unknown one or another merchant's. */
  private async payment(paymentId: string, merchantId?: string): Promise<PaymentRecord | typeof IN_FLIGHT> {
    const notFound = new PaymentError(PaymentErrorCode.PaymentNotFound, `No payment ${paymentId}.`);
    if (!UUID.test(paymentId)) throw notFound;
    const payment = await this.unavailableUnless(() => this.payments.findById(paymentId));
    if (payment) {
      if (merchantId !== undefined && payment.merchantId !== merchantId) throw notFound;
      return payment;
    }
    // No terminal row yet: in flight if the Redis view knows it, unknown otherwise.
    const current = await this.view.current(paymentId).catch(() => null);
    if (!current || (merchantId !== undefined && current.merchantId !== merchantId)) throw notFound;
    return IN_FLIGHT;
  }

  /** Redis, PostgreSQL or Kafka away: 503 with Retry-After, as for payments. */
  private unavailableUnless<T>(call: () => Promise<T>): Promise<T> {
    return unavailableUnless(
      call,
      (retry) => new RefundError(RefundErrorCode.RefundUnavailable, undefined, retry),
      (message) => this.logger.warn(`Refund intake: a store is unavailable: ${message}`),
    );
  }
}

function acceptedResponse(refund: RefundView): StoredResponse {
  return { statusCode: HttpStatus.ACCEPTED, headers: { Location: `/api/refunds/${refund.refundId}` }, body: refund };
}

function viewOfPending(refund: PendingRefund): RefundView {
  return {
    refundId: refund.refundId,
    paymentId: refund.paymentId,
    amount: formatMinorUnits(BigInt(refund.amountMinor), refund.currency as CurrencyCode),
    currency: refund.currency,
    status: 'PENDING',
    ...(refund.reason !== undefined && { reason: refund.reason }),
    ...(refund.description !== undefined && { description: refund.description }),
    requestedAt: refund.requestedAt,
  };
}

/** An ended refund: the pending view of the same fields, with its outcome. */
function viewOfRecord(refund: RefundRecord): RefundView {
  return {
    ...viewOfPending({
      refundId: refund.id,
      paymentId: refund.paymentId,
      merchantId: refund.merchantId,
      amountMinor: refund.amountMinor,
      currency: refund.currency,
      ...(refund.reason !== null && { reason: refund.reason }),
      ...(refund.description !== null && { description: refund.description }),
      requestedAt: refund.requestedAt.toISOString(),
    }),
    status: refund.status,
    ...(refund.outcomeReason !== null && { outcomeReason: refund.outcomeReason }),
  };
}
