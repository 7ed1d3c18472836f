import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import { EventPublishError, type OutgoingEvent } from '../kafka/event-publisher.js';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { PaymentLifecycle } from '../pipeline/payment-lifecycle.js';
import type { PaymentRecord } from '../pipeline/payment-record.entity.js';
import type { RecalledPayment } from '../pipeline/payment-records.repository.js';
import type { EventBus, PaymentView } from '../pipeline/ports.js';
import type { CreatePaymentRequest } from './dto/create-payment.request.js';
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from './idempotency.store.js';
import type { IdempotencyRecall, RecalledKey } from './idempotency-recall.js';
import type { IntakeClaim, IntakeClaims } from './intake-claims.store.js';
import { intakeSettingsOf } from './intake-settings.js';
import { keyedPaymentId } from './keyed-payment-id.js';
import type { OrderClaim, OrderRegistry } from './order-registry.store.js';
import { PaymentErrorCode } from './payment-errors.js';
import type { PaymentQueryService } from './payment-query.service.js';
import { ACCEPTED_MESSAGE } from './accepted-payment.js';
import { PaymentsService } from './payments.service.js';

const config = AppConfig.fromEnvironment({});
const NAMESPACE = config.payments.paymentIdNamespace;
const MERCHANT = config.payments.defaultMerchantId;
const request: CreatePaymentRequest = { orderId: 'ORDER-1', amount: '12.50', currency: 'USD', userId: 'USER-1' };
const idOf = (key: string, attempt: number) => keyedPaymentId(NAMESPACE, MERCHANT, key, attempt);

interface World {
  /** What the intake's claim script answers. */
  claim?: IntakeClaim;
  /** What the Idempotency-Key's Redis record says, when the script found one. */
  keyClaim?: IdempotencyClaim;
  /** What PostgreSQL's rows of the key say. */
  recalled?: RecalledKey;
  /** The order registry's answer to a claim after the script found the order taken. */
  orderClaims?: OrderClaim[];
  takeOver?: boolean;
  /** Status of other payments, as a status query reads them. */
  statuses?: Record<string, string>;
  /** Kafka does not acknowledge. */
  publishFails?: boolean;
  /** The terminal row that stands after the intake's tombstone (default: the tombstone). */
  standingRow?: Partial<PaymentRecord> | 'unwritable';
}

/** The intake with every port faked: what it does to them is written to `log`, in order. */
function intake(world: World = {}) {
  const log: string[] = [];
  const published: OutgoingEvent[] = [];
  const claims = {
    claim: async () => world.claim ?? { kind: 'claimed' },
    settle: async (settlement: { paymentId: string; idempotency?: unknown }) => {
      log.push(`settle ${settlement.paymentId}${settlement.idempotency ? ' with its answer' : ''}`);
      return { orderKept: true };
    },
  } as unknown as IntakeClaims;
  const idempotency = {
    claim: async () => world.keyClaim ?? { kind: 'claimed' },
    release: async () => void log.push('release key'),
    remember: async (_m: string, _k: string, _f: string, response: StoredResponse) => void log.push(`remember ${(response.body as { paymentId: string }).paymentId}`),
    abandon: async (_m: string, _k: string, _f: string, attempt: number) => void log.push(`spend attempt ${attempt}`),
  } as unknown as IdempotencyStore;
  const recall = { recall: async () => world.recalled ?? { kind: 'attempt', attempt: 0 } } as unknown as IdempotencyRecall;
  const orderClaims = [...(world.orderClaims ?? [])];
  const orders = {
    claim: async () => orderClaims.shift() ?? { kind: 'claimed' },
    takeOver: async (_m: string, _o: string, from: string, to: string, seconds?: number) => {
      log.push(`order ${from} → ${to}${seconds ? ` for ${seconds} s` : ''}`);
      return world.takeOver ?? true;
    },
    release: async (_m: string, _o: string, holder: string) => void log.push(`release order of ${holder}`),
  } as unknown as OrderRegistry;
  const query = { status: async (id: string) => world.statuses?.[id] ?? null } as unknown as PaymentQueryService;
  const lifecycle = {
    recordTerminal: async (paymentId: string, _p: unknown, outcome: { status: string; reason: string }) => {
      log.push(`tombstone ${paymentId}`);
      if (world.standingRow === 'unwritable') throw new Error('PostgreSQL is away');
      return { id: paymentId, ...outcome, ...world.standingRow };
    },
  } as unknown as PaymentLifecycle;
  const publisher = {
    publish: async (events: OutgoingEvent[]) => {
      if (world.publishFails) throw new EventPublishError('not acknowledged in time', true);
      published.push(...events);
    },
  } as unknown as EventBus;
  const view = { append: async (t: { status: string }) => void log.push(`view ${t.status}`) } as unknown as PaymentView;
  const metrics = { idempotencyRecalled: (outcome: string) => void log.push(`recalled: ${outcome}`), paymentAccepted: () => undefined } as unknown as MetricsService;
  const service = new PaymentsService(intakeSettingsOf(config), publisher, view, claims, idempotency, recall, orders, query, lifecycle, metrics);
  return { service, log, published, create: (key?: string) => service.create(request, key, 'corr-1') };
}

const row = (overrides: Partial<RecalledPayment>): RecalledPayment => ({
  id: idOf('key-1', 0),
  merchantId: MERCHANT,
  orderId: 'ORDER-1',
  userId: 'USER-1',
  amountMinor: '1250',
  currency: 'USD',
  status: 'COMPLETED',
  stage: 'ledger',
  reason: null,
  acceptedAt: new Date('2026-12-01T10:00:00.000Z'),
  ...overrides,
});

describe('PaymentsService (intake orchestration, ports faked)', () => {
  it('publishes one initiated event and answers 202 with the message; the key derives the paymentId', async () => {
    const { create, published, log } = intake();
    const { response, replayed } = await create('key-1');
    expect(replayed).toBe(false);
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ paymentId: idOf('key-1', 0), status: 'PENDING', message: ACCEPTED_MESSAGE, amount: '12.50' });
    expect(published.map((e) => [e.topic, e.key])).toEqual([['payments.initiated', 'USER-1']]);
    expect(log).toEqual(['recalled: new', `settle ${idOf('key-1', 0)} with its answer`]);
  });

  describe('Idempotency-Key', () => {
    it('replays the stored answer without publishing', async () => {
      const stored: StoredResponse = { statusCode: 202, headers: {}, body: { paymentId: 'p-earlier' } };
      const { create, published } = intake({ claim: { kind: 'idempotency_taken' }, keyClaim: { kind: 'replay', response: stored } });
      expect(await create('key-1')).toMatchObject({ response: stored, replayed: true });
      expect(published).toEqual([]);
    });

    it('refuses another body under a key Redis knows (422), and publishes nothing', async () => {
      const { create, published } = intake({ claim: { kind: 'idempotency_taken' }, keyClaim: { kind: 'mismatch' } });
      await expect(create('key-1')).rejects.toMatchObject({ code: PaymentErrorCode.IdempotencyKeyReused, detail: { param: 'Idempotency-Key' } });
      expect(published).toEqual([]);
    });

    it('answers 409 while the first request with the key is still in progress', async () => {
      const { create } = intake({ claim: { kind: 'idempotency_taken' }, keyClaim: { kind: 'in_progress' } });
      await expect(create('key-1')).rejects.toMatchObject({ code: PaymentErrorCode.IdempotencyRequestInProgress });
    });

    it('replays a payment PostgreSQL remembers when Redis forgot the key, and holds a completed order for it again', async () => {
      const { create, published, log } = intake({ recalled: { kind: 'replay', record: row({}) } });
      const { response, replayed } = await create('key-1');
      expect(replayed).toBe(true);
      expect(response.body).toMatchObject({ paymentId: idOf('key-1', 0), status: 'PENDING', amount: '12.50' });
      expect(published).toEqual([]);
      expect(log).toEqual([
        'recalled: replayed',
        `remember ${idOf('key-1', 0)}`,
        `order ${idOf('key-1', 0)} → ${idOf('key-1', 0)} for ${config.payments.stateRetentionSeconds} s`,
      ]);
    });

    it('refuses another body under a key only PostgreSQL remembers, giving back the order lease it took', async () => {
      const { create, published, log } = intake({ recalled: { kind: 'mismatch', paymentId: idOf('key-1', 0) } });
      await expect(create('key-1')).rejects.toMatchObject({ code: PaymentErrorCode.IdempotencyKeyReused });
      expect(published).toEqual([]);
      expect(log).toEqual(['recalled: mismatch', `release order of ${idOf('key-1', 0)}`, 'release key']);
    });

    it('pays as the next attempt past an abandoned one, moving its order lease to that paymentId', async () => {
      const { create, published, log } = intake({ recalled: { kind: 'attempt', attempt: 1 } });
      const { response } = await create('key-1');
      expect(response.body).toMatchObject({ paymentId: idOf('key-1', 1) });
      expect(published[0].envelope).toMatchObject({ paymentId: idOf('key-1', 1) });
      expect(log).toEqual(['recalled: next_attempt', `order ${idOf('key-1', 0)} → ${idOf('key-1', 1)}`, `settle ${idOf('key-1', 1)} with its answer`]);
    });

    it('goes on as attempt 0 when PostgreSQL cannot be read', async () => {
      const { create } = intake({ recalled: { kind: 'unavailable', error: new Error('timeout'), atLeast: 0 } });
      expect((await create('key-1')).response.body).toMatchObject({ paymentId: idOf('key-1', 0) });
    });
  });

  describe('orders', () => {
    it('answers 409 naming the payment that already completed the order', async () => {
      const { create } = intake({ claim: { kind: 'order_taken', holder: 'p-paid' }, statuses: { 'p-paid': 'COMPLETED' } });
      await expect(create()).rejects.toMatchObject({ code: PaymentErrorCode.OrderAlreadyPaid, detail: { param: 'orderId', extra: { paymentId: 'p-paid' } } });
    });

    it('answers 409 while another payment of the order is in flight', async () => {
      const { create } = intake({ claim: { kind: 'order_taken', holder: 'p-pending' } });
      await expect(create()).rejects.toMatchObject({ code: PaymentErrorCode.OrderPaymentInProgress });
    });

    it('takes over an order whose earlier payment ended unpaid', async () => {
      const { create, log, published } = intake({ claim: { kind: 'order_taken', holder: 'p-declined' }, statuses: { 'p-declined': 'DECLINED' } });
      const { response } = await create();
      const paymentId = (response.body as { paymentId: string }).paymentId;
      expect(log[0]).toBe(`order p-declined → ${paymentId}`);
      expect(published).toHaveLength(1);
    });

    it('goes on when the order is already held by this very paymentId (a retry of a payment in flight whose key Redis lost)', async () => {
      const { create, published } = intake({ recalled: { kind: 'attempt', attempt: 1 }, takeOver: false, orderClaims: [{ kind: 'taken', paymentId: idOf('key-1', 1) }] });
      expect((await create('key-1')).response.body).toMatchObject({ paymentId: idOf('key-1', 1) });
      expect(published).toHaveLength(1);
    });

    it('answers 503 order_contended when the takeover keeps losing the race', async () => {
      const { create } = intake({
        claim: { kind: 'order_taken', holder: 'p-1' },
        takeOver: false,
        orderClaims: [{ kind: 'taken', paymentId: 'p-2' }, { kind: 'taken', paymentId: 'p-3' }],
        statuses: { 'p-1': 'REJECTED', 'p-2': 'REJECTED', 'p-3': 'REJECTED' },
      });
      await expect(create()).rejects.toMatchObject({ code: PaymentErrorCode.OrderContended, detail: { headers: { 'Retry-After': '1' } } });
    });
  });

  describe('an unconfirmed publish', () => {
    it('records the tombstone, marks FAILED, spends the attempt, gives the order back and answers 503', async () => {
      const { create, log } = intake({ publishFails: true });
      await expect(create('key-1')).rejects.toMatchObject({ code: PaymentErrorCode.BrokerUnavailable, detail: { headers: { 'Retry-After': '1' } } });
      const paymentId = idOf('key-1', 0);
      expect(log).toEqual(['recalled: new', `tombstone ${paymentId}`, 'view FAILED', 'spend attempt 0', `release order of ${paymentId}`, 'release key']);
    });

    it('spends nothing when the tombstone cannot be written: the retry pays under the same paymentId', async () => {
      const { create, log } = intake({ publishFails: true, standingRow: 'unwritable' });
      await expect(create('key-1')).rejects.toMatchObject({ code: PaymentErrorCode.BrokerUnavailable });
      expect(log).not.toContain('spend attempt 0');
      expect(log).not.toContain('view FAILED');
    });

    it("leaves another terminal row of the paymentId, and its order, as they are", async () => {
      const { create, log } = intake({ publishFails: true, standingRow: { status: 'COMPLETED', reason: null } });
      await expect(create('key-1')).rejects.toMatchObject({ code: PaymentErrorCode.BrokerUnavailable });
      expect(log.filter((line) => line.startsWith('release order') || line.startsWith('spend') || line.startsWith('view'))).toEqual([]);
    });
  });

  it('answers 503 state_store_unavailable when Redis is away, before publishing', async () => {
    const { service, published } = intake();
    (service as unknown as { claims: { claim: () => Promise<never> } }).claims.claim = async () => {
      throw new Error('Connection is closed.');
    };
    await expect(service.create(request, undefined, 'corr-1')).rejects.toMatchObject({ code: PaymentErrorCode.StateStoreUnavailable });
    expect(published).toEqual([]);
  });
});
