import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { checkLedgerInvariants } from '../src/ledger/ledger-invariants.js';
import { request } from './support/http.js';
import { postgres, postgresCluster } from './support/services.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

const describeWithLocalPostgres = postgresCluster ? describe : describe.skip;

describeWithLocalPostgres('pipeline through a PostgreSQL outage (real servers)', () => {
  let running: RunningApp;

  beforeAll(async () => {
    // Default retry budget (10 attempts, backoff up to 5 s: about 25 s) outlasts a 10 s outage.
    running = await startTestApp();
  });

  afterAll(async () => {
    try {
      postgres('start');
    } finally {
      await running?.close();
    }
  });

  it('should lose and double nothing when PostgreSQL stops for 10 s mid-run', async () => {
    const api = `${running.url}/api`;
    const users = Array.from({ length: 20 }, () => `OUTAGE-${randomUUID().slice(0, 8)}`);
    for (const userId of users) {
      expect((await request(`${api}/accounts/${userId}/deposits`, { body: { depositId: randomUUID(), amount: '1000', currency: 'USD' } })).status).toBe(201);
    }

    const accepted: string[] = [];
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const body = { orderId: `OUTAGE-${randomUUID()}`, userId: users[i % users.length], amount: '1.25', currency: 'USD' };
        const response = await request(`${api}/payments`, { body });
        expect(response.status).toBe(202); // the intake needs Kafka and Redis, not PostgreSQL
        accepted.push(response.body.paymentId);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await send(50);
    postgres('stop');
    const outageStarted = Date.now();
    await send(150);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 10_000 - (Date.now() - outageStarted))));
    postgres('start');
    await send(50);

    const dataSource = running.app.get(DataSource);
    const deadline = Date.now() + 90_000;
    let outcomes: { status: string; n: string }[] = [];
    for (;;) {
      outcomes = await dataSource
        .query(`SELECT status, COUNT(*)::text AS n FROM payments WHERE id = ANY($1) GROUP BY status`, [accepted])
        .catch(() => outcomes); // the pool may still be reconnecting
      const terminal = outcomes.reduce((sum, o) => sum + Number(o.n), 0);
      if (terminal === accepted.length || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(Object.fromEntries(outcomes.map((o) => [o.status, Number(o.n)]))).toEqual({ COMPLETED: accepted.length });
    const transfers: { n: string }[] = await dataSource.query(`SELECT COUNT(*)::text AS n FROM ledger_transfers WHERE payment_id = ANY($1)`, [accepted]);
    expect(Number(transfers[0].n)).toBe(accepted.length);
    expect(await checkLedgerInvariants(dataSource.manager)).toEqual([]);
  });
});
