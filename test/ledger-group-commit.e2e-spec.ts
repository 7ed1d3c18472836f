import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DepositsService } from '../src/ledger/deposits.service.js';
import { LedgerTransaction } from '../src/ledger/ledger.repository.js';
import { PaymentRecords } from '../src/pipeline/payment-records.repository.js';
import { RefundRecords } from '../src/pipeline/refund-records.repository.js';
import { LedgerService } from '../src/ledger/ledger.service.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import type { PaymentPayload } from '../src/pipeline/payment-events.js';
import { request } from './support/http.js';
import { createOwnDatabase } from './support/own-database.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

/**
 * The ledger posts a stage batch's payments in one transaction (group commit). These run against real
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
  /** Posts the payments as one group, as the ledger stage posts a batch; a settled result each. */
  const postGroup = (...postings: [string, PaymentPayload][]) => ledger.postAll(postings.map(([paymentId, p]) => ({ paymentId, payment: p, riskScore: null })));
  /** The same, for postings expected to succeed: each one's result. */
  const posted = async (...postings: [string, PaymentPayload][]) =>
    (await postGroup(...postings)).map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
  const postOne = async (paymentId: string, p: PaymentPayload) => (await posted([paymentId, p]))[0];
  const walletOf = async (userId: string) => (await ledger.walletsOf(userId)).find((w) => w.currency === 'USD');

  it("debits one payer's payments in their order within one group: the ones the wallet covers complete", async () => {
    const user = payer();
    await fund(user, '10.00');
    const amounts = ['400', '500', '300', '100'];
    const results = await posted(...amounts.map((amount): [string, PaymentPayload] => [randomUUID(), payment(user, amount)]));
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

  it("keeps every wallet at or above zero whatever the code does: PostgreSQL's CHECK refuses an overdraft", async () => {
    const user = payer();
    await fund(user, '1.00');
    const wallet = `wallet:${user}:USD`;
    const runner = db.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      // What a bug that skipped the ledger's guard would write: one minor unit more out than in.
      await expect(runner.query(`UPDATE ledger_accounts SET debits_posted = credits_posted + 1 WHERE id = $1`, [wallet])).rejects.toMatchObject({ code: '23514' });
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    const after = await walletOf(user);
    expect([after!.debitsPosted, after!.creditsPosted]).toEqual(['0', '100']);
    // A payment that would overdraw is declined by the ledger before the database has to refuse it.
    const declined = await postOne(randomUUID(), payment(user, '101'));
    expect(declined.record).toMatchObject({ status: 'DECLINED', reason: 'INSUFFICIENT_FUNDS' });
  });

  it('declines a second payment of an order completed in an earlier group', async () => {
    const user = payer();
    await fund(user, '10.00');
    const first = payment(user, '100');
    const earlier = await postOne(randomUUID(), first);
    expect(earlier.record.status).toBe('COMPLETED');
    const again = await postOne(randomUUID(), { ...first, acceptedAt: new Date().toISOString() });
    expect(again.record).toMatchObject({ status: 'DECLINED', reason: 'DUPLICATE_ORDER' });
    expect(BigInt((await walletOf(user))!.debitsPosted)).toBe(100n);
  });

  it('completes one of two payments of one order posted in the same group and declines the other', async () => {
    const user = payer();
    await fund(user, '10.00');
    const order = payment(user, '100');
    const [a, b] = await posted([randomUUID(), order], [randomUUID(), { ...order, acceptedAt: new Date().toISOString() }]);
    expect([a.record, b.record].map((r) => `${r.status}:${r.reason ?? ''}`)).toEqual(['COMPLETED:', 'DECLINED:DUPLICATE_ORDER']);
    expect(BigInt((await walletOf(user))!.debitsPosted)).toBe(100n);
  });

  it('answers a redelivered payment with the outcome that stands and moves no money again', async () => {
    const user = payer();
    await fund(user, '1.00');
    const paymentId = randomUUID();
    const p = payment(user, '100');
    const [a, b] = await posted([paymentId, p], [paymentId, p]);
    expect([a.decidedNow, b.decidedNow].sort()).toEqual([false, true]);
    expect(a.record.status).toBe('COMPLETED');
    expect(b.record.status).toBe('COMPLETED');
    const again = await postOne(paymentId, p);
    expect(again).toMatchObject({ decidedNow: false, record: { status: 'COMPLETED' } });
    const transfers: { n: string }[] = await db.query(`SELECT count(*) AS n FROM ledger_transfers WHERE payment_id = $1`, [paymentId]);
    expect(transfers[0].n).toBe('1');
  });

  it("fails only the bad posting of a group: other payers' postings are posted one by one", async () => {
    const [user, second, third] = [payer(), payer(), payer()];
    for (const u of [user, second, third]) await fund(u, '10.00');
    const good = [randomUUID(), randomUUID(), randomUUID()];
    const badId = randomUUID();
    const settled = await postGroup(
      [good[0], payment(user, '100')],
      // An order id longer than the column: PostgreSQL refuses the row, and with it the group's transaction.
      [badId, payment(user, '100', { orderId: 'X'.repeat(80) })],
      [good[1], payment(second, '100')],
      [good[2], payment(third, '100')],
    );
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const rows: { id: string; status: string }[] = await db.query(`SELECT id, status FROM payments WHERE id = ANY($1::uuid[])`, [[...good, badId]]);
    expect(rows.map((r) => r.status).sort()).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (const u of [user, second, third]) {
      const wallet = await walletOf(u);
      expect(BigInt(wallet!.creditsPosted) - BigInt(wallet!.debitsPosted)).toBe(900n);
    }
    // This suite's payers only: the database is shared with the other suites.
    expect(await checkLedgerInvariants(db.manager, { userIds: payers })).toEqual([]);
  });

  it("posts a stage batch as one group in its order; after a payer's posting fails, that payer's later ones wait and others go on", async () => {
    const [user, other] = [payer(), payer()];
    await fund(user, '10.00');
    await fund(other, '10.00');
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const results = await ledger.postAll([
      { paymentId: ids[0], payment: payment(user, '100'), riskScore: 10 },
      // Refused by PostgreSQL (longer than the column): the group falls back to one by one.
      { paymentId: ids[1], payment: payment(user, '100', { orderId: 'X'.repeat(80) }), riskScore: 10 },
      { paymentId: ids[2], payment: payment(user, '100'), riskScore: 10 },
      { paymentId: ids[3], payment: payment(other, '100'), riskScore: 10 },
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringContaining('Held back') });
    const rows: { id: string; risk_score: number }[] = await db.query(`SELECT id, risk_score FROM payments WHERE id = ANY($1::uuid[]) ORDER BY id`, [ids]);
    expect(rows.map((r) => r.id).sort()).toEqual([ids[0], ids[3]].sort());
    expect(rows.every((r) => r.risk_score === 10)).toBe(true);
    // Nothing of the held-back payment moved: it is posted when the stage retries it, after the one before it.
    expect(BigInt((await walletOf(user))!.debitsPosted)).toBe(100n);
  });
});

describe('first deposits of a currency, concurrently (a database of its own)', () => {
  let running: RunningApp;
  let database: { name: string; drop(): Promise<void> };

  beforeAll(async () => {
    // A new database: no funding account exists yet, so every first deposit races to create it.
    database = await createOwnDatabase('deposits');
    running = await startTestApp({ DB_NAME: database.name, DB_POOL_SIZE: '20' }, { consumers: false });
  });
  afterAll(async () => {
    await running?.close();
    await database?.drop();
  });

  it('should create an account once when ten connections insert it at the same moment, round after round', async () => {
    // Both inserts pass ON CONFLICT's first look, then meet in the second unique index (kind, owner,
    // currency): with a conflict target of (id) alone that was a unique violation, about 4% of rounds
    // here, and a 500 for one of two first deposits of a new currency.
    const db = running.app.get(DataSource);
    const runners = await Promise.all(Array.from({ length: 10 }, async () => {
      const runner = db.createQueryRunner();
      await runner.connect();
      return runner;
    }));
    try {
      const failures: string[] = [];
      for (let round = 0; round < 300; round++) {
        const owner = `RACE-${round}-${randomUUID().slice(0, 8)}`;
        const settled = await Promise.allSettled(runners.map((runner) => new LedgerTransaction(runner.manager, running.app.get(PaymentRecords), running.app.get(RefundRecords)).ensureAccount('funding', owner, 'USD')));
        failures.push(...settled.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : [])));
      }
      expect(failures).toEqual([]);
      const [{ n }]: { n: string }[] = await db.query(`SELECT COUNT(*)::text AS n FROM ledger_accounts WHERE owner_id LIKE 'RACE-%'`);
      expect(n).toBe('300');
    } finally {
      await Promise.all(runners.map((runner) => runner.release()));
    }
  });

  it('should fund new wallets in every currency at once: each deposit created once, each funding account once', async () => {
    const currencies = ['USD', 'EUR', 'GBP', 'CNY', 'JPY', 'KRW', 'BHD'] as const;
    const deposits = currencies.flatMap((currency) => Array.from({ length: 30 }, (_, i) => ({ userId: `FIRST-${currency}-${i}-${randomUUID().slice(0, 8)}`, currency })));
    const service = running.app.get(DepositsService);
    const settled = await Promise.allSettled(deposits.map(({ userId, currency }) => service.deposit(userId, randomUUID(), 500n, currency)));
    expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    expect(settled.every((r) => r.status === 'fulfilled' && r.value.created)).toBe(true);
    const db = running.app.get(DataSource);
    const funding: { id: string }[] = await db.query(`SELECT id FROM ledger_accounts WHERE kind = 'funding' AND owner_id = 'FUNDING'`);
    expect(funding).toHaveLength(currencies.length);
    expect(await checkLedgerInvariants(db.manager)).toEqual([]);
  });
});
