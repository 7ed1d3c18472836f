import type { PaymentStage, PaymentStatus } from './payment-status.js';
import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * The system of record for a payment's outcome. Redis holds the fast, replayable view; this row is
 * what status queries fall back to when Redis has forgotten, and what guards "one completed
 * payment per (merchant, order)" whatever Redis remembers.
 */
@Entity({ name: 'payments' })
@Index('payments_one_completed_per_order', ['merchantId', 'orderId'], { unique: true, where: `status = 'COMPLETED'` })
export class PaymentRecord {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'merchant_id', type: 'varchar', length: 64 })
  merchantId!: string;

  @Column({ name: 'order_id', type: 'varchar', length: 64 })
  orderId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 64 })
  userId!: string;

  /** Integer count of the currency's minor units; bigint comes back from pg as a string. */
  @Column({ name: 'amount_minor', type: 'bigint' })
  amountMinor!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'varchar', length: 16 })
  /** Always a terminal status: COMPLETED, DECLINED, REJECTED or FAILED (a CHECK constraint holds it). */
  status!: PaymentStatus;

  /** The stage that ended the payment (intake, validation, fraud, ledger, dead-letter). */
  @Column({ type: 'varchar', length: 16 })
  stage!: PaymentStage;

  @Column({ type: 'varchar', length: 64, nullable: true })
  reason!: string | null;

  /** The fraud stage's score (0-100) for payments that got that far. */
  @Column({ name: 'risk_score', type: 'integer', nullable: true })
  riskScore!: number | null;

  /** What refunds gave back so far, in minor units (never above amountMinor; a CHECK holds it). */
  @Column({ name: 'amount_refunded_minor', type: 'bigint', default: '0' })
  amountRefundedMinor!: string;

  @Column({ name: 'accepted_at', type: 'timestamptz' })
  acceptedAt!: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
