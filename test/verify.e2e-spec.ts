import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { REDIS } from '../src/redis/redis.module.js';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { DeploymentNotFound, DeploymentVerifier } from '../src/verify/deployment-verifier.js';
import { request } from './support/http.js';
import { createOwnDatabase } from './support/own-database.js';
import { startTestApp, type RunningApp } from './support/test-app.js';
import { TEST_RUN_ID, testConfig } from './support/test-config.js';

describe('npm run verify (real servers)', () => {
  let running: RunningApp;
  let dataSource: DataSource;
  let verifier: DeploymentVerifier;
  let payer: string;
  let database: { name: string; drop(): Promise<void> };
  const paymentIds: string[] = [];

  beforeAll(async () => {
    // Its own database, since it corrupts the ledger on purpose, and its own topics (removed with the
    // run's), so only this suite's payments are on its payments.initiated.
    database = await createOwnDatabase('verify');
    running = await startTestApp({ DB_NAME: database.name, KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.verify.` });
    dataSource = running.app.get(DataSource);
    verifier = new DeploymentVerifier(running.config, dataSource, running.app.get<Redis>(REDIS));
    payer = `VERIFY-${randomUUID().slice(0, 8)}`;
    await request(`${running.url}/api/accounts/${payer}/deposits`, { body: { depositId: randomUUID(), amount: '100', currency: 'USD' } });
    for (let i = 0; i < 5; i++) {
      const accepted = await request(`${running.url}/api/payments`, { body: { orderId: `VERIFY-${randomUUID()}`, amount: '2.00', currency: 'USD', userId: payer } });
      paymentIds.push(accepted.body.paymentId);
    }
    // Both tests need the five settled (the second corrupts their rows): wait here, not in the first.
    for (const deadline = Date.now() + 30_000; ; ) {
      const [{ n }]: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM payments WHERE id = ANY($1) AND status = 'COMPLETED'`, [paymentIds]);
      if (n === '5') break;
      if (Date.now() > deadline) throw new Error(`only ${n} of 5 payments completed within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  afterAll(async () => {
    await running?.close();
    await database?.drop();
  });

  it('should find no violation once the accepted payments settled', async () => {
    const report = await verifier.verify();
    expect(report).toMatchObject({ acceptedPayments: 5, terminalPayments: 5, violations: [] });
  });

  it('should say which deployment it could not find, rather than fail on a missing topic', async () => {
    const nowhere = testConfig({ DB_NAME: database.name, KAFKA_TOPIC_PREFIX: `test.${TEST_RUN_ID}.never-started.` });
    const check = new DeploymentVerifier(nowhere, dataSource, running.app.get<Redis>(REDIS)).verify();
    await expect(check).rejects.toThrow(DeploymentNotFound);
    await expect(check).rejects.toThrow(`has no topic test.${TEST_RUN_ID}.never-started.payments.initiated`);
  });

  it('should catch a deliberately corrupted balance and a lost terminal state', async () => {
    const wallet = `wallet:${payer}:USD`;
    const [lost] = await dataSource.query(`SELECT * FROM payments WHERE id = $1`, [paymentIds[0]]);
    await dataSource.query(`UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1`, [wallet]);
    await dataSource.query(`DELETE FROM ledger_transfers WHERE payment_id = $1`, [paymentIds[0]]);
    await dataSource.query(`DELETE FROM payments WHERE id = $1`, [paymentIds[0]]);
    try {
      const report = await verifier.verify();
      const broken = report.violations.map((v) => v.invariant);
      expect(broken).toContain('every accepted payment has exactly one terminal state');
      expect(broken).toContain("each account's posted totals equal the sum of its transfers");
      expect(broken).toContain('Redis agrees with PostgreSQL on finished payments');
      expect(report.violations.find((v) => v.invariant.startsWith('every accepted'))?.detail).toEqual({ paymentId: paymentIds[0] });
      // The check scoped to some payers (what suites sharing a database use) sees this payer's broken
      // wallet, and nothing when asked about another payer.
      const scoped = await checkLedgerInvariants(dataSource.manager, { userIds: [payer] });
      expect(scoped.map((v) => v.invariant)).toContain("each account's posted totals equal the sum of its transfers");
      expect(await checkLedgerInvariants(dataSource.manager, { userIds: ['NOBODY'] })).toEqual([]);
    } finally {
      // Put the ledger back as it was: the verifier must then find it sound again.
      await dataSource.query(`UPDATE ledger_accounts SET credits_posted = credits_posted - 1 WHERE id = $1`, [wallet]);
      await dataSource.query(
        `INSERT INTO payments (id, merchant_id, order_id, user_id, amount_minor, currency, status, stage, reason, risk_score, accepted_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [lost.id, lost.merchant_id, lost.order_id, lost.user_id, lost.amount_minor, lost.currency, lost.status, lost.stage, lost.reason, lost.risk_score, lost.accepted_at, lost.created_at, lost.updated_at],
      );
      await dataSource.query(
        `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, code, payment_id)
         VALUES ($1, $2, 'merchant:MERCHANT-001:USD', $3, 'USD', 'PAYMENT', $1)`,
        [lost.id, wallet, lost.amount_minor],
      );
    }
    expect((await verifier.verify()).violations).toEqual([]);
  });
});
