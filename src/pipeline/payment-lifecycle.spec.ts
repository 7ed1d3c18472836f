import { describe, expect, it } from '@jest/globals';
import type { MetricsService } from '../metrics/metrics.service.js';
import { createEnvelope, stepEventId, type EventEnvelope } from './event-envelope.js';
import type { PaymentPayload } from './payment-events.js';
import { advanceTo, announce, finishAs, PaymentLifecycle, type PaymentStep } from './payment-lifecycle.js';
import type { PaymentRecord } from './payment-record.entity.js';
import type { PaymentRecords, TerminalRow } from './payment-records.repository.js';
import type { PaymentStatus } from './payment-status.js';
import type { StateTransition } from './payment-view.js';
import type { EventBus, OutgoingEvent, PaymentView } from './ports.js';
import type { DecidedStep, StageMessage } from './stage-batch.js';

const payload = (userId: string): PaymentPayload => ({
  orderId: `order-of-${userId}`,
  userId,
  merchantId: 'MERCHANT-001',
  amountMinor: '1250',
  currency: 'USD',
  acceptedAt: '2026-12-01T10:00:00.000Z',
});
const event = (paymentId: string, userId = 'U-1'): EventEnvelope<PaymentPayload> => createEnvelope('payment.initiated', paymentId, payload(userId), 'corr-1');

/** The lifecycle over faked ports: a payments table in a Map, a view that records, a bus that records. */
function lifecycle(options: { rows?: Record<string, PaymentStatus>; viewStatuses?: Record<string, PaymentStatus>; viewDown?: boolean; busDown?: boolean } = {}) {
  const table = new Map<string, PaymentRecord>(
    Object.entries(options.rows ?? {}).map(([id, status]) => [id, { id, status, stage: 'validation', reason: 'EARLIER', riskScore: null, updatedAt: new Date() } as PaymentRecord]),
  );
  const published: OutgoingEvent[] = [];
  const transitions: StateTransition[] = [];
  const counted: string[] = [];
  const inserts: string[][] = [];
  const records = {
    insertTerminal: async (rows: TerminalRow[], onConflict: string) => {
      expect(onConflict).toBe('keep-first');
      inserts.push(rows.map((r) => r.paymentId));
      const written = rows.filter((r) => !table.has(r.paymentId));
      for (const r of written) {
        table.set(r.paymentId, { id: r.paymentId, status: r.outcome.status, stage: r.outcome.stage, reason: r.outcome.reason, riskScore: r.outcome.riskScore ?? null, updatedAt: new Date() } as PaymentRecord);
      }
      return new Set(written.map((r) => r.paymentId));
    },
    findByIds: async (ids: string[]) => new Map(ids.flatMap((id) => (table.has(id) ? [[id, table.get(id)!] as const] : []))),
  } as unknown as PaymentRecords;
  const view = {
    statuses: async (ids: string[]) => {
      if (options.viewDown) throw new Error('Redis is away');
      return ids.map((id) => options.viewStatuses?.[id] ?? null);
    },
    appendAll: async (all: StateTransition[]) => {
      if (options.viewDown) throw new Error('Redis is away');
      transitions.push(...all);
      return all.map(() => 'appended');
    },
  } as unknown as PaymentView;
  const bus = {
    publish: async (events: OutgoingEvent[]) => {
      if (options.busDown) throw new Error('not acknowledged');
      published.push(...events);
    },
  } as unknown as EventBus;
  const metrics = { paymentFinalized: (outcome: { status: string }) => void counted.push(outcome.status) } as unknown as MetricsService;
  const core = new PaymentLifecycle(bus, view, records, metrics);
  const apply = (...steps: PaymentStep[]) => core.apply(steps.map((step) => ({ message: {} as StageMessage, step }) satisfies DecidedStep<PaymentStep>));
  return { core, apply, published, transitions, counted, inserts, table };
}
const envelopeOf = (e: OutgoingEvent) => e.envelope as EventEnvelope<{ status?: string }>;
const stepOf = (outcome: { kind: string; step?: PaymentStep }) => (outcome as { step: PaymentStep }).step;

describe('PaymentLifecycle (ports faked)', () => {
  it('advances a payment to the stage table’s next topic with the step’s deterministic event id, and records the transition', async () => {
    const { apply, published, transitions } = lifecycle();
    const e = event('p-1');
    await apply(stepOf(advanceTo(e, { status: 'VALIDATED', stage: 'validation', type: 'payment.validated', payload: e.payload })));
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ topic: 'payments.validated', key: 'U-1', envelope: { type: 'payment.validated', paymentId: 'p-1', eventId: stepEventId('p-1', 'payment.validated'), correlationId: 'corr-1' } });
    expect(transitions.map((t) => [t.payment.paymentId, t.status, t.stage])).toEqual([['p-1', 'VALIDATED', 'validation']]);
  });

  it('refuses to advance from the last stage: the ledger finishes payments', async () => {
    const { apply } = lifecycle();
    const e = event('p-1');
    await expect(apply(stepOf(advanceTo(e, { status: 'APPROVED', stage: 'ledger', type: 'payment.approved', payload: e.payload })))).rejects.toThrow(/last one/);
  });

  it('finishes a batch with one insert; the row that stands is what it announces, and only the outcome decided now is counted', async () => {
    const { apply, published, counted, inserts, transitions } = lifecycle({ rows: { 'p-2': 'FAILED' } });
    await apply(
      stepOf(finishAs(event('p-1', 'U-1'), { status: 'REJECTED', stage: 'fraud', reason: 'FRAUD_BLOCKLISTED' })),
      // Already ended (a dead letter's row): first row wins, quietly.
      stepOf(finishAs(event('p-2', 'U-2'), { status: 'REJECTED', stage: 'fraud', reason: 'FRAUD_BLOCKLISTED' })),
    );
    expect(inserts).toEqual([['p-1', 'p-2']]);
    expect(published.map((e) => [e.topic, envelopeOf(e).type, envelopeOf(e).payload.status])).toEqual([
      ['payments.finalized', 'payment.rejected', 'REJECTED'],
      ['payments.finalized', 'payment.failed', 'FAILED'],
    ]);
    expect(counted).toEqual(['REJECTED']);
    expect(transitions.map((t) => [t.payment.paymentId, t.status, t.reason])).toEqual([
      ['p-1', 'REJECTED', 'FRAUD_BLOCKLISTED'],
      ['p-2', 'FAILED', 'EARLIER'],
    ]);
  });

  it('announces what the ledger recorded without writing a row of its own', async () => {
    const { apply, published, inserts } = lifecycle();
    const record = { id: 'p-1', status: 'COMPLETED', stage: 'ledger', reason: null, riskScore: 5, updatedAt: new Date('2026-12-01T10:00:01.000Z') } as PaymentRecord;
    await apply(stepOf(announce(event('p-1'), record)));
    expect(inserts).toEqual([]);
    expect(published[0].envelope).toMatchObject({ type: 'payment.completed', payload: { status: 'COMPLETED', riskScore: 5, finalizedAt: '2026-12-01T10:00:01.000Z' } });
  });

  it('keeps the batch’s order in one produce, so one payer’s events stay in order', async () => {
    const { apply, published } = lifecycle();
    const a = event('p-1', 'U-1');
    const b = event('p-2', 'U-1');
    await apply(
      stepOf(finishAs(a, { status: 'REJECTED', stage: 'validation', reason: 'PAYER_BLOCKED' })),
      stepOf(advanceTo(b, { status: 'VALIDATED', stage: 'validation', type: 'payment.validated', payload: b.payload })),
    );
    expect(published.map((e) => envelopeOf(e).paymentId)).toEqual(['p-1', 'p-2']);
  });

  it('fails the batch when Kafka does not acknowledge (the transport retries it), but not when the Redis view is away', async () => {
    const e = event('p-1');
    const advance = stepOf(advanceTo(e, { status: 'VALIDATED', stage: 'validation', type: 'payment.validated', payload: e.payload }));
    await expect(lifecycle({ busDown: true }).apply(advance)).rejects.toThrow(/not acknowledged/);
    const viewDown = lifecycle({ viewDown: true });
    await viewDown.apply(advance);
    expect(viewDown.published).toHaveLength(1);
  });

  it('tells which payments the view holds terminal, and none while Redis is away', async () => {
    expect([...(await lifecycle({ viewStatuses: { 'p-1': 'COMPLETED', 'p-2': 'APPROVED' } }).core.finished(['p-1', 'p-2', 'p-3']))]).toEqual(['p-1']);
    expect([...(await lifecycle({ viewDown: true }).core.finished(['p-1']))]).toEqual([]);
  });

  it('records a terminal row outside a batch and returns the row that stands', async () => {
    const { core, table } = lifecycle({ rows: { 'p-9': 'COMPLETED' } });
    expect((await core.recordTerminal('p-1', payload('U-1'), { status: 'FAILED', stage: 'intake', reason: 'PUBLISH_UNCONFIRMED' })).status).toBe('FAILED');
    expect((await core.recordTerminal('p-9', payload('U-1'), { status: 'FAILED', stage: 'intake', reason: 'PUBLISH_UNCONFIRMED' })).status).toBe('COMPLETED');
    expect(table.get('p-9')?.status).toBe('COMPLETED');
  });
});
