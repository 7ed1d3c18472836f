import { describe, expect, it } from '@jest/globals';
import { AppConfig } from '../config/app-config.js';
import type { PaymentPayload } from '../pipeline/payment-events.js';
import type { MerchantsRepository } from './merchants.repository.js';
import { ValidationService } from './validation.service.js';

const config = AppConfig.fromEnvironment({ ENABLED_CURRENCIES: 'USD,JPY', PAYMENT_LIMITS: 'USD:1-100', BLOCKED_PAYERS: 'BAD-1' });
const merchants = { knownAmong: async (ids: ReadonlySet<string>) => new Set([...ids].filter((id) => id === 'MERCHANT-001')) } as unknown as MerchantsRepository;
const service = new ValidationService(config.validation, merchants);

const payment = (overrides: Partial<PaymentPayload> = {}): PaymentPayload => ({
  orderId: 'O-1',
  userId: 'USER-1',
  merchantId: 'MERCHANT-001',
  amountMinor: '5000',
  currency: 'USD',
  acceptedAt: new Date().toISOString(),
  ...overrides,
});

describe('ValidationService', () => {
  it('should pass a payment within every rule', async () => {
    expect(await service.validate(payment())).toEqual({ valid: true });
  });

  it.each([
    ['a currency that is not enabled', { currency: 'EUR' as const }, 'CURRENCY_NOT_ENABLED'],
    ['an amount under the currency minimum', { amountMinor: '99' }, 'AMOUNT_BELOW_MINIMUM'],
    ['an amount over the currency maximum', { amountMinor: '10001' }, 'AMOUNT_ABOVE_MAXIMUM'],
    ['a blocked payer', { userId: 'BAD-1' }, 'PAYER_BLOCKED'],
    ['an unknown merchant', { merchantId: 'MERCHANT-404' }, 'MERCHANT_UNKNOWN'],
  ])('should reject %s', async (_name, overrides, reason) => {
    expect(await service.validate(payment(overrides))).toEqual({ valid: false, reason });
  });

  it('should apply no limits to a currency that has none configured', async () => {
    expect(await service.validate(payment({ currency: 'JPY', amountMinor: '99999999' }))).toEqual({ valid: true });
  });
});
