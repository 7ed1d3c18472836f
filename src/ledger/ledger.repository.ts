import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { PaymentRecord } from '../pipeline/payment-record.entity.js';
import { PaymentRecords, type TerminalRow } from '../pipeline/payment-records.repository.js';
import { accountId, LedgerAccount, type AccountKind } from './ledger-account.entity.js';
import { LedgerTransfer } from './ledger-transfer.entity.js';
import { RefundRecords, type NewRefundRecord } from '../pipeline/refund-records.repository.js';
import type { RefundRecord } from '../pipeline/refund-record.entity.js';

/** What a refund needs of its payment's row. */
export interface RefundablePayment {
  id: string;
  status: string;
  merchantId: string;
  userId: string;
  currency: string;
  amountMinor: string;
  amountRefundedMinor: string;
}

/** One debit of a payment: from the payer's wallet, unless it would go below zero. */
export interface WalletDebit {
  paymentId: string;
  account: string;
  amount: string;
}

/** A payment's transfer, from the payer's wallet to the merchant's account. */
export interface PaymentTransfer {
  paymentId: string;
  debitAccount: string;
  creditAccount: string;
  amount: string;
  currency: string;
}

/**
 * The ledger's SQL inside one PostgreSQL transaction (LedgerRepository.transaction). Accounts are
 * locked by these UPDATEs in a fixed order per kind of transfer (payer then merchant, funding then
 * wallet, merchant accounts sorted), which keeps concurrent transfers from deadlocking.
 */
export class LedgerTransaction {
  constructor(
    private readonly manager: EntityManager,
    private readonly records: PaymentRecords,
    private readonly refunds: RefundRecords,
  ) {}

  /** The payments among these that already have their terminal row. */
  terminalRows(paymentIds: string[]): Promise<Map<string, PaymentRecord>> {
    return this.records.findByIds(paymentIds, this.manager);
  }

  completedOrders(orders: { merchantId: string; orderId: string }[]): Promise<Set<string>> {
    return this.records.completedOrders(orders, this.manager);
  }

  /** Terminal rows written with the money: no ON CONFLICT, so a row written meanwhile (the intake abandoning the payment) rolls the money back. */
  async insertTerminal(rows: TerminalRow[]): Promise<void> {
    await this.records.insertTerminal(rows, 'fail', this.manager);
  }

  /** Debits each wallet once (accounts are distinct here) unless it would go below zero; returns whose payments were debited. */
  async debitWallets(debits: WalletDebit[]): Promise<Set<string>> {
    if (debits.length === 0) return new Set();
    const rows: unknown[] = await this.manager.query(
      `UPDATE ledger_accounts a SET debits_posted = a.debits_posted + d.amount
       FROM unnest($1::varchar[], $2::bigint[], $3::uuid[]) AS d(account_id, amount, payment_id)
       WHERE a.id = d.account_id
         AND (NOT a.debits_must_not_exceed_credits OR a.credits_posted - a.debits_posted >= d.amount)
       RETURNING d.payment_id`,
      [debits.map((d) => d.account), debits.map((d) => d.amount), debits.map((d) => d.paymentId)],
    );
    return new Set(updatedRows<{ payment_id: string }>(rows).map((row) => row.payment_id));
  }

  /** Debits one account unless that would take a no-overdraft account below zero (or it does not exist); false then. */
  async debit(account: string, amount: string): Promise<boolean> {
    const rows: unknown[] = await this.manager.query(
      `UPDATE ledger_accounts SET debits_posted = debits_posted + $2
       WHERE id = $1 AND (NOT debits_must_not_exceed_credits OR credits_posted - debits_posted >= $2)
       RETURNING id`,
      [account, amount],
    );
    return updatedRows(rows).length === 1;
  }

  /** Debits only what the account holds, whatever its kind (a refund from a merchant's account); false otherwise. */
  async debitCovered(account: string, amount: string): Promise<boolean> {
    const rows: unknown[] = await this.manager.query(
      `UPDATE ledger_accounts SET debits_posted = debits_posted + $2 WHERE id = $1 AND credits_posted - debits_posted >= $2 RETURNING id`,
      [account, amount],
    );
    return updatedRows(rows).length === 1;
  }

  /** The one credit statement: a wallet's deposit, a merchant's sum of a group's payments. */
  async credit(account: string, amount: string): Promise<void> {
    await this.manager.query(`UPDATE ledger_accounts SET credits_posted = credits_posted + $2 WHERE id = $1`, [account, amount]);
  }

  /**
   * Creates the accounts that are missing; wallets may never be overdrawn, merchant and funding
   * accounts may. ON CONFLICT without a target: the id is derived from (kind, owner, currency), which
   * has a unique constraint of its own, and a conflict target of (id) alone lets a concurrent first
   * insert fail on that other constraint (two first deposits in one currency both creating its
   * funding account).
   */
  async ensureAccounts(kind: AccountKind, accounts: { ownerId: string; currency: string }[]): Promise<string[]> {
    const ids = accounts.map((a) => accountId(kind, a.ownerId, a.currency));
    if (ids.length === 0) return ids;
    await this.manager.query(
      `INSERT INTO ledger_accounts (id, kind, owner_id, currency, debits_must_not_exceed_credits)
       SELECT id, $4::varchar, owner_id, currency, $5::boolean FROM unnest($1::varchar[], $2::varchar[], $3::char(3)[]) AS m(id, owner_id, currency)
       ON CONFLICT DO NOTHING`,
      [ids, accounts.map((a) => a.ownerId), accounts.map((a) => a.currency), kind, kind === 'wallet'],
    );
    return ids;
  }

  async ensureAccount(kind: AccountKind, ownerId: string, currency: string): Promise<string> {
    return (await this.ensureAccounts(kind, [{ ownerId, currency }]))[0];
  }

  /** The payments' transfers, each with the payment's id as its own (one transfer per payment). */
  async insertPaymentTransfers(transfers: PaymentTransfer[]): Promise<void> {
    if (transfers.length === 0) return;
    await this.manager.query(
      `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, ledger, code, payment_id)
       SELECT t.id, t.debit, t.credit, t.amount, t.ledger, 'PAYMENT', t.id
       FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::bigint[], $5::char(3)[]) AS t(id, debit, credit, amount, ledger)`,
      [
        transfers.map((t) => t.paymentId),
        transfers.map((t) => t.debitAccount),
        transfers.map((t) => t.creditAccount),
        transfers.map((t) => t.amount),
        transfers.map((t) => t.currency),
      ],
    );
  }

  /** The payment's row, locked until the transaction ends: one payment's refunds are decided one at a time. */
  async lockPayment(paymentId: string): Promise<RefundablePayment | null> {
    const rows: RefundablePayment[] = await this.manager.query(
      `SELECT id, status, merchant_id AS "merchantId", user_id AS "userId", currency,
              amount_minor::text AS "amountMinor", amount_refunded_minor::text AS "amountRefundedMinor"
         FROM payments WHERE id = $1 FOR UPDATE`,
      [paymentId],
    );
    return rows[0] ?? null;
  }

  /** Locks the account (it must exist), in the order the payment path takes them: the wallet first. */
  async lockAccount(account: string): Promise<void> {
    await this.manager.query(`SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE`, [account]);
  }

  async addRefunded(paymentId: string, amount: string): Promise<void> {
    await this.manager.query(`UPDATE payments SET amount_refunded_minor = amount_refunded_minor + $2, updated_at = now() WHERE id = $1`, [paymentId, amount]);
  }

  refund(refundId: string): Promise<RefundRecord | null> {
    return this.refunds.findById(refundId, this.manager);
  }

  /** A refund's outcome; its primary key makes it once per refund, and a row written meanwhile rolls the money back. */
  async insertRefund(refund: NewRefundRecord): Promise<RefundRecord> {
    return (await this.refunds.insert(refund, 'fail', this.manager)).record;
  }

  depositTransfer(depositId: string): Promise<LedgerTransfer | null> {
    return this.manager.findOneBy(LedgerTransfer, { depositId });
  }

  async insertTransfer(transfer: Omit<LedgerTransfer, 'createdAt'>): Promise<LedgerTransfer> {
    const row = this.manager.create(LedgerTransfer, transfer);
    await this.manager.insert(LedgerTransfer, row);
    return row;
  }
}

/** The ledger tables: transactions for postings and deposits, and the reads of the accounts API. */
@Injectable()
export class LedgerRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly records: PaymentRecords,
    private readonly refunds: RefundRecords,
  ) {}

  /** For tools outside the Nest app (the seed, the benchmark) that hold a DataSource only. */
  static over(dataSource: DataSource): LedgerRepository {
    return new LedgerRepository(dataSource, new PaymentRecords(dataSource), new RefundRecords(dataSource));
  }

  /** Runs the work in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (tx: LedgerTransaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work(new LedgerTransaction(manager, this.records, this.refunds)));
  }

  /** Outside any transaction: the committed state. */
  outside(): LedgerTransaction {
    return new LedgerTransaction(this.dataSource.manager, this.records, this.refunds);
  }

  /** A user's wallets, one per currency they hold. */
  walletsOf(userId: string): Promise<LedgerAccount[]> {
    return this.dataSource.manager.find(LedgerAccount, { where: { kind: 'wallet', ownerId: userId }, order: { currency: 'ASC' } });
  }
}

/** TypeORM's query() answers an UPDATE … RETURNING on pg with [rows, count]. */
function updatedRows<T>(result: unknown[]): T[] {
  return (Array.isArray(result[0]) ? result[0] : result) as T[];
}
