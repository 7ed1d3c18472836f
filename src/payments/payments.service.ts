import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppError, retryAfter } from '../errors/app-error.js';
import { randomUUID } from 'node:crypto';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { toMinorUnits } from '../money/money.js';
import { setLogPaymentId } from '../logging/log-context.js';
import { keyReused, PaymentError, PaymentErrorCode, rateLimited } from './payment-errors.js';
import { createEnvelope, stepEventId } from '../pipeline/event-envelope.js';
import { PaymentTrace } from '../logging/payment-trace.js';
import { TOPICS } from '../pipeline/stages.js';
import { EventBus, EventPublishError, PaymentView } from '../pipeline/ports.js';
import { isTerminal } from '../pipeline/payment-status.js';
import type { CurrencyCode } from '../money/currencies.js';
import type { CreatePaymentRequest } from './dto/create-payment.request.js';
import { IdempotencyStore, type StoredResponse } from './idempotency.store.js';
import { IntakeClaims, type RateState } from './intake-claims.store.js';
import { OrderRegistry, type OrderClaim } from './order-registry.store.js';
import { IdempotencyRecall, type RecalledPayment } from './idempotency-recall.js';
import { keyedPaymentId } from './keyed-payment-id.js';
import { ABANDONED_AT_INTAKE, PAYMENT_EVENT_TYPES, paymentOfRecord, snapshotOf, type PaymentPayload } from '../pipeline/payment-events.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PaymentLifecycle } from '../pipeline/payment-lifecycle.js';
import { PaymentQueryService } from './payment-query.service.js';
import { acceptedResponse, fingerprintOf } from './accepted-payment.js';

/** A request's Idempotency-Key, scoped to its merchant, and the fingerprint of its body. */
interface KeyedRequest {
  merchantId: string;
  key: string;
  fingerprint: string;
}

export interface CreatePaymentResult {
  response: StoredResponse;
  replayed: boolean;
  /** The caller's rate-limit window, when limits are on (X-RateLimit-* headers). */
  rate?: RateState;
}

/** The front door: turns a valid request into exactly one durably published payment-initiated event. */
@Injectable()
export class PaymentsService {
  private readonly logger = new Logger(PaymentsService.name);
  private readonly trace: PaymentTrace;

  constructor(
    @Inject(INTAKE_SETTINGS) private readonly settings: IntakeSettings,
    private readonly publisher: EventBus,
    private readonly state: PaymentView,
    private readonly claims: IntakeClaims,
    private readonly idempotency: IdempotencyStore,
    private readonly recall: IdempotencyRecall,
    private readonly orders: OrderRegistry,
    private readonly query: PaymentQueryService,
    private readonly lifecycle: PaymentLifecycle,
    private readonly metrics: MetricsService,
  ) {
    this.trace = new PaymentTrace(PaymentsService.name, settings.traceLevel);
  }

  /**
   * Two Redis round trips on the common path: one script for the rate limit, the Idempotency-Key and
   * the order (IntakeClaims), then, after Kafka acknowledged the event, one pipelined write that
   * confirms the order, stores the key's answer and appends PENDING. A key Redis does not know adds one
   * primary-key read of PostgreSQL, shared with the requests that arrive together (IdempotencyRecall).
   */
  async create(request: CreatePaymentRequest, idempotencyKey: string | undefined, correlationId: string, rateLimitKey?: string): Promise<CreatePaymentResult> {
    const payment = this.normalize(request);
    // Keys are the merchant's own: the same key from another merchant is another request.
    const keyed: KeyedRequest | undefined = idempotencyKey === undefined ? undefined : { merchantId: payment.merchantId, key: idempotencyKey, fingerprint: fingerprintOf(payment) };
    // With a key, the paymentId is the key's (its attempt 0 unless Redis or PostgreSQL says otherwise).
    const firstId = keyed ? this.keyedId(keyed, 0) : randomUUID();
    setLogPaymentId(firstId);
    const claim = await this.redisCall(() =>
      this.claims.claim({ rateLimitKey, idempotency: keyed, merchantId: payment.merchantId, orderId: payment.orderId, paymentId: firstId }),
    );
    if (claim.kind === 'rate_limited') throw rateLimited(claim.rate);
    // The order as the script left it: claimed for firstId, held by another payment, or not tried (the key was taken).
    const orderHolder = claim.kind === 'claimed' ? firstId : claim.kind === 'order_taken' ? claim.holder : undefined;
    let holdsKey = keyed !== undefined && claim.kind !== 'idempotency_taken';
    try {
      let paymentId = firstId;
      let attempt = 0;
      if (keyed) {
        let known: number | undefined;
        if (!holdsKey) {
          const earlier = await this.earlierRequest(keyed);
          if (earlier.kind === 'replay') return { response: earlier.response, replayed: true, rate: claim.rate };
          holdsKey = true;
          known = earlier.attempt;
        }
        // Redis did not know the key (a new one, or one Redis lost): PostgreSQL tells which.
        const recalled = known === undefined ? await this.recallKey(keyed, payment) : { attempt: known };
        if ('mismatch' in recalled) {
          // The lease the script took under firstId names the key's payment, which is not this order's.
          if (claim.kind === 'claimed') await this.orders.release(payment.merchantId, payment.orderId, firstId).catch(() => undefined);
          throw keyReused();
        }
        if ('replay' in recalled) {
          await this.restoreOrder(payment, claim.kind === 'claimed' ? firstId : undefined, recalled.replay);
          return { response: acceptedResponse(recalled.replay.id, paymentOfRecord(recalled.replay)), replayed: true, rate: claim.rate };
        }
        attempt = recalled.attempt;
        paymentId = this.keyedId(keyed, attempt);
        if (paymentId !== firstId) setLogPaymentId(paymentId);
      }
      // The order may already be this payment's: claimed under firstId, or still held by a lost key's payment.
      if (orderHolder !== paymentId) {
        // The script's lease under firstId is this request's own: it moves to the attempt's paymentId.
        const moved = claim.kind === 'claimed' && (await this.redisCall(() => this.orders.takeOver(payment.merchantId, payment.orderId, firstId, paymentId)));
        if (!moved) await this.claimOrder(payment, paymentId, claim.kind === 'order_taken' ? claim.holder : undefined);
      }
      return { response: await this.accept(payment, paymentId, correlationId, keyed && { ...keyed, attempt }), replayed: false, rate: claim.rate };
    } catch (error) {
      if (keyed && holdsKey) await this.idempotency.release(keyed.merchantId, keyed.key, keyed.fingerprint).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The key has a record in Redis: the stored answer to replay, a refusal (another body, or still in
   * progress after a wait), or the claim once this request holds the key (the earlier one gave it up,
   * or was abandoned: then `attempt` is the one to pay as).
   */
  private async earlierRequest(keyed: KeyedRequest): Promise<{ kind: 'replay'; response: StoredResponse } | { kind: 'claimed'; attempt?: number }> {
    const waitMs = this.settings.publishTimeoutMs + 1000;
    const claim = await this.redisCall(() => this.idempotency.claim(keyed.merchantId, keyed.key, keyed.fingerprint, waitMs));
    switch (claim.kind) {
      case 'replay':
      case 'claimed':
        return claim;
      case 'mismatch':
        throw keyReused();
      case 'in_progress':
        throw new PaymentError(PaymentErrorCode.IdempotencyRequestInProgress, undefined, { param: 'Idempotency-Key' });
    }
  }

  /**
   * What PostgreSQL knows of a key Redis does not: the attempt to pay as, or the key's payment that
   * ended (replayed, its answer stored in Redis again), or another body for that payment (a 422). If
   * PostgreSQL cannot be read, the intake goes on as attempt 0 (or past the tombstones it already
   * saw) rather than refuse payments while the database is away: a retry Redis lost then still gets
   * its paymentId (docs/RELIABILITY.md).
   */
  private async recallKey(keyed: KeyedRequest, payment: PaymentPayload): Promise<{ attempt: number } | { replay: RecalledPayment } | { mismatch: true }> {
    const recalled = await this.recall.recall(payment, keyed.key);
    switch (recalled.kind) {
      case 'attempt':
        this.metrics.idempotencyRecalled(recalled.attempt === 0 ? 'new' : 'next_attempt');
        return { attempt: recalled.attempt };
      case 'unavailable':
        this.metrics.idempotencyRecalled('unavailable');
        return { attempt: recalled.atLeast };
      case 'mismatch':
        this.metrics.idempotencyRecalled('mismatch');
        return { mismatch: true };
      case 'replay': {
        this.metrics.idempotencyRecalled('replayed');
        const response = acceptedResponse(recalled.record.id, paymentOfRecord(recalled.record));
        await this.idempotency.remember(keyed.merchantId, keyed.key, keyed.fingerprint, response).catch(() => undefined);
        return { replay: recalled.record };
      }
    }
  }

  /**
   * A replay recalled from PostgreSQL: the order lease this request took under its first paymentId goes
   * back, or, when the key's payment completed, the order is held for that payment again, as it was
   * before Redis forgot it (so another key is told 409 order_already_paid, not declined later).
   */
  private async restoreOrder(payment: PaymentPayload, leasedAs: string | undefined, replayed: RecalledPayment): Promise<void> {
    if (leasedAs === undefined) return;
    const { merchantId, orderId } = payment;
    const restore =
      replayed.status === 'COMPLETED'
        ? this.orders.takeOver(merchantId, orderId, leasedAs, replayed.id, this.settings.stateRetentionSeconds)
        : this.orders.release(merchantId, orderId, leasedAs);
    await restore.catch(() => undefined);
  }

  private async accept(payment: PaymentPayload, paymentId: string, correlationId: string, keyed: (KeyedRequest & { attempt: number }) | undefined): Promise<StoredResponse> {
    // The event's id follows from the paymentId, as each stage's does: a retry of a lost key publishes the same event.
    const envelope = createEnvelope(PAYMENT_EVENT_TYPES.initiated, paymentId, payment, correlationId, new Date(payment.acceptedAt), stepEventId(paymentId, PAYMENT_EVENT_TYPES.initiated));
    try {
      await this.publisher.publish([{ topic: TOPICS.initiated, key: payment.userId, envelope }]);
    } catch (error) {
      if (!(error instanceof EventPublishError)) throw error;
      await this.abandon(paymentId, payment, error, keyed);
      throw new PaymentError(PaymentErrorCode.BrokerUnavailable, undefined, { headers: retryAfter(1) });
    }

    this.metrics.paymentAccepted(payment.currency);
    this.trace.write(
      () => `Payment ${paymentId} published to ${TOPICS.initiated}: order ${payment.orderId}, ${payment.currency} ${payment.amountMinor} minor units, payer ${payment.userId}`,
    );
    const response = acceptedResponse(paymentId, payment);
    // One round trip shared with the requests accepted at the same time; all best effort: Kafka already holds the payment.
    const settled = await this.claims.settle({
      merchantId: payment.merchantId,
      orderId: payment.orderId,
      paymentId,
      pending: { eventId: envelope.eventId, status: 'PENDING', stage: 'intake', at: payment.acceptedAt, payment: snapshotOf(paymentId, payment) },
      ...(keyed && { idempotency: { ...keyed, response } }),
    });
    if (settled.error) {
      // A lost answer only means a retry is answered from PostgreSQL's row, or publishes the same paymentId again; the next transition brings the view up to date.
      this.logger.warn(`Payment ${paymentId} accepted but its order claim, stored answer or PENDING state was not written: ${settled.error.message}`);
    } else if (!settled.orderKept) {
      // The claim lapsed after its lease; the ledger's unique index still completes the order only once.
      this.logger.warn(`Payment ${paymentId} accepted after its order claim lapsed`);
    }
    return response;
  }

  /**
   * The order is free, or its earlier payment ended without taking money; otherwise 409 naming that
   * payment. `holder`: the payment the intake's claim script found holding the order.
   */
  private async claimOrder(payment: PaymentPayload, paymentId: string, holder: string | undefined): Promise<void> {
    const { merchantId, orderId } = payment;
    for (let attempt = 0; attempt < 3; attempt++) {
      const claim: OrderClaim = attempt === 0 && holder ? { kind: 'taken', paymentId: holder } : await this.redisCall(() => this.orders.claim(merchantId, orderId, paymentId));
      // Held by this very paymentId: a retry whose key Redis lost, of a payment still in flight.
      if (claim.kind === 'claimed' || claim.paymentId === paymentId) return;
      // Read as a status query would: a terminal row in PostgreSQL counts even if the Redis view missed it.
      const earlier = await this.redisCall(() => this.query.status(claim.paymentId));
      const earlierEndedUnpaid = isTerminal(earlier) && earlier !== 'COMPLETED';
      if (!earlierEndedUnpaid) {
        const paid = earlier === 'COMPLETED';
        throw new PaymentError(
          paid ? PaymentErrorCode.OrderAlreadyPaid : PaymentErrorCode.OrderPaymentInProgress,
          `Order ${orderId} already has a ${paid ? 'completed' : 'pending'} payment ${claim.paymentId}.`,
          { param: 'orderId', extra: { paymentId: claim.paymentId } },
        );
      }
      if (await this.redisCall(() => this.orders.takeOver(merchantId, orderId, claim.paymentId, paymentId))) return;
    }
    throw new PaymentError(PaymentErrorCode.OrderContended, undefined, { headers: retryAfter(1) });
  }

  /**
   * Kafka did not confirm the event. It may still land later, so the payment is ended as FAILED in the
   * system of record first: the pipeline never moves money for a payment that is already terminal, which
   * keeps the 503 the client gets true. Then the order is given back, and a key's attempt is spent, so
   * the client's retry pays as the next one.
   *
   * If that row could not be written (PostgreSQL away too), nothing says FAILED for a keyed payment:
   * its retry pays under the same paymentId, which a late-landing event then completes only once.
   */
  private async abandon(paymentId: string, payment: PaymentPayload, cause: EventPublishError, keyed: (KeyedRequest & { attempt: number }) | undefined): Promise<void> {
    this.logger.warn(`Payment ${paymentId} not accepted: ${cause.message}`);
    const recorded = await this.lifecycle.recordTerminal(paymentId, payment, ABANDONED_AT_INTAKE).catch((error: Error) => {
      this.logger.error(`Could not record abandoned payment ${paymentId}: ${error.message}`);
      return null;
    });
    const tombstoned = recorded?.status === ABANDONED_AT_INTAKE.status && recorded.reason === ABANDONED_AT_INTAKE.reason;
    // Another terminal row of the same paymentId (a lost key's payment that had ended) stays what it is, with its order.
    if (recorded && !tombstoned) return;
    if (tombstoned || !keyed) {
      await this.state
        .append({ eventId: randomUUID(), ...ABANDONED_AT_INTAKE, at: new Date().toISOString(), payment: snapshotOf(paymentId, payment) })
        .catch(() => undefined);
    }
    if (keyed && tombstoned) await this.idempotency.abandon(keyed.merchantId, keyed.key, keyed.fingerprint, keyed.attempt).catch(() => undefined);
    await this.orders.release(payment.merchantId, payment.orderId, paymentId).catch(() => undefined);
  }

  private keyedId(keyed: KeyedRequest, attempt: number): string {
    return keyedPaymentId(this.settings.paymentIdNamespace, keyed.merchantId, keyed.key, attempt);
  }

  private normalize(request: CreatePaymentRequest): PaymentPayload {
    const currency = request.currency as CurrencyCode;
    const amountMinor = toMinorUnits(request.amount, currency, this.settings.maxAmount);
    return {
      orderId: request.orderId,
      userId: request.userId,
      merchantId: request.merchantId ?? this.settings.defaultMerchantId,
      amountMinor: amountMinor.toString(),
      currency,
      ...(request.description !== undefined && { description: request.description }),
      acceptedAt: new Date().toISOString(),
    };
  }

  /** Redis guards idempotency and orders; without it the intake cannot promise either, so it answers 503. */
  private async redisCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof AppError) throw error;
      this.logger.warn(`Redis unavailable for intake: ${(error as Error).message}`);
      throw new PaymentError(PaymentErrorCode.StateStoreUnavailable, undefined, { headers: retryAfter(1) });
    }
  }
}
