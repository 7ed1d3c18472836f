import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import type { PaymentPayload } from '../pipeline/payment-events.js';
import { FraudService } from './fraud.service.js';
import type { VelocityStore, VelocityWindow } from './velocity.store.js';

const HOUR = 3600_000;
const NOW = Date.UTC(2026, 10, 27, 12);

function serviceWith(window: Partial<VelocityWindow>, env: Record<string, string> = {}): FraudService {
  const config = AppConfig.fromEnvironment({
    FRAUD_AMOUNT_THRESHOLDS: 'USD:1000',
    FRAUD_VELOCITY_MAX_COUNT: '3',
    FRAUD_VELOCITY_MAX_AMOUNT: 'USD:2000',
    FRAUD_BLOCKLIST: 'EVIL',
    FRAUD_NEW_USER_HOURS: '24',
    FRAUD_NEW_USER_LIMITS: 'USD:100',
    ...env,
  });
  const velocity = {
    recordAll: async (entries: unknown[]) => entries.map(() => ({ count: 1, amountMinor: 1000n, firstSeenAt: NOW - 48 * HOUR, ...window })),
  } as unknown as VelocityStore;
  return new FraudService(config.fraud, velocity);
}

const payment = (amountMinor: string, userId = 'USER-1'): PaymentPayload => ({
  orderId: 'O-1',
  userId,
  merchantId: 'MERCHANT-001',
  amountMinor,
  currency: 'USD',
  acceptedAt: new Date(NOW).toISOString(),
});

describe('FraudService', () => {
  it('should approve a payment that trips no rule, scoring it by its closeness to the threshold', async () => {
    const decision = await serviceWith({}).assess('p1', payment('50000'), NOW);
    expect(decision).toEqual({ approved: true, score: 25, rules: [] });
  });

  it.each([
    ['a blocklisted payer', serviceWith({}), payment('100', 'EVIL'), 'FRAUD_BLOCKLISTED', 100],
    ['an amount over the single-payment threshold', serviceWith({ amountMinor: 100001n }), payment('100001'), 'FRAUD_AMOUNT_THRESHOLD', 80],
    ['a new payer over the new-user limit', serviceWith({ firstSeenAt: NOW - HOUR }), payment('10001'), 'FRAUD_NEW_USER_LIMIT', 70],
    ['too much spent within the window', serviceWith({ amountMinor: 200001n }), payment('100'), 'FRAUD_VELOCITY_AMOUNT', 60],
    ['too many payments within the window', serviceWith({ count: 4 }), payment('100'), 'FRAUD_VELOCITY_COUNT', 60],
  ])('should reject %s', async (_name, service, input, reason, score) => {
    const decision = await service.assess('p1', input, NOW);
    expect(decision).toMatchObject({ approved: false, reason, score });
    expect(decision.rules).toContain(reason);
  });

  it('should report every rule that fired and name the heaviest first', async () => {
    const decision = await serviceWith({ count: 9, firstSeenAt: NOW }).assess('p1', payment('200000', 'EVIL'), NOW);
    expect(decision.reason).toBe('FRAUD_BLOCKLISTED');
    expect(decision.rules).toEqual(['FRAUD_BLOCKLISTED', 'FRAUD_AMOUNT_THRESHOLD', 'FRAUD_NEW_USER_LIMIT', 'FRAUD_VELOCITY_COUNT']);
  });

  it('should treat an old payer as past the new-user limit', async () => {
    const decision = await serviceWith({ firstSeenAt: NOW - 25 * HOUR }).assess('p1', payment('10001'), NOW);
    expect(decision.approved).toBe(true);
  });

  it('should switch the count rule off at 0', async () => {
    const decision = await serviceWith({ count: 1000 }, { FRAUD_VELOCITY_MAX_COUNT: '0' }).assess('p1', payment('100'), NOW);
    expect(decision.approved).toBe(true);
  });
});
