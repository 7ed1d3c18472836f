import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { createEnvelope } from '../pipeline/event-envelope.js';
import type { PaymentLifecycle } from '../pipeline/payment-lifecycle.js';
import type { RefundLifecycle } from '../pipeline/refund-lifecycle.js';
import type { DeadLetter, EventBus, OutgoingRecord } from '../pipeline/ports.js';
import { PermanentEventError } from '../pipeline/stage-batch.js';
import type { DeadLetterRecord } from './dead-letter.entity.js';
import { DeadLetterErrorCode } from './dead-letter-errors.js';
import type { DeadLettersRepository, NewDeadLetter } from './dead-letters.repository.js';
import { DeadLettersService } from './dead-letters.service.js';

Logger.overrideLogger(false);

const PAYMENT_ID = '7c0e8a52-2d7e-4a43-9c55-4f1f3e0b9a11';
const payment = { orderId: 'O-1', userId: 'U-1', merchantId: 'MERCHANT-001', amountMinor: '1250', currency: 'USD', acceptedAt: '2026-12-01T10:00:00.000Z' };

function letter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  const envelope = createEnvelope('payment.validated', PAYMENT_ID, payment, 'corr-1');
  return {
    topic: 'payments.validated',
    partition: 2,
    offset: '41',
    key: 'U-1',
    value: JSON.stringify(envelope),
    headers: { 'x-correlation-id': 'corr-1', 'kafka_dlt-exception-message': 'boom', 'retry_topic-attempts': '3' },
    envelope,
    error: new Error('PostgreSQL is away'),
    attempts: 3,
    consumerGroup: 'payments-fraud',
    ...overrides,
  };
}

/** The service over a table in an array, a lifecycle and a bus that record. */
function deadLetters(stored: DeadLetterRecord[] = []) {
  const kept: NewDeadLetter[] = [];
  const finished: { paymentId: string; status: string; stage: string; reason: string }[] = [];
  const republished: OutgoingRecord[] = [];
  const replayed: string[] = [];
  const repository = {
    add: async (l: NewDeadLetter) => void kept.push(l),
    findById: async (id: string) => stored.find((s) => s.id === id) ?? null,
    markReplayed: async (l: DeadLetterRecord) => void replayed.push(l.id),
  } as unknown as DeadLettersRepository;
  const lifecycle = {
    finish: async (e: { paymentId: string }, outcome: { status: string; stage: string; reason: string }) => void finished.push({ paymentId: e.paymentId, ...outcome }),
  } as unknown as PaymentLifecycle;
  const failedRefunds: { refundId: string; reason: string }[] = [];
  const refunds = { fail: async (e: { payload: { refundId: string } }, reason: string) => void failedRefunds.push({ refundId: e.payload.refundId, reason }) } as unknown as RefundLifecycle;
  const bus = { publishRecords: async (records: OutgoingRecord[]) => void republished.push(...records) } as unknown as EventBus;
  return { service: new DeadLettersService(repository, lifecycle, refunds, bus), kept, finished, failedRefunds, republished, replayed };
}

describe('DeadLettersService (ports faked)', () => {
  it('keeps a letter and ends its payment FAILED at the dead-letter stage: PROCESSING_FAILED after retries', async () => {
    const { service, kept, finished } = deadLetters();
    await service.record(letter());
    expect(kept).toEqual([
      expect.objectContaining({ topic: 'payments.validated', partition: 2, offset: '41', paymentId: PAYMENT_ID, error: 'Error: PostgreSQL is away', attempts: 3 }),
    ]);
    expect(finished).toEqual([expect.objectContaining({ paymentId: PAYMENT_ID, status: 'FAILED', stage: 'dead-letter', reason: 'PROCESSING_FAILED' })]);
  });

  it('says MALFORMED_EVENT for an event no retry could fix', async () => {
    const { service, finished } = deadLetters();
    await service.record(letter({ error: new PermanentEventError('Malformed event: the payload is not a payment'), attempts: 1 }));
    expect(finished[0].reason).toBe('MALFORMED_EVENT');
  });

  it('keeps bytes that are no envelope, or name no usable payment, for inspection only', async () => {
    const { service, kept, finished } = deadLetters();
    await service.record(letter({ envelope: null, value: 'not json' }));
    await service.record(letter({ envelope: createEnvelope('payment.validated', 'not-a-uuid', { orderId: 1 }, 'corr-2') }));
    expect(kept.map((k) => k.paymentId)).toEqual([null, null]);
    expect(finished).toEqual([]);
  });

  it('ends a refund whose event was dead-lettered FAILED, and no payment', async () => {
    const { service, finished, failedRefunds } = deadLetters();
    const refund = { refundId: 'b1d1c3a0-1b2c-4d5e-8f90-123456789abc', paymentId: PAYMENT_ID, merchantId: 'MERCHANT-001', userId: 'U-1', amountMinor: '300', currency: 'USD', requestedAt: '2026-12-01T10:00:00.000Z' };
    await service.record(letter({ topic: 'refunds.requested', envelope: createEnvelope('refund.requested', PAYMENT_ID, refund, 'corr-3') }));
    expect(failedRefunds).toEqual([{ refundId: refund.refundId, reason: 'PROCESSING_FAILED' }]);
    expect(finished).toEqual([]);
  });

  it('replays the original record to its topic without the dead-letter headers, and marks it replayed', async () => {
    const record = { id: 'a7d1c3a0-1b2c-4d5e-8f90-123456789abc', topic: 'payments.validated', messageKey: 'U-1', messageValue: '{"x":1}', headers: letter().headers } as DeadLetterRecord;
    const { service, republished, replayed } = deadLetters([record]);
    await service.replay(record.id);
    expect(republished).toEqual([{ topic: 'payments.validated', key: 'U-1', value: '{"x":1}', headers: { 'x-correlation-id': 'corr-1', 'x-replayed-dead-letter': record.id } }]);
    expect(replayed).toEqual([record.id]);
  });

  it('answers dead_letter_not_found for an unknown or malformed id, and replays nothing', async () => {
    const { service, republished } = deadLetters();
    await expect(service.replay('a7d1c3a0-1b2c-4d5e-8f90-123456789abc')).rejects.toMatchObject({ code: DeadLetterErrorCode.DeadLetterNotFound });
    await expect(service.replay("1' OR '1'='1")).rejects.toMatchObject({ code: DeadLetterErrorCode.DeadLetterNotFound });
    expect(republished).toEqual([]);
  });
});
