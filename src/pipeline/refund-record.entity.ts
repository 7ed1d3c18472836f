import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { RefundReason, TerminalRefundStatus } from './refund-events.js';

/** A refund's outcome, the system of record (a refund in flight is only in Kafka and Redis). */
@Entity({ name: 'refunds' })
@Index('refunds_by_payment', ['paymentId', 'requestedAt'])
export class RefundRecord {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'payment_id', type: 'uuid' })
  paymentId!: string;

  @Column({ name: 'merchant_id', type: 'varchar', length: 64 })
  merchantId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  /** Integer count of the currency's minor units; bigint comes back from pg as a string. */
  @Column({ name: 'amount_minor', type: 'bigint' })
  amountMinor!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: TerminalRefundStatus;

  /** Why it was declined or failed; null when it succeeded. */
  @Column({ name: 'outcome_reason', type: 'varchar', length: 64, nullable: true })
  outcomeReason!: string | null;

  /** The merchant's reason for the refund. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: RefundReason | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  description!: string | null;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
