import { Inject, Injectable } from '@nestjs/common';
import { FRAUD_SETTINGS, type FraudRules } from './fraud-rules.js';
import type { PaymentPayload, RiskAssessment } from '../pipeline/payment-events.js';
import { VelocityStore, type VelocityWindow } from './velocity.store.js';

/** Rules in the order they are reported; the first that fires names the rejection. */
export const FRAUD_RULES = {
  FRAUD_BLOCKLISTED: 100,
  FRAUD_AMOUNT_THRESHOLD: 80,
  FRAUD_NEW_USER_LIMIT: 70,
  FRAUD_VELOCITY_AMOUNT: 60,
  FRAUD_VELOCITY_COUNT: 60,
} as const satisfies Record<string, number>;
export type FraudRule = keyof typeof FRAUD_RULES;

export interface FraudDecision extends RiskAssessment {
  approved: boolean;
  reason?: FraudRule;
}

/**
 * Scores a payment against rules read from configuration (no code change to tune them). Any rule that
 * fires rejects the payment; the score (0-100) is the heaviest fired rule, or for a clean payment how
 * close it came to its single-payment threshold, scaled to at most 50.
 */
@Injectable()
export class FraudService {
  constructor(
    @Inject(FRAUD_SETTINGS) private readonly rules: FraudRules,
    private readonly velocity: VelocityStore,
  ) {}

  /** One payment, as a batch of one. */
  async assess(paymentId: string, payment: PaymentPayload, now = Date.now()): Promise<FraudDecision> {
    return (await this.assessAll([{ paymentId, payment }], now))[0];
  }

  /** A batch in offset order: one velocity call for all, then each payment's rules against its window. */
  async assessAll(items: { paymentId: string; payment: PaymentPayload }[], now = Date.now()): Promise<FraudDecision[]> {
    const entries = items.map(({ paymentId, payment }) => ({ userId: payment.userId, currency: payment.currency, paymentId, amountMinor: payment.amountMinor }));
    const windows = await this.velocity.recordAll(entries, this.rules.velocityWindowSeconds, now);
    return items.map(({ payment }, i) => this.decide(payment, windows[i], now));
  }

  private decide(payment: PaymentPayload, window: VelocityWindow, now: number): FraudDecision {
    const { rules } = this;
    const amount = BigInt(payment.amountMinor);
    const fired: FraudRule[] = [];
    if (rules.blocklist.has(payment.userId)) fired.push('FRAUD_BLOCKLISTED');
    const threshold = rules.amountThresholds[payment.currency];
    if (threshold !== undefined && amount > threshold) fired.push('FRAUD_AMOUNT_THRESHOLD');
    const newUserLimit = rules.newUserLimits[payment.currency];
    const isNew = rules.newUserHours > 0 && now - window.firstSeenAt < rules.newUserHours * 3600_000;
    if (isNew && newUserLimit !== undefined && amount > newUserLimit) fired.push('FRAUD_NEW_USER_LIMIT');
    const maxAmount = rules.velocityMaxAmount[payment.currency];
    if (maxAmount !== undefined && window.amountMinor > maxAmount) fired.push('FRAUD_VELOCITY_AMOUNT');
    if (rules.velocityMaxCount > 0 && window.count > rules.velocityMaxCount) fired.push('FRAUD_VELOCITY_COUNT');

    const score = fired.length > 0 ? Math.max(...fired.map((rule) => FRAUD_RULES[rule])) : cleanScore(amount, threshold);
    return fired.length > 0 ? { approved: false, reason: fired[0], score, rules: fired } : { approved: true, score, rules: [] };
  }
}

function cleanScore(amount: bigint, threshold: bigint | undefined): number {
  if (!threshold || threshold === 0n) return 0;
  return Number((amount * 50n) / threshold);
}
