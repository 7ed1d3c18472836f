import { describe, expect, it } from '@jest/globals';
import type { PaymentRecords } from '../pipeline/payment-records.repository.js';
import type { PaymentView } from '../pipeline/ports.js';
import type { CurrentState, HistoryEntry } from '../pipeline/payment-view.js';
import { ERROR_CATALOG } from '../error-catalog.js';
import { PaymentErrorCode } from './payment-errors.js';
import { PaymentQueryService } from './payment-query.service.js';
import type { PaymentRecord } from '../pipeline/payment-record.entity.js';
import { inMachineOrder } from '../pipeline/payment-view.js';
import type { RefundRecord } from '../pipeline/refund-record.entity.js';
import type { RefundRecords } from '../pipeline/refund-records.repository.js';

const paymentId = '7c0e8a52-2d7e-4a43-9c55-4f1f3e0b9a11';
const inFlight: CurrentState = {
  paymentId,
  orderId: 'ORD-1',
  userId: 'U-1',
  merchantId: 'M-1',
  amount: '2.50',
  currency: 'USD',
  createdAt: '2026-11-27T10:00:00.000Z',
  status: 'APPROVED',
  stage: 'fraud',
  updatedAt: '2026-11-27T10:00:01.000Z',
};
const completedRow = {
  id: paymentId,
  orderId: 'ORD-1',
  userId: 'U-1',
  merchantId: 'M-1',
  amountMinor: '250',
  currency: 'USD',
  status: 'COMPLETED',
  stage: 'ledger',
  reason: null,
  acceptedAt: new Date('2026-11-27T10:00:00.000Z'),
  updatedAt: new Date('2026-11-27T10:00:02.000Z'),
} as unknown as PaymentRecord;
const inFlightHistory: HistoryEntry[] = [
  { status: 'PENDING', stage: 'intake', at: '2026-11-27T10:00:00.000Z' },
  { status: 'APPROVED', stage: 'fraud', at: '2026-11-27T10:00:01.000Z' },
];

function queryService(
  redis: { current?: CurrentState | null; history?: HistoryEntry[] },
  findOneBy: () => Promise<PaymentRecord | null>,
  refundsOfPayment: () => Promise<RefundRecord[]> = async () => [],
) {
  const state = {
    current: async () => redis.current ?? null,
    status: async () => redis.current?.status ?? null,
    history: async () => inMachineOrder(redis.history ?? []),
  } as unknown as PaymentView;
  return new PaymentQueryService(state, { findById: findOneBy } as unknown as PaymentRecords, { ofPayment: refundsOfPayment } as unknown as RefundRecords);
}

const refundId = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
const refundRow = (n: number, status: RefundRecord['status'], outcomeReason: string | null = null) =>
  ({
    id: refundId(n),
    paymentId,
    merchantId: 'M-1',
    userId: 'U-1',
    amountMinor: '100',
    currency: 'USD',
    status,
    outcomeReason,
    requestedAt: new Date(`2026-11-27T11:00:0${n}.000Z`),
    createdAt: new Date(`2026-11-27T11:00:0${n}.500Z`),
  }) as unknown as RefundRecord;
const refundStep = (n: number, status: string, stage: string, at: string): HistoryEntry =>
  ({ status, stage, at, detail: { refundId: refundId(n), amount: '1.00', currency: 'USD' } }) as HistoryEntry;

describe('PaymentQueryService', () => {
  it('should answer the terminal row when PostgreSQL has committed it and the Redis view still says in flight', async () => {
    const service = queryService({ current: inFlight, history: inFlightHistory }, async () => completedRow);
    expect(await service.current(paymentId)).toMatchObject({ status: 'COMPLETED', stage: 'ledger', amount: '2.50' });
    expect((await service.history(paymentId)).map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'COMPLETED']);
  });

  it('should answer the Redis view when the payment is still in flight', async () => {
    const service = queryService({ current: inFlight, history: inFlightHistory }, async () => null);
    expect(await service.current(paymentId)).toEqual(inFlight);
    expect(await service.history(paymentId)).toEqual(inFlightHistory);
    expect(await service.status(paymentId)).toBe('APPROVED');
  });

  it("should give the intake's order check the same status: the committed row's, or null when neither store knows it", async () => {
    expect(await queryService({ current: inFlight }, async () => completedRow).status(paymentId)).toBe('COMPLETED');
    expect(await queryService({}, async () => completedRow).status(paymentId)).toBe('COMPLETED');
    expect(await queryService({}, async () => null).status(paymentId)).toBeNull();
  });

  it('should answer a payment Redis has forgotten from PostgreSQL, its history included', async () => {
    const service = queryService({}, async () => completedRow);
    expect(await service.current(paymentId)).toMatchObject({ status: 'COMPLETED', createdAt: '2026-11-27T10:00:00.000Z' });
    expect(await service.history(paymentId)).toEqual([
      { status: 'PENDING', stage: 'intake', at: '2026-11-27T10:00:00.000Z', detail: { source: 'database' } },
      { status: 'COMPLETED', stage: 'ledger', at: '2026-11-27T10:00:02.000Z', detail: { source: 'database' } },
    ]);
  });

  it('should answer the Redis view when PostgreSQL cannot be read, rather than fail the query', async () => {
    const service = queryService({ current: inFlight }, async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    });
    expect(await service.current(paymentId)).toEqual(inFlight);
  });

  it('should not read PostgreSQL when Redis already holds a terminal status', async () => {
    let reads = 0;
    const service = queryService({ current: { ...inFlight, status: 'COMPLETED', stage: 'ledger' } }, async () => {
      reads += 1;
      return completedRow;
    });
    expect(await service.current(paymentId)).toMatchObject({ status: 'COMPLETED' });
    expect(reads).toBe(0);
  });

  it("should answer 404 for another merchant's payment, whichever store answered", async () => {
    const service = queryService({ current: inFlight }, async () => completedRow);
    await expect(service.current(paymentId, 'M-2')).rejects.toMatchObject({ code: PaymentErrorCode.PaymentNotFound });
    expect(ERROR_CATALOG[PaymentErrorCode.PaymentNotFound].status).toBe(404);
  });

  it("should keep each refund's steps together after the payment's, REFUND_PENDING first, whatever order they arrived in", async () => {
    const arrived = [
      { status: 'COMPLETED', stage: 'ledger', at: '2026-11-27T10:00:02.000Z' },
      refundStep(1, 'REFUNDED', 'refunds', '2026-11-27T11:00:01.500Z'), // the outcome landed before the intake's step
      refundStep(2, 'REFUND_PENDING', 'intake', '2026-11-27T11:00:02.000Z'),
      refundStep(1, 'REFUND_PENDING', 'intake', '2026-11-27T11:00:01.000Z'),
      { status: 'PENDING', stage: 'intake', at: '2026-11-27T10:00:00.000Z' },
      refundStep(2, 'REFUND_DECLINED', 'refunds', '2026-11-27T11:00:02.500Z'),
    ] as HistoryEntry[];
    const service = queryService({ current: { ...inFlight, status: 'COMPLETED', stage: 'ledger' }, history: arrived }, async () => completedRow);
    expect((await service.history(paymentId)).map((h) => [h.status, h.detail?.refundId])).toEqual([
      ['PENDING', undefined],
      ['COMPLETED', undefined],
      ['REFUND_PENDING', refundId(1)],
      ['REFUNDED', refundId(1)],
      ['REFUND_PENDING', refundId(2)],
      ['REFUND_DECLINED', refundId(2)],
    ]);
  });

  it("should add the steps of refunds the stream misses from PostgreSQL, once, and answer the stream's when PostgreSQL is away", async () => {
    const completed = { ...inFlight, status: 'COMPLETED' as const, stage: 'ledger' as const };
    const stream = [
      { status: 'PENDING', stage: 'intake', at: '2026-11-27T10:00:00.000Z' },
      { status: 'COMPLETED', stage: 'ledger', at: '2026-11-27T10:00:02.000Z' },
      refundStep(1, 'REFUND_PENDING', 'intake', '2026-11-27T11:00:01.000Z'),
    ] as HistoryEntry[];
    const rows = async () => [refundRow(2, 'FAILED', 'PUBLISH_UNCONFIRMED'), refundRow(1, 'SUCCEEDED')];
    const history = await queryService({ current: completed, history: stream }, async () => completedRow, rows).history(paymentId);
    expect(history.map((h) => [h.status, h.stage, h.detail?.refundId, h.detail?.source, h.reason])).toEqual([
      ['PENDING', 'intake', undefined, undefined, undefined],
      ['COMPLETED', 'ledger', undefined, undefined, undefined],
      ['REFUND_PENDING', 'intake', refundId(1), undefined, undefined],
      ['REFUNDED', 'refunds', refundId(1), 'database', undefined],
      ['REFUND_FAILED', 'intake', refundId(2), 'database', 'PUBLISH_UNCONFIRMED'], // answered 503: never pending
    ]);
    const away = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    };
    expect(await queryService({ current: completed, history: stream }, async () => completedRow, away).history(paymentId)).toEqual(stream);
  });
});
