import { HttpStatus } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { snapshotOf, type PaymentPayload } from '../pipeline/payment-events.js';
import type { PaymentSnapshot } from '../pipeline/payment-view.js';
import type { StoredResponse } from './idempotency.store.js';

export const ACCEPTED_MESSAGE = '支付请求已收到，正在处理中。';

export interface AcceptedPayment extends PaymentSnapshot {
  status: 'PENDING';
  message: string;
}

/** The 202 of an accepted payment, as stored for the key and replayed verbatim. */
export function acceptedResponse(paymentId: string, payment: PaymentPayload): StoredResponse {
  return {
    statusCode: HttpStatus.ACCEPTED,
    headers: { Location: `/api/payments/${paymentId}` },
    body: { ...snapshotOf(paymentId, payment), status: 'PENDING', message: ACCEPTED_MESSAGE } satisfies AcceptedPayment,
  };
}

/** Same key, same payment: the request as normalized (so 99.99 and "99.99" match), without its arrival time. */
export function fingerprintOf(payment: PaymentPayload): string {
  const { acceptedAt: _acceptedAt, ...identity } = payment;
  const canonical = JSON.stringify(Object.entries(identity).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('hex');
}
