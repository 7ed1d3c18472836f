import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { minorUnitsOrBadRequest } from '../http/amounts.js';
import { setLogPaymentId } from '../logging/log-context.js';
import { ApiError } from '../http/api-error.js';
import { createEnvelope } from '../kafka/event-envelope.js';
import { EventPublishError, EventPublisher } from '../kafka/event-publisher.js';
import { PaymentTrace } from '../logging/payment-trace.js';
import { TOPICS } from '../kafka/topics.js';
import { PaymentStateStore, type PaymentSnapshot } from '../state/payment-state.store.js';
import { isTerminal } from '../state/payment-status.js';
import type { CurrencyCode } from '../money/currencies.js';
import type { CreatePaymentRequest } from './dto/create-payment.request.js';
import { IdempotencyStore, type StoredResponse } from './idempotency.store.js';
import { IntakeClaims, type RateState } from './intake-claims.js';
import { OrderRegistry, type OrderClaim } from './order-registry.js';
import { PAYMENT_EVENT_TYPES, snapshotOf, type PaymentPayload } from './payment-events.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PaymentLifecycle } from './payment-lifecycle.service.js';
import { PaymentQueryService } from './payment-query.service.js';

export const ACCEPTED_MESSAGE = '支付请求已收到，正在处理中。';

export interface AcceptedPayment extends PaymentSnapshot {
  status: 'PENDING';
  message: string;
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
    private readonly config: AppConfig,
    private readonly publisher: EventPublisher,
    private readonly state: PaymentStateStore,
    private readonly claims: IntakeClaims,
    private readonly idempotency: IdempotencyStore,
    private readonly orders: OrderRegistry,
    private readonly query: PaymentQueryService,
    private readonly lifecycle: PaymentLifecycle,
    private readonly metrics: MetricsService,
  ) {
    this.trace = new PaymentTrace(PaymentsService.name, config.paymentTraceLevel);
  }

  /**
   * Two Redis round trips on the common path: one script for the rate limit, the Idempotency-Key and
   * the order (IntakeClaims), then, after Kafka acknowledged the event, one pipelined write that
   * confirms the order, stores the key's answer and appends PENDING.
   */
  async create(request: CreatePaymentRequest, idempotencyKey: string | undefined, correlationId: string, rateLimitKey?: string): Promise<CreatePaymentResult> {
    const payment = this.normalize(request);
    const paymentId = randomUUID();
    setLogPaymentId(paymentId);
    // Keys are the merchant's own: the same key from another merchant is another request.
    const idempotency = idempotencyKey === undefined ? undefined : { merchantId: payment.merchantId, key: idempotencyKey, fingerprint: fingerprintOf(payment) };
    const claim = await this.redisCall(() =>
      this.claims.claim({ rateLimitKey, idempotency, merchantId: payment.merchantId, orderId: payment.orderId, paymentId }),
    );
    if (claim.kind === 'rate_limited') throw rateLimited(claim.rate);
    if (claim.kind === 'idempotency_taken') {
      const earlier = await this.earlierRequest(idempotency!);
      if (earlier) return { response: earlier, replayed: true, rate: claim.rate };
    }
    try {
      // The script stopped before the order when the key was taken; when the order was taken, the intake decides.
      if (claim.kind !== 'claimed') await this.claimOrder(payment, paymentId, claim.kind === 'order_taken' ? claim.holder : undefined);
      return { response: await this.accept(payment, paymentId, correlationId, idempotency), replayed: false, rate: claim.rate };
    } catch (error) {
      if (idempotency) await this.idempotency.release(idempotency.merchantId, idempotency.key, idempotency.fingerprint).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The key has a record: the stored answer to replay, a refusal (another body, or still in progress
   * after a wait), or undefined once this request holds the key (the earlier one gave it up).
   */
  private async earlierRequest(idempotency: { merchantId: string; key: string; fingerprint: string }): Promise<StoredResponse | undefined> {
    const waitMs = this.config.kafka.publishTimeoutMs + 1000;
    const claim = await this.redisCall(() => this.idempotency.claim(idempotency.merchantId, idempotency.key, idempotency.fingerprint, waitMs));
    switch (claim.kind) {
      case 'replay':
        return claim.response;
      case 'mismatch':
        throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
          type: 'idempotency_error',
          code: 'idempotency_key_reused',
          message: 'This Idempotency-Key was already used with a different request body.',
          param: 'Idempotency-Key',
        });
      case 'in_progress':
        throw new ApiError(HttpStatus.CONFLICT, {
          type: 'idempotency_error',
          code: 'idempotency_request_in_progress',
          message: 'A request with this Idempotency-Key is still being processed; retry shortly.',
          param: 'Idempotency-Key',
        });
      case 'claimed':
        return undefined;
    }
  }

  private async accept(
    payment: PaymentPayload,
    paymentId: string,
    correlationId: string,
    idempotency: { merchantId: string; key: string; fingerprint: string } | undefined,
  ): Promise<StoredResponse> {
    const envelope = createEnvelope(PAYMENT_EVENT_TYPES.initiated, paymentId, payment, correlationId, new Date(payment.acceptedAt));
    try {
      await this.publisher.publish([{ topic: TOPICS.initiated, key: payment.userId, envelope }]);
    } catch (error) {
      if (!(error instanceof EventPublishError)) throw error;
      await this.abandon(paymentId, payment, error);
      throw ApiError.unavailable('broker_unavailable', 'The payment could not be accepted right now; retry shortly.', 1);
    }

    this.metrics.paymentAccepted(payment.currency);
    this.trace.write(
      () => `Payment ${paymentId} published to ${TOPICS.initiated}: order ${payment.orderId}, ${payment.currency} ${payment.amountMinor} minor units, payer ${payment.userId}`,
    );
    const snapshot = snapshotOf(paymentId, payment);
    const response: StoredResponse = {
      statusCode: HttpStatus.ACCEPTED,
      headers: { Location: `/api/payments/${paymentId}` },
      body: { ...snapshot, status: 'PENDING', message: ACCEPTED_MESSAGE } satisfies AcceptedPayment,
    };
    // One round trip shared with the requests accepted at the same time; all best effort: Kafka already holds the payment.
    const settled = await this.claims.settle({
      merchantId: payment.merchantId,
      orderId: payment.orderId,
      paymentId,
      pending: { eventId: envelope.eventId, status: 'PENDING', stage: 'intake', at: payment.acceptedAt, payment: snapshot },
      ...(idempotency && { idempotency: { ...idempotency, response } }),
    });
    if (settled.error) {
      // A lost answer only means a retry would be told "order already paid"; the next transition brings the view up to date.
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
      if (claim.kind === 'claimed') return;
      // Read as a status query would: a terminal row in PostgreSQL counts even if the Redis view missed it.
      const earlier = await this.redisCall(() => this.query.status(claim.paymentId));
      const earlierEndedUnpaid = isTerminal(earlier) && earlier !== 'COMPLETED';
      if (!earlierEndedUnpaid) {
        throw new ApiError(HttpStatus.CONFLICT, {
          type: 'conflict_error',
          code: earlier === 'COMPLETED' ? 'order_already_paid' : 'order_payment_in_progress',
          message: `Order ${orderId} already has a ${earlier === 'COMPLETED' ? 'completed' : 'pending'} payment ${claim.paymentId}.`,
          param: 'orderId',
          paymentId: claim.paymentId,
        });
      }
      if (await this.redisCall(() => this.orders.takeOver(merchantId, orderId, claim.paymentId, paymentId))) return;
    }
    throw ApiError.unavailable('order_contended', 'The order is being paid concurrently; retry shortly.', 1);
  }

  /**
   * Kafka did not confirm the event. It may still land later, so the payment is ended as FAILED in the
   * system of record first: the pipeline never moves money for a payment that is already terminal, which
   * keeps the 503 the client gets true. Then the order is given back for a retry.
   */
  private async abandon(paymentId: string, payment: PaymentPayload, cause: EventPublishError): Promise<void> {
    this.logger.warn(`Payment ${paymentId} not accepted: ${cause.message}`);
    const reason = 'PUBLISH_UNCONFIRMED';
    await this.lifecycle
      .recordTerminal(paymentId, payment, { status: 'FAILED', stage: 'intake', reason })
      .catch((error: Error) => this.logger.error(`Could not record abandoned payment ${paymentId}: ${error.message}`));
    await this.state
      .append({ eventId: randomUUID(), status: 'FAILED', stage: 'intake', at: new Date().toISOString(), reason, payment: snapshotOf(paymentId, payment) })
      .catch(() => undefined);
    await this.orders.release(payment.merchantId, payment.orderId, paymentId).catch(() => undefined);
  }

  private normalize(request: CreatePaymentRequest): PaymentPayload {
    const currency = request.currency as CurrencyCode;
    const amountMinor = minorUnitsOrBadRequest(request.amount, currency, this.config.payments.maxAmount);
    return {
      orderId: request.orderId,
      userId: request.userId,
      merchantId: request.merchantId ?? this.config.payments.defaultMerchantId,
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
      if (error instanceof ApiError) throw error;
      this.logger.warn(`Redis unavailable for intake: ${(error as Error).message}`);
      throw ApiError.unavailable('state_store_unavailable', 'The payment could not be accepted right now; retry shortly.', 1);
    }
  }
}

/** Too many requests in the caller's window: 429 with Retry-After, as the other routes answer it. */
function rateLimited(rate: RateState): ApiError {
  const retryAfter = Math.max(1, Math.ceil(rate.resetMs / 1000));
  return new ApiError(
    HttpStatus.TOO_MANY_REQUESTS,
    { type: 'rate_limit_error', code: 'rate_limited', message: `Too many requests; retry after ${retryAfter} s.` },
    { 'Retry-After': String(retryAfter), 'X-RateLimit-Limit': String(rate.limit), 'X-RateLimit-Remaining': '0' },
  );
}

/** Same key, same payment: the request as normalized (so 99.99 and "99.99" match), without its arrival time. */
function fingerprintOf(payment: PaymentPayload): string {
  const { acceptedAt: _acceptedAt, ...identity } = payment;
  const canonical = JSON.stringify(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('hex');
}
