import { AuthErrorCode } from './auth/auth-errors.js';
import { DeadLetterErrorCode } from './dead-letters/dead-letter-errors.js';
import type { ErrorSpec } from './errors/app-error.js';
import { HealthErrorCode } from './health/health-errors.js';
import { HttpErrorCode } from './http/http-errors.js';
import { LedgerErrorCode } from './ledger/ledger-errors.js';
import { AmountErrorCode } from './money/money.js';
import { PaymentErrorCode } from './payments/payment-errors.js';
import { RefundErrorCode } from './payments/refund-errors.js';
import { WebhookErrorCode } from './webhooks/webhook-errors.js';

/** Every error code of the app. */
export type ErrorCode =
  | HttpErrorCode
  | AmountErrorCode
  | AuthErrorCode
  | PaymentErrorCode
  | RefundErrorCode
  | LedgerErrorCode
  | DeadLetterErrorCode
  | HealthErrorCode
  | WebhookErrorCode;

/** The enums the catalog covers, for the test that walks them. */
export const ERROR_ENUMS = { HttpErrorCode, AmountErrorCode, AuthErrorCode, PaymentErrorCode, RefundErrorCode, LedgerErrorCode, DeadLetterErrorCode, HealthErrorCode, WebhookErrorCode };

const badRequest = (message: string): ErrorSpec => ({ status: 400, type: 'invalid_request_error', message });
const notFound = (message: string): ErrorSpec => ({ status: 404, type: 'not_found_error', message });
const unavailable = (message: string): ErrorSpec => ({ status: 503, type: 'service_unavailable_error', message });

/**
 * The one map from an error code to its HTTP status, type and public message. The mapped type makes
 * the type checker refuse a code without an entry (src/error-catalog.spec.ts walks them too).
 */
export const ERROR_CATALOG: { readonly [C in ErrorCode]: ErrorSpec } = {
  [HttpErrorCode.MalformedRequest]: badRequest('The request is not valid HTTP.'),
  [HttpErrorCode.RequestTimeout]: { status: 408, type: 'invalid_request_error', message: 'The request was not received in time.' },
  [HttpErrorCode.HeadersTooLarge]: { status: 431, type: 'invalid_request_error', message: 'The request headers are larger than the limit.' },
  [HttpErrorCode.InvalidUrl]: badRequest('The URL is not valid (malformed percent-encoding).'),
  [HttpErrorCode.BadRequest]: badRequest('The request cannot be routed.'),
  [HttpErrorCode.UnsupportedMediaType]: { status: 415, type: 'invalid_request_error', message: 'Send the body as application/json.' },
  [HttpErrorCode.BodyTooLarge]: { status: 413, type: 'invalid_request_error', message: 'The request body is larger than the limit.' },
  [HttpErrorCode.InvalidJson]: badRequest('The request body is not valid JSON.'),
  [HttpErrorCode.InvalidContentLength]: badRequest('Content-Length does not match the body.'),
  [HttpErrorCode.BodyNotObject]: badRequest('The request body must be a JSON object.'),
  [HttpErrorCode.ParameterMissing]: badRequest('A required field is missing.'),
  [HttpErrorCode.ParameterUnknown]: badRequest('The request has a field that is not known.'),
  [HttpErrorCode.ParameterInvalid]: badRequest('The request is invalid.'),
  [AmountErrorCode.NotADecimal]: badRequest('amount must be a decimal number.'),
  [AmountErrorCode.NotPositive]: badRequest('amount must be greater than zero.'),
  [AmountErrorCode.TooManyDecimals]: badRequest("amount has more decimals than the currency's minor unit."),
  [AmountErrorCode.TooLarge]: badRequest('amount is above the largest amount accepted.'),
  [HttpErrorCode.ResourceNotFound]: notFound('No such resource.'),
  [HttpErrorCode.InternalError]: { status: 500, type: 'api_error', message: 'An unexpected error occurred.' },

  [AuthErrorCode.ApiKeyMissing]: { status: 401, type: 'authentication_error', message: 'Send an API key as Authorization: Bearer <key>.' },
  [AuthErrorCode.ApiKeyInvalid]: { status: 401, type: 'authentication_error', message: 'The API key is not valid (send it as Authorization: Bearer <key>).' },
  [AuthErrorCode.AdminKeyRequired]: { status: 403, type: 'permission_error', message: 'This endpoint needs an admin API key.' },
  [AuthErrorCode.MerchantMismatch]: { status: 403, type: 'permission_error', message: "merchantId must be the API key's merchant (or left out)." },
  [AuthErrorCode.RateLimited]: { status: 429, type: 'rate_limit_error', message: 'Too many requests; retry later.' },
  [AuthErrorCode.SessionInvalid]: { status: 401, type: 'authentication_error', message: 'The console session has ended or was signed out; sign in again.' },
  [AuthErrorCode.CsrfTokenInvalid]: { status: 403, type: 'permission_error', message: 'Send the session\'s CSRF token as X-CSRF-Token with every request that changes something.' },
  [AuthErrorCode.SessionUnavailable]: unavailable('Console sessions cannot be checked right now (Redis is unavailable); retry shortly.'),

  [PaymentErrorCode.PaymentNotFound]: notFound('No such payment.'),
  [PaymentErrorCode.IdempotencyKeyInvalid]: badRequest('Idempotency-Key must be 1 to 255 printable ASCII characters.'),
  [PaymentErrorCode.IdempotencyKeyReused]: { status: 422, type: 'idempotency_error', message: 'This Idempotency-Key was already used with a different request body.' },
  [PaymentErrorCode.IdempotencyRequestInProgress]: {
    status: 409,
    type: 'idempotency_error',
    message: 'A request with this Idempotency-Key is still being processed; retry shortly.',
  },
  [PaymentErrorCode.OrderAlreadyPaid]: { status: 409, type: 'conflict_error', message: 'The order already has a completed payment.' },
  [PaymentErrorCode.OrderPaymentInProgress]: { status: 409, type: 'conflict_error', message: 'The order already has a pending payment.' },
  [PaymentErrorCode.OrderContended]: unavailable('The order is being paid concurrently; retry shortly.'),
  [PaymentErrorCode.BrokerUnavailable]: unavailable('The payment could not be accepted right now; retry shortly.'),
  [PaymentErrorCode.StateStoreUnavailable]: unavailable('The payment could not be accepted right now; retry shortly.'),
  [PaymentErrorCode.StatusUnavailable]: unavailable('The payment status cannot be read right now; retry shortly.'),

  [RefundErrorCode.RefundNotFound]: notFound('No such refund.'),
  [RefundErrorCode.PaymentNotRefundable]: { status: 409, type: 'conflict_error', message: 'Only a COMPLETED payment can be refunded.' },
  [RefundErrorCode.RefundExceedsPayment]: {
    status: 422,
    type: 'invalid_request_error',
    message: 'The refund is more than what is left to refund of the payment.',
  },
  [RefundErrorCode.RefundUnavailable]: unavailable('The refund could not be accepted right now; retry shortly.'),

  [LedgerErrorCode.AccountNotFound]: notFound('No such wallet.'),
  [LedgerErrorCode.DepositIdReused]: { status: 422, type: 'idempotency_error', message: 'This depositId was already used for another deposit.' },

  [DeadLetterErrorCode.DeadLetterNotFound]: notFound('No such dead letter.'),

  [HealthErrorCode.HealthComponentNotFound]: notFound('No such health component.'),
  [HealthErrorCode.MetricNotFound]: notFound('No such metric.'),

  [WebhookErrorCode.WebhookEndpointNotFound]: notFound('No such webhook endpoint.'),
  [WebhookErrorCode.WebhookUrlInvalid]: badRequest('The endpoint URL is not one webhooks can be sent to.'),
  [WebhookErrorCode.WebhookUrlForbidden]: badRequest('The endpoint URL resolves to a loopback, private, link-local or metadata address.'),
  [WebhookErrorCode.EventNotFound]: notFound('No such event.'),
  [WebhookErrorCode.WebhooksUnavailable]: unavailable('Webhooks are unavailable right now; retry shortly.'),
};
