import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { hashApiKey, mintApiKey } from '../src/auth/api-keys.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { RefundsService } from '../src/ledger/refunds.service.js';
import { REDIS } from '../src/redis/redis.module.js';
import { request } from './support/http.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { until } from './support/until.js';

/*
 * Refunds through the real pipeline: the intake's 202 after Kafka holds refund.requested, the ledger's
 * refunds consumer posting a new REFUND transfer, and the balances and constraints in PostgreSQL.
 * Merchants of their own, so that other suites' balances are untouched.
 */
const RUN = randomUUID().slice(0, 8);
const MERCHANT = `RFD-${RUN}`;
const OTHER = `RFD-OTHER-${RUN}`;
const merchantKey = mintApiKey();
const otherKey = mintApiKey();
const adminKey = mintApiKey();

describe('refunds (real Kafka, Redis and PostgreSQL)', () => {
  let running: RunningApp;
  let dataSource: DataSource;

  const call = (path: string, init: { body?: unknown; key?: string; idempotencyKey?: string; method?: string } = {}) =>
    request(`${running.url}${path}`, {
      ...(init.method && { method: init.method }),
      ...(init.body !== undefined && { body: init.body }),
      headers: { authorization: `Bearer ${init.key ?? merchantKey}`, ...(init.idempotencyKey && { 'idempotency-key': init.idempotencyKey }) },
    });
  const balanceMinor = async (accountId: string): Promise<bigint> => {
    const rows: { balance: string }[] = await dataSource.query(`SELECT (credits_posted - debits_posted)::text AS balance FROM ledger_accounts WHERE id = $1`, [accountId]);
    return BigInt(rows[0]?.balance ?? 0);
  };
  const walletOf = (userId: string) => `wallet:${userId}:USD`;
  const merchantAccount = `merchant:${MERCHANT}:USD`;

  const refundEnded = (refundId: string) => until(async () => (await call(`/api/refunds/${refundId}`)).body, (r) => r.status !== undefined && r.status !== 'PENDING', `refund ${refundId}`);

  /** A COMPLETED payment of `amount` USD from a funded payer of its own to MERCHANT. */
  async function completedPayment(amount: string): Promise<{ paymentId: string; userId: string }> {
    const userId = `RFD-PAYER-${randomUUID().slice(0, 8)}`;
    expect((await call(`/api/accounts/${userId}/deposits`, { key: adminKey, body: { depositId: randomUUID(), amount: '1000.00', currency: 'USD' } })).status).toBe(201);
    const accepted = await call('/api/payments', { body: { orderId: `ORD-${randomUUID()}`, amount, currency: 'USD', userId } });
    expect(accepted.status).toBe(202);
    const paymentId: string = accepted.body.paymentId;
    const done = await until(async () => (await call(`/api/payments/${paymentId}`)).body, (p) => ['COMPLETED', 'DECLINED', 'REJECTED', 'FAILED'].includes(p.status), `payment ${paymentId}`);
    expect(done.status).toBe('COMPLETED');
    return { paymentId, userId };
  }

  beforeAll(async () => {
    running = await startTestApp({
      API_KEYS: `${MERCHANT}:${hashApiKey(merchantKey)},${OTHER}:${hashApiKey(otherKey)}`,
      ADMIN_API_KEYS: hashApiKey(adminKey),
      RATE_LIMIT_ENABLED: 'false',
    });
    dataSource = running.app.get(DataSource);
    await dataSource.query(`INSERT INTO merchants (id, name) VALUES ($1, 'refunds suite'), ($2, 'refunds suite, other') ON CONFLICT DO NOTHING`, [MERCHANT, OTHER]);
  });

  afterAll(async () => {
    await running?.close();
  });

  it('refunds 30.00 of a 99.99 payment, then the rest by default: the money goes back exactly once, a third is 422', async () => {
    const { paymentId, userId } = await completedPayment('99.99');
    const [walletBefore, merchantBefore] = [await balanceMinor(walletOf(userId)), await balanceMinor(merchantAccount)];

    const first = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '30.00', reason: 'requested_by_customer' } });
    expect(first.status).toBe(202);
    expect(first.headers.get('location')).toBe(`/api/refunds/${first.body.refundId}`);
    expect(first.body).toMatchObject({ paymentId, amount: '30.00', currency: 'USD', status: 'PENDING', reason: 'requested_by_customer' });
    expect(await refundEnded(first.body.refundId)).toMatchObject({ status: 'SUCCEEDED', amount: '30.00' });
    const partly = await until(async () => (await call(`/api/payments/${paymentId}`)).body, (p) => p.amountRefunded === '30.00', 'the view of a partly refunded payment');
    expect(partly).toMatchObject({ status: 'COMPLETED', refundStatus: 'partially_refunded' });

    const rest = await call(`/api/payments/${paymentId}/refunds`, { body: {} });
    expect(rest.status).toBe(202);
    expect(rest.body.amount).toBe('69.99');
    expect(await refundEnded(rest.body.refundId)).toMatchObject({ status: 'SUCCEEDED' });
    const whole = await until(async () => (await call(`/api/payments/${paymentId}`)).body, (p) => p.amountRefunded === '99.99', 'the view of a refunded payment');
    expect(whole).toMatchObject({ status: 'COMPLETED', refundStatus: 'refunded' });

    const third = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '0.01' } });
    expect(third.status).toBe(422);
    expect(third.body.error).toMatchObject({ code: 'refund_exceeds_payment', param: 'amount' });

    expect((await balanceMinor(walletOf(userId))) - walletBefore).toBe(9999n);
    expect(merchantBefore - (await balanceMinor(merchantAccount))).toBe(9999n);
    const listed = await call(`/api/payments/${paymentId}/refunds`);
    expect(listed.body.map((r: { refundId: string }) => r.refundId)).toEqual([rest.body.refundId, first.body.refundId]);
    const [{ refunded }]: { refunded: string }[] = await dataSource.query(`SELECT amount_refunded_minor::text AS refunded FROM payments WHERE id = $1`, [paymentId]);
    expect(refunded).toBe('9999');
    const transfers: { n: string }[] = await dataSource.query(`SELECT count(*)::text AS n FROM ledger_transfers WHERE code = 'REFUND' AND refund_id = ANY($1::uuid[])`, [[first.body.refundId, rest.body.refundId]]);
    expect(transfers[0].n).toBe('2');

    // The payment's Redis stream shows each refund's steps after COMPLETED (history only: its status stays).
    const history = await until(async () => (await call(`/api/payments/${paymentId}/events`)).body, (h) => h.filter((e: { status: string }) => e.status === 'REFUNDED').length === 2, 'both REFUNDED steps in the history');
    expect(history.map((e: { status: string; stage: string; detail?: { refundId?: string; amount?: string; source?: string } }) => [e.status, e.stage, e.detail?.refundId, e.detail?.amount, e.detail?.source])).toEqual([
      ['PENDING', 'intake', undefined, undefined, undefined],
      ['VALIDATED', 'validation', undefined, undefined, undefined],
      ['APPROVED', 'fraud', undefined, undefined, undefined],
      ['COMPLETED', 'ledger', undefined, undefined, undefined],
      ['REFUND_PENDING', 'intake', first.body.refundId, '30.00', undefined],
      ['REFUNDED', 'refunds', first.body.refundId, '30.00', undefined],
      ['REFUND_PENDING', 'intake', rest.body.refundId, '69.99', undefined],
      ['REFUNDED', 'refunds', rest.body.refundId, '69.99', undefined],
    ]);
    expect((await call(`/api/payments/${paymentId}`)).body).toMatchObject({ status: 'COMPLETED', stage: 'ledger' });
  });

  it('lets 20 concurrent refunds of 10.00 on a 99.99 payment refund at most 99.99, and the ledger agrees', async () => {
    const { paymentId, userId } = await completedPayment('99.99');
    const walletBefore = await balanceMinor(walletOf(userId));
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(`/api/payments/${paymentId}/refunds`, { body: { amount: '10.00' } })));
    // The intake refuses what it sees beyond the payment (at most 9 of 10.00 fit in 99.99).
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThanOrEqual(9);
    expect(answers.filter((a) => a.status !== 202).map((a) => [a.status, a.body.error.code])).toEqual(Array(20 - accepted.length).fill([422, 'refund_exceeds_payment']));
    const ended = await Promise.all(answers.filter((a) => a.status === 202).map((a) => refundEnded(a.body.refundId)));
    const refundedMinor = ended.filter((r) => r.status === 'SUCCEEDED').length * 1000;
    expect(refundedMinor).toBeLessThanOrEqual(9999);
    expect((await balanceMinor(walletOf(userId))) - walletBefore).toBe(BigInt(refundedMinor));
    expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
  });

  it('makes one refund of one Idempotency-Key, and refuses the key with another amount (422)', async () => {
    const { paymentId } = await completedPayment('50.00');
    const key = `refund-${randomUUID()}`;
    const first = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '5.00' }, idempotencyKey: key });
    const again = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '5.00' }, idempotencyKey: key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.refundId).toBe(first.body.refundId);
    const other = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '6.00' }, idempotencyKey: key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');
    await refundEnded(first.body.refundId);

    // Redis forgets the key and the payment's reservations (a flush, a failover): PostgreSQL still knows
    // the refund the key named, so the retry is its replay, and the key with another amount still 422.
    const redis = running.app.get<Redis>(REDIS);
    expect(await redis.del(`idempotency:${MERCHANT}:refund:${paymentId}:${key}`, `refunds-pending:${paymentId}`, `refund:${first.body.refundId}`)).toBeGreaterThanOrEqual(1);
    const recalled = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '5.00' }, idempotencyKey: key });
    expect(recalled).toMatchObject({ status: 202, body: { refundId: first.body.refundId, status: 'SUCCEEDED', amount: '5.00' } });
    expect(recalled.headers.get('idempotent-replayed')).toBe('true');
    await redis.del(`idempotency:${MERCHANT}:refund:${paymentId}:${key}`);
    expect((await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '6.00' }, idempotencyKey: key })).body.error?.code).toBe('idempotency_key_reused');

    const rows: { n: string }[] = await dataSource.query(`SELECT count(*)::text AS n FROM refunds WHERE payment_id = $1`, [paymentId]);
    expect(rows[0].n).toBe('1');
    const [{ refunded }]: { refunded: string }[] = await dataSource.query(`SELECT amount_refunded_minor::text AS refunded FROM payments WHERE id = $1`, [paymentId]);
    expect(refunded).toBe('500');
  });

  it("answers 404 for another merchant's payment and 409 for a payment that did not complete, and moves nothing", async () => {
    const { paymentId } = await completedPayment('20.00');
    const foreign = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '1.00' }, key: otherKey });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('payment_not_found');
    const poor = `RFD-POOR-${randomUUID().slice(0, 8)}`;
    const declined = await call('/api/payments', { body: { orderId: `ORD-${randomUUID()}`, amount: '5.00', currency: 'USD', userId: poor } });
    const ended = await until(async () => (await call(`/api/payments/${declined.body.paymentId}`)).body, (p) => p.status === 'DECLINED', 'a declined payment');
    const refused = await call(`/api/payments/${ended.paymentId}/refunds`, { body: {} });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('payment_not_refundable');
    const bad = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '1.001' } });
    expect(bad.status).toBe(400);
    expect((await call(`/api/payments/${paymentId}/refunds`)).body).toEqual([]);
  });

  it('declines what slipped past the intake (REFUND_EXCEEDS_PAYMENT), and the database refuses an over-refund whatever the code does', async () => {
    const { paymentId, userId } = await completedPayment('100.00');
    const ledger = running.app.get(RefundsService);
    const refund = (amountMinor: string) => ({ refundId: randomUUID(), paymentId, merchantId: MERCHANT, userId, amountMinor, currency: 'USD' as const, requestedAt: new Date().toISOString() });
    const [a, b] = await Promise.all([ledger.post(refund('6000')), ledger.post(refund('6000'))]);
    expect([a.record.status, b.record.status].sort()).toEqual(['DECLINED', 'SUCCEEDED']);
    expect([a, b].find((r) => r.record.status === 'DECLINED')?.record.outcomeReason).toBe('REFUND_EXCEEDS_PAYMENT');
    // The same refund again (a redelivery) decides nothing new.
    expect((await ledger.post({ ...refund('6000'), refundId: a.record.id })).decidedNow).toBe(false);
    await expect(dataSource.query(`UPDATE payments SET amount_refunded_minor = amount_minor + 1 WHERE id = $1`, [paymentId])).rejects.toThrow(/payments_refunded_within_amount/);
    expect(await checkLedgerInvariants(dataSource.manager, { userIds: [userId] })).toEqual([]);
  });

  it('declines a refund the merchant cannot cover (MERCHANT_INSUFFICIENT_FUNDS), and nothing moves', async () => {
    const { paymentId, userId } = await completedPayment('40.00');
    // A payout the API does not have yet: the merchant's money leaves through a balanced transfer.
    const held = await balanceMinor(merchantAccount);
    await dataSource.transaction(async (tx) => {
      await tx.query(`INSERT INTO ledger_accounts (id, kind, owner_id, currency, debits_must_not_exceed_credits) VALUES ('funding:FUNDING:USD', 'funding', 'FUNDING', 'USD', false) ON CONFLICT DO NOTHING`);
      await tx.query(`UPDATE ledger_accounts SET debits_posted = debits_posted + $2 WHERE id = $1`, [merchantAccount, held.toString()]);
      await tx.query(`UPDATE ledger_accounts SET credits_posted = credits_posted + $1 WHERE id = 'funding:FUNDING:USD'`, [held.toString()]);
      await tx.query(
        `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, code, deposit_id) VALUES ($1, $2, 'funding:FUNDING:USD', $3, 'USD', 'DEPOSIT', $4)`,
        [randomUUID(), merchantAccount, held.toString(), `PAYOUT-${RUN}-${randomUUID().slice(0, 8)}`],
      );
    });
    const walletBefore = await balanceMinor(walletOf(userId));
    const refund = await call(`/api/payments/${paymentId}/refunds`, { body: { amount: '40.00' } });
    expect(refund.status).toBe(202);
    expect(await refundEnded(refund.body.refundId)).toMatchObject({ status: 'DECLINED', outcomeReason: 'MERCHANT_INSUFFICIENT_FUNDS' });
    const history = await until(async () => (await call(`/api/payments/${paymentId}/events`)).body, (h) => h.some((e: { status: string }) => e.status === 'REFUND_DECLINED'), 'the REFUND_DECLINED step');
    expect(history.slice(-2)).toMatchObject([
      { status: 'REFUND_PENDING', stage: 'intake', detail: { refundId: refund.body.refundId } },
      { status: 'REFUND_DECLINED', stage: 'refunds', reason: 'MERCHANT_INSUFFICIENT_FUNDS', detail: { refundId: refund.body.refundId, amount: '40.00' } },
    ]);
    expect(await balanceMinor(walletOf(userId))).toBe(walletBefore);
    expect(await balanceMinor(merchantAccount)).toBe(0n);
    expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
  });
});
