import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { FraudService } from '../src/fraud/fraud.service.js';
import type { PaymentPayload } from '../src/pipeline/payment-events.js';
import { startTestApp, type RunningApp } from './support/test-app.js';

/** The fraud stage decides a whole batch with one velocity call against real Redis. */
describe('fraud velocity over a batch (Redis)', () => {
  let running: RunningApp;
  let fraud: FraudService;

  beforeAll(async () => {
    running = await startTestApp({ FRAUD_VELOCITY_MAX_COUNT: '1', FRAUD_NEW_USER_HOURS: '0' }, { consumers: false });
    fraud = running.app.get(FraudService);
  });
  afterAll(() => running?.close());

  const payment = (userId: string): { paymentId: string; payment: PaymentPayload } => ({
    paymentId: randomUUID(),
    payment: { orderId: `VEL-${randomUUID()}`, userId, merchantId: 'MERCHANT-001', amountMinor: '100', currency: 'USD', acceptedAt: new Date().toISOString() },
  });

  it("counts a payer's earlier payments of the same batch, in offset order", async () => {
    const [x, y] = [`VEL-X-${randomUUID().slice(0, 8)}`, `VEL-Y-${randomUUID().slice(0, 8)}`];
    const batch = [payment(x), payment(y), payment(x)];
    const decisions = await fraud.assessAll(batch);
    expect(decisions.map((d) => (d.approved ? 'approved' : d.reason))).toEqual(['approved', 'approved', 'FRAUD_VELOCITY_COUNT']);
  });
});
