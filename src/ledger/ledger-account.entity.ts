import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type AccountKind = 'wallet' | 'merchant' | 'funding';

/**
 * An account of one currency (its ledger). Balances are never stored, only the posted debits and
 * credits; a wallet's available balance is credits minus debits, and a CHECK keeps it from going below zero.
 */
@Entity({ name: 'ledger_accounts' })
export class LedgerAccount {
  /** Readable and derived: `wallet:USER-001:USD`, `merchant:MERCHANT-001:USD`, `funding:FUNDING:USD`. */
  @PrimaryColumn({ type: 'varchar', length: 160 })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: AccountKind;

  @Column({ name: 'owner_id', type: 'varchar', length: 64 })
  ownerId!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ name: 'debits_posted', type: 'bigint' })
  debitsPosted!: string;

  @Column({ name: 'credits_posted', type: 'bigint' })
  creditsPosted!: string;

  @Column({ name: 'debits_must_not_exceed_credits', type: 'boolean' })
  debitsMustNotExceedCredits!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

export function accountId(kind: AccountKind, ownerId: string, currency: string): string {
  return `${kind}:${ownerId}:${currency}`;
}
