import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Merchants the service takes payments for; the migration creates the default one. */
@Entity({ name: 'merchants' })
export class Merchant {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 255 })
  name!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
