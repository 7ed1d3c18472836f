import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { CurrencyCode } from '../money/currencies.js';
import { LedgerTransfer } from './ledger-transfer.entity.js';
import { credit, debit, ensureAccount } from './ledger-postings.js';

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
  constructor(private readonly dataSource: DataSource) {}

  /** Funds a wallet from the currency's funding account, once per depositId. */
  async deposit(userId: string, depositId: string, amountMinor: bigint, currency: CurrencyCode): Promise<DepositResult> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const existing = await manager.findOneBy(LedgerTransfer, { depositId });
        if (existing) return { transfer: existing, created: false };
        const funding = await ensureAccount(manager, 'funding', FUNDING_OWNER, currency);
        const wallet = await ensureAccount(manager, 'wallet', userId, currency);
        await debit(manager, funding, amountMinor.toString());
        await credit(manager, wallet, amountMinor.toString());
        const transfer = manager.create(LedgerTransfer, {
          id: randomUUID(),
          debitAccountId: funding,
          creditAccountId: wallet,
          amount: amountMinor.toString(),
          ledger: currency,
          code: 'DEPOSIT',
          depositId,
          paymentId: null,
        });
        await manager.insert(LedgerTransfer, transfer);
        return { transfer, created: true };
      });
    } catch (error) {
      // The same depositId posted concurrently: the other transaction's transfer stands. Any other
      // unique violation is not a replay and goes up as it is.
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      const earlier = await this.dataSource.manager.findOneBy(LedgerTransfer, { depositId });
      if (!earlier) throw error;
      return { transfer: earlier, created: false };
    }
  }
}
