import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Why money moved. */
export type TransferCode = 'PAYMENT' | 'DEPOSIT' | 'REFUND';

/**
 * One immutable movement of money: debit one account, credit another of the same currency. Mistakes
 * are corrected by new transfers, never by edits. A payment's transfer has the payment's id, so it can
 * be posted only once.
 */
@Entity({ name: 'ledger_transfers' })
export class LedgerTransfer {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'debit_account_id', type: 'varchar', length: 160 })
  debitAccountId!: string;

  @Column({ name: 'credit_account_id', type: 'varchar', length: 160 })
  creditAccountId!: string;

  /** Minor units, always positive. */
  @Column({ type: 'bigint' })
  amount!: string;

  /** The currency: transfers only move money within one ledger. */
  @Column({ type: 'char', length: 3 })
  ledger!: string;

  @Column({ type: 'varchar', length: 16 })
  code!: TransferCode;

  @Column({ name: 'payment_id', type: 'uuid', nullable: true })
  paymentId!: string | null;

  @Column({ name: 'deposit_id', type: 'varchar', length: 64, nullable: true })
  depositId!: string | null;

  /** A refund's transfer: one per refund (unique). */
  @Column({ name: 'refund_id', type: 'uuid', nullable: true })
  refundId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
