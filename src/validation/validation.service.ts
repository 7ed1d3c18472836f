import { Inject, Injectable } from '@nestjs/common';
import { VALIDATION_SETTINGS, type ValidationRules } from './validation-rules.js';
import type { PaymentPayload } from '../pipeline/payment-events.js';
import { MerchantsRepository } from './merchants.repository.js';

/** Why the validation stage refuses a payment (the payment ends REJECTED with this reason). */
export const VALIDATION_REASONS = [
  'CURRENCY_NOT_ENABLED',
  'AMOUNT_BELOW_MINIMUM',
  'AMOUNT_ABOVE_MAXIMUM',
  'PAYER_BLOCKED',
  'MERCHANT_UNKNOWN',
] as const;
export type ValidationReason = (typeof VALIDATION_REASONS)[number];

export type ValidationDecision = { valid: true } | { valid: false; reason: ValidationReason };

/** The business checks a payment must pass before fraud screening: currency, limits, payer, merchant. */
@Injectable()
export class ValidationService {
  constructor(
    @Inject(VALIDATION_SETTINGS) private readonly rules: ValidationRules,
    private readonly merchants: MerchantsRepository,
  ) {}

  async validate(payment: PaymentPayload): Promise<ValidationDecision> {
    return (await this.validateAll([payment]))[0];
  }

  /** A batch: the rules per payment, and one merchant lookup for the merchants the batch names. */
  async validateAll(payments: PaymentPayload[]): Promise<ValidationDecision[]> {
    const known = await this.merchants.knownAmong(new Set(payments.map((p) => p.merchantId)));
    return payments.map((payment) => this.check(payment, known));
  }

  private check(payment: PaymentPayload, knownMerchants: ReadonlySet<string>): ValidationDecision {
    const { rules } = this;
    if (!rules.enabledCurrencies.includes(payment.currency)) return { valid: false, reason: 'CURRENCY_NOT_ENABLED' };
    const amount = BigInt(payment.amountMinor);
    const limits = rules.limits[payment.currency];
    if (limits && amount < limits.min) return { valid: false, reason: 'AMOUNT_BELOW_MINIMUM' };
    if (limits && amount > limits.max) return { valid: false, reason: 'AMOUNT_ABOVE_MAXIMUM' };
    if (rules.blockedPayers.has(payment.userId)) return { valid: false, reason: 'PAYER_BLOCKED' };
    if (!knownMerchants.has(payment.merchantId)) return { valid: false, reason: 'MERCHANT_UNKNOWN' };
    return { valid: true };
  }
}
