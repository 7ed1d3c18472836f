import { rateLimited as rateLimitedFor } from '../auth/auth-errors.js';
import { AppError } from '../errors/app-error.js';
import type { RateState } from './intake-claims.store.js';

export enum PaymentErrorCode {
  PaymentNotFound = 'payment_not_found',
  IdempotencyKeyInvalid = 'idempotency_key_invalid',
  IdempotencyKeyReused = 'idempotency_key_reused',
  IdempotencyRequestInProgress = 'idempotency_request_in_progress',
  OrderAlreadyPaid = 'order_already_paid',
  OrderPaymentInProgress = 'order_payment_in_progress',
  OrderContended = 'order_contended',
  BrokerUnavailable = 'broker_unavailable',
  StateStoreUnavailable = 'state_store_unavailable',
  StatusUnavailable = 'status_unavailable',
}

export class PaymentError extends AppError<PaymentErrorCode> {}

/** Too many requests in the caller's window: 429 with Retry-After, as the other routes answer it. */
export function rateLimited(rate: RateState): AppError {
  return rateLimitedFor(Math.max(1, Math.ceil(rate.resetMs / 1000)), { 'X-RateLimit-Limit': String(rate.limit), 'X-RateLimit-Remaining': '0' });
}

export function keyReused(): PaymentError {
  return new PaymentError(PaymentErrorCode.IdempotencyKeyReused, undefined, { param: 'Idempotency-Key' });
}
