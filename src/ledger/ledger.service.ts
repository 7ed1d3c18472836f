import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { PaymentPayload } from '../payments/payment-events.js';
import { PaymentLifecycle, type TerminalOutcome } from '../payments/payment-lifecycle.service.js';
import { PaymentRecord } from '../payments/payment-record.entity.js';
import { accountId, LedgerAccount } from './ledger-account.entity.js';
import { credit, debit, ensureAccount } from './ledger-postings.js';
import { LedgerTransfer } from './ledger-transfer.entity.js';

export interface PostingResult {
  /** The payment's terminal record: what this posting decided, or what an earlier delivery did. */
  record: PaymentRecord;
  /** False when the payment had already ended (a redelivery, or the intake abandoned it). */
  decidedNow: boolean;
}

/**
 * The double-entry ledger. Every movement is one transfer that debits one account and credits another
 * in one PostgreSQL transaction, together with the payment's terminal row, so money moves exactly
 * when the payment is recorded COMPLETED. Constraints are the last guard: the payment id is the
 * transfer's primary key, a wallet's CHECK forbids overdraft, and a unique index allows one COMPLETED
 * payment per (merchant, order).
 */
@Injectable()
export class LedgerService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly lifecycle: PaymentLifecycle,
  ) {}

  async postPayment(paymentId: string, payment: PaymentPayload, riskScore: number | null = null): Promise<PostingResult> {
    return this.dataSource.transaction(async (manager) => {
      const existing = await manager.findOneBy(PaymentRecord, { id: paymentId });
      if (existing) return { record: existing, decidedNow: false };
      const outcome = await this.transfer(manager, paymentId, payment);
      const record = await this.lifecycle.recordTerminal(manager, paymentId, payment, { ...outcome, riskScore }, { keepExisting: false });
      return { record, decidedNow: true };
    });
  }

  private async transfer(manager: EntityManager, paymentId: string, payment: PaymentPayload): Promise<TerminalOutcome> {
    const completedForOrder: unknown[] = await manager.query(
      `SELECT 1 FROM payments WHERE merchant_id = $1 AND order_id = $2 AND status = 'COMPLETED' LIMIT 1`,
      [payment.merchantId, payment.orderId],
    );
    if (completedForOrder.length > 0) return { status: 'DECLINED', stage: 'ledger', reason: 'DUPLICATE_ORDER' };

    const payer = accountId('wallet', payment.userId, payment.currency);
    const merchant = accountId('merchant', payment.merchantId, payment.currency);
    const debited = await debit(manager, payer, payment.amountMinor);
    if (!debited) return { status: 'DECLINED', stage: 'ledger', reason: 'INSUFFICIENT_FUNDS' };
    await ensureAccount(manager, 'merchant', payment.merchantId, payment.currency);
    await credit(manager, merchant, payment.amountMinor);
    await manager.insert(LedgerTransfer, {
      id: paymentId,
      debitAccountId: payer,
      creditAccountId: merchant,
      amount: payment.amountMinor,
      ledger: payment.currency,
      code: 'PAYMENT',
      paymentId,
    });
    return { status: 'COMPLETED', stage: 'ledger', reason: null };
  }

  /** A user's wallets, one per currency they hold. */
  walletsOf(userId: string): Promise<LedgerAccount[]> {
    return this.dataSource.manager.find(LedgerAccount, { where: { kind: 'wallet', ownerId: userId }, order: { currency: 'ASC' } });
  }
}

