import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { CurrencyCode } from '../money/currencies.js';
import type { LedgerTransfer } from './ledger-transfer.entity.js';
import { LedgerRepository } from './ledger.repository.js';

export interface DepositResult {
  transfer: LedgerTransfer;
  /** False when the depositId was already posted (the first transfer is returned). */
  created: boolean;
}

/** Money enters the system here: each currency's funding account pays into a wallet. */
const FUNDING_OWNER = 'FUNDING';
const UNIQUE_VIOLATION = '23505';

/** Funds wallets through the same ledger as payments, idempotent by the client's depositId. */
@Injectable()
export class DepositsService {
  constructor(private readonly ledger: LedgerRepository) {}

  /** Funds a wallet from the currency's funding account, once per depositId. */
  async deposit(userId: string, depositId: string, amountMinor: bigint, currency: CurrencyCode): Promise<DepositResult> {
    try {
      return await this.ledger.transaction(async (tx) => {
        const existing = await tx.depositTransfer(depositId);
        if (existing) return { transfer: existing, created: false };
        const funding = await tx.ensureAccount('funding', FUNDING_OWNER, currency);
        const wallet = await tx.ensureAccount('wallet', userId, currency);
        await tx.debit(funding, amountMinor.toString());
        await tx.credit(wallet, amountMinor.toString());
        const transfer = await tx.insertTransfer({
          id: randomUUID(),
          debitAccountId: funding,
          creditAccountId: wallet,
          amount: amountMinor.toString(),
          ledger: currency,
          code: 'DEPOSIT',
          depositId,
          paymentId: null,
          refundId: null,
        });
        return { transfer, created: true };
      });
    } catch (error) {
      // The same depositId posted concurrently: the other transaction's transfer stands. Any other
      // unique violation is not a replay and goes up as it is.
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      const earlier = await this.ledger.outside().depositTransfer(depositId);
      if (!earlier) throw error;
      return { transfer: earlier, created: false };
    }
  }
}
