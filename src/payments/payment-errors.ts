import { AppError } from '../errors/app-error.js';

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
