import { Injectable } from '@nestjs/common';
import { DataSource, In } from 'typeorm';
import type { Transaction } from './payment-records.repository.js';
import { RefundRecord } from './refund-record.entity.js';

export type NewRefundRecord = Omit<RefundRecord, 'createdAt'>;

/**
 * The `refunds` table: the one writer of refund outcomes (the ledger's posting, a dead letter's
 * FAILED, the intake's tombstone) and their readers.
 */
@Injectable()
export class RefundRecords {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Writes the outcome and returns the row that stands. `keep-first`: an existing row stays (a dead
   * letter or tombstone after the ledger decided). `fail`: an existing row fails the statement, so that
   * inside the ledger's transaction the money moved with it rolls back.
   */
  async insert(refund: NewRefundRecord, onConflict: 'keep-first' | 'fail', tx: Transaction = this.dataSource.manager): Promise<{ record: RefundRecord; decidedNow: boolean }> {
    const insert = tx.createQueryBuilder().insert().into(RefundRecord).values(refund);
    const result = await (onConflict === 'keep-first' ? insert.orIgnore() : insert).execute();
    // pg returns the inserted row's defaults (created_at); nothing when ON CONFLICT DO NOTHING skipped it.
    const decidedNow = Array.isArray(result.raw) && result.raw.length > 0;
    return { record: (await this.findById(refund.id, tx))!, decidedNow };
  }

  findById(id: string, tx: Transaction = this.dataSource.manager): Promise<RefundRecord | null> {
    return tx.findOneBy(RefundRecord, { id });
  }

  async findByIds(ids: string[]): Promise<RefundRecord[]> {
    return ids.length === 0 ? [] : this.dataSource.manager.findBy(RefundRecord, { id: In(ids) });
  }

  /** A payment's refund outcomes, newest first. */
  ofPayment(paymentId: string): Promise<RefundRecord[]> {
    return this.dataSource.manager.find(RefundRecord, { where: { paymentId }, order: { requestedAt: 'DESC' } });
  }
}
