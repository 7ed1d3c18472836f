import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { LedgerService } from '../src/ledger/ledger.service.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import type { PaymentPayload } from '../src/payments/payment-events.js';
import { request } from './support/http.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

/**
 * The ledger posts concurrent payments in one transaction (group commit). These run against real
 * PostgreSQL: what a group decides must equal what posting one by one would decide.
 */
describe('ledger group commit (PostgreSQL)', () => {
  let running: RunningApp;
  let ledger: LedgerService;
  let db: DataSource;

  beforeAll(async () => {
    running = await startTestApp({}, { consumers: false });
    ledger = running.app.get(LedgerService);
    db = running.app.get(DataSource);
  });
  afterAll(() => running?.close());

  const payers: string[] = [];
  const payer = () => {
    const userId = `GRP-${randomUUID().slice(0, 8)}`;
    payers.push(userId);
    return userId;
  };
  const fund = async (userId: string, amount: string) =>
    expect((await request(`${running.url}/api/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount, currency: 'USD' } })).status).toBe(201);
  const payment = (userId: string, amountMinor: string, overrides: Partial<PaymentPayload> = {}): PaymentPayload => ({
    orderId: `ORD-${randomUUID().slice(0, 8)}`,
    userId,
    merchantId: 'MERCHANT-001',
    amountMinor,
    currency: 'USD',
    acceptedAt: new Date().toISOString(),
    ...overrides,
  });
  const walletOf = async (userId: string) => (await ledger.walletsOf(userId)).find((w) => w.currency === 'USD');

  it("debits one payer's payments in their order within one group: the ones the wallet covers complete", async () => {
    const user = payer();
    await fund(user, '10.00');
    const amounts = ['400', '500', '300', '100'];
    const results = await Promise.all(amounts.map((amount) => ledger.postPayment(randomUUID(), payment(user, amount))));
    expect(results.map((r) => `${r.record.status}:${r.record.reason ?? ''}`)).toEqual([
      'COMPLETED:',
      'COMPLETED:',
      'DECLINED:INSUFFICIENT_FUNDS',
      'COMPLETED:',
    ]);
    expect(results.every((r) => r.decidedNow)).toBe(true);
    const wallet = await walletOf(user);
    expect(BigInt(wallet!.creditsPosted) - BigInt(wallet!.debitsPosted)).toBe(0n);
  });

  it('declines a second payment of an order completed in an earlier group', async () => {
    const user = payer();
    await fund(user, '10.00');
    const first = payment(user, '100');
    const earlier = await ledger.postPayment(randomUUID(), first);
    expect(earlier.record.status).toBe('COMPLETED');
    const again = await ledger.postPayment(randomUUID(), { ...first, acceptedAt: new Date().toISOString() });
    expect(again.record).toMatchObject({ status: 'DECLINED', reason: 'DUPLICATE_ORDER' });
    expect(BigInt((await walletOf(user))!.debitsPosted)).toBe(100n);
  });

  it('completes one of two payments of one order posted in the same group and declines the other', async () => {
    const user = payer();
    await fund(user, '10.00');
    const order = payment(user, '100');
    // One event-loop turn: both go into one group (one transaction).
    const [a, b] = await Promise.all([ledger.postPayment(randomUUID(), order), ledger.postPayment(randomUUID(), { ...order, acceptedAt: new Date().toISOString() })]);
    expect([a.record, b.record].map((r) => `${r.status}:${r.reason ?? ''}`)).toEqual(['COMPLETED:', 'DECLINED:DUPLICATE_ORDER']);
    expect(BigInt((await walletOf(user))!.debitsPosted)).toBe(100n);
  });

  it('answers a redelivered payment with the outcome that stands and moves no money again', async () => {
    const user = payer();
    await fund(user, '1.00');
    const paymentId = randomUUID();
    const p = payment(user, '100');
    const [a, b] = await Promise.all([ledger.postPayment(paymentId, p), ledger.postPayment(paymentId, p)]);
    expect([a.decidedNow, b.decidedNow].sort()).toEqual([false, true]);
    expect(a.record.status).toBe('COMPLETED');
    expect(b.record.status).toBe('COMPLETED');
    const again = await ledger.postPayment(paymentId, p);
    expect(again).toMatchObject({ decidedNow: false, record: { status: 'COMPLETED' } });
    const transfers: { n: string }[] = await db.query(`SELECT count(*) AS n FROM ledger_transfers WHERE payment_id = $1`, [paymentId]);
    expect(transfers[0].n).toBe('1');
  });

  it('fails only the bad posting of a group: its neighbours are posted one by one', async () => {
    const user = payer();
    await fund(user, '10.00');
    const good = [randomUUID(), randomUUID(), randomUUID()];
    const badId = randomUUID();
    const settled = await Promise.allSettled([
      ledger.postPayment(good[0], payment(user, '100')),
      // An order id longer than the column: PostgreSQL refuses the row, and with it the group's transaction.
      ledger.postPayment(badId, payment(user, '100', { orderId: 'X'.repeat(80) })),
      ledger.postPayment(good[1], payment(user, '100')),
      ledger.postPayment(good[2], payment(user, '100')),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const rows: { id: string; status: string }[] = await db.query(`SELECT id, status FROM payments WHERE id = ANY($1::uuid[])`, [[...good, badId]]);
    expect(rows.map((r) => r.status).sort()).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const wallet = await walletOf(user);
    expect(BigInt(wallet!.creditsPosted) - BigInt(wallet!.debitsPosted)).toBe(700n);
    // This suite's payers only: the database is shared with the other suites.
    expect(await checkLedgerInvariants(db.manager, { userIds: payers })).toEqual([]);
  });
});
