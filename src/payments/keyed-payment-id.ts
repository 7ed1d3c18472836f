import { v5 as uuidv5 } from 'uuid';

/**
 * The paymentId of attempt `attempt` (0, 1, …) of a request with an Idempotency-Key: a UUIDv5 of
 * (merchant, key, attempt) in the deployment's namespace (PAYMENT_ID_NAMESPACE). A retry that finds
 * nothing in Redis therefore publishes the same paymentId as the request it repeats, and the
 * pipeline's dedupe by paymentId (terminal row, ledger transfer, step event ids) makes it one payment.
 * The attempt moves on only past an attempt the intake abandoned (a 503), so a retry can still pay.
 * The name is JSON so that no merchant, key and attempt can spell another's.
 */
export function keyedPaymentId(namespace: string, merchantId: string, key: string, attempt: number): string {
  return uuidv5(JSON.stringify([merchantId, key, attempt]), namespace);
}
