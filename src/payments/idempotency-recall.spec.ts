import { describe, expect, it } from '@jest/globals';
import type { PaymentRecords } from '../pipeline/payment-records.repository.js';
import { IdempotencyRecall, type RecalledPayment } from './idempotency-recall.js';
import { keyedPaymentId } from './keyed-payment-id.js';
import type { PaymentPayload } from '../pipeline/payment-events.js';

const NAMESPACE = '6f1d0c8e-33b4-4c4f-9a51-0d2f7a9e1b20';
const settings = { paymentIdNamespace: NAMESPACE };
const KEY = 'key-1';
const payment: PaymentPayload = { orderId: 'ORD-1', userId: 'U-1', merchantId: 'M-1', amountMinor: '250', currency: 'USD', acceptedAt: '2026-12-01T10:00:00.000Z' };
const idOf = (attempt: number) => keyedPaymentId(NAMESPACE, payment.merchantId, KEY, attempt);

function row(attempt: number, outcome: Partial<RecalledPayment> = {}): RecalledPayment {
  return {
    id: idOf(attempt),
    orderId: payment.orderId,
    userId: payment.userId,
    merchantId: payment.merchantId,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    status: 'COMPLETED',
    stage: 'ledger',
    reason: null,
    acceptedAt: new Date(payment.acceptedAt),
    ...outcome,
  } as RecalledPayment;
}
const abandoned = (attempt: number) => row(attempt, { status: 'FAILED', stage: 'intake', reason: 'PUBLISH_UNCONFIRMED' });

/** A payments table holding `rows`; records each query's ids. */
function recallOver(rows: RecalledPayment[], answer?: () => Promise<RecalledPayment[]>) {
  const queries: string[][] = [];
  const records = {
    recall: async (ids: string[]) => {
      queries.push(ids);
      if (answer) return answer();
      return rows.filter((r) => ids.includes(r.id));
    },
  } as unknown as PaymentRecords;
  return { recall: new IdempotencyRecall(settings, records), queries };
}

describe('IdempotencyRecall', () => {
  it('should pay as attempt 0 a key PostgreSQL has no payment of', async () => {
    expect(await recallOver([]).recall.recall(payment, KEY)).toEqual({ kind: 'attempt', attempt: 0 });
  });

  it('should pay as the next attempt past abandoned ones, whatever body they had', async () => {
    const { recall } = recallOver([abandoned(0), { ...abandoned(1), amountMinor: '999' }]);
    expect(await recall.recall(payment, KEY)).toEqual({ kind: 'attempt', attempt: 2 });
  });

  it('should look up attempt 0 alone, then the next attempts eight at a time past abandoned ones', async () => {
    const { recall, queries } = recallOver(Array.from({ length: 9 }, (_, attempt) => abandoned(attempt)));
    expect(await recall.recall(payment, KEY)).toEqual({ kind: 'attempt', attempt: 9 });
    expect(queries).toEqual([[idOf(0)], Array.from({ length: 8 }, (_, i) => idOf(1 + i)), Array.from({ length: 8 }, (_, i) => idOf(9 + i))]);
  });

  it('should replay the payment that ended, behind an abandoned attempt, for the same request', async () => {
    const ended = row(1, { status: 'DECLINED', stage: 'fraud', reason: 'RISK_TOO_HIGH' });
    expect(await recallOver([abandoned(0), ended]).recall.recall(payment, KEY)).toEqual({ kind: 'replay', record: ended });
  });

  it.each([
    ['amount', { amountMinor: '251' }],
    ['currency', { currency: 'EUR' }],
    ['payer', { userId: 'U-2' }],
    ['order', { orderId: 'ORD-2' }],
  ] as const)('should refuse another %s for the payment that ended', async (_field, other) => {
    expect(await recallOver([row(0)]).recall.recall({ ...payment, ...other }, KEY)).toEqual({ kind: 'mismatch', paymentId: idOf(0) });
  });

  it("should not see another merchant's key", async () => {
    expect(await recallOver([row(0)]).recall.recall({ ...payment, merchantId: 'M-2' }, KEY)).toEqual({ kind: 'attempt', attempt: 0 });
  });

  it('should answer unavailable when PostgreSQL fails, or does not answer within its deadline', async () => {
    const failing = recallOver([], () => Promise.reject(new Error('connection refused')));
    expect(await failing.recall.recall(payment, KEY)).toMatchObject({ kind: 'unavailable', atLeast: 0, error: { message: 'connection refused' } });
    const hung = recallOver([], () => new Promise<never>(() => undefined));
    const started = Date.now();
    expect(await hung.recall.recall(payment, KEY)).toMatchObject({ kind: 'unavailable', error: { message: 'no answer within 1000 ms' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('should go on past the tombstones it saw when PostgreSQL fails on the next lookup', async () => {
    let calls = 0;
    const { recall } = recallOver([], async () => (calls++ === 0 ? [abandoned(0)] : Promise.reject(new Error('connection reset'))));
    expect(await recall.recall(payment, KEY)).toMatchObject({ kind: 'unavailable', atLeast: 1 });
  });

  it('should look up concurrent keys in one query', async () => {
    const { recall, queries } = recallOver([row(0)]);
    const results = await Promise.all([recall.recall(payment, KEY), recall.recall(payment, 'key-2'), recall.recall(payment, 'key-3')]);
    expect(results.map((r) => r.kind)).toEqual(['replay', 'attempt', 'attempt']);
    expect(queries).toEqual([[idOf(0), keyedPaymentId(NAMESPACE, payment.merchantId, 'key-2', 0), keyedPaymentId(NAMESPACE, payment.merchantId, 'key-3', 0)]]); // one turn, one query
  });
});
