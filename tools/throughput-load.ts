/**
 * The payment load of tools/load.ts for throughput (`npm run bench`): sent as fast as autocannon sends
 * it, without the per-request records, which would cost more than the intake they measure.
 */
import autocannon from 'autocannon';
import { paymentBody } from './load.js';

/** The load as fast as autocannon sends it: for `duration` seconds or `amount` requests, at `rate` per second overall or unpaced. */
export function autocannonPayments(options: {
  url: string;
  apiKey: string;
  connections: number;
  payers: string[];
  orderPrefix: string;
  duration?: number;
  amount?: number;
  rate?: number;
  /** Each request with the Idempotency-Key of its order id: the path that looks the key up in PostgreSQL. */
  idempotencyKeys?: boolean;
}): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: `${options.url}/api/payments`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
    connections: options.connections,
    ...(options.duration !== undefined && { duration: options.duration }),
    ...(options.amount !== undefined && { amount: options.amount }),
    ...(options.rate && { overallRate: options.rate }),
    requests: [
      {
        setupRequest: (request) => {
          const i = n++;
          const orderId = `${options.orderPrefix}${i}`;
          const body = paymentBody(orderId, options.payers[i % options.payers.length]);
          return { ...request, body, ...(options.idempotencyKeys && { headers: { ...request.headers, 'idempotency-key': orderId } }) };
        },
      },
    ],
  });
}
