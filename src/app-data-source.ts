import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from './config/app-config.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { DeadLetterRecord } from './dead-letters/dead-letter.entity.js';
import { LedgerAccount } from './ledger/ledger-account.entity.js';
import { LedgerTransfer } from './ledger/ledger-transfer.entity.js';
import { RefundRecord } from './pipeline/refund-record.entity.js';
import { PaymentRecord } from './pipeline/payment-record.entity.js';
import { Merchant } from './validation/merchant.entity.js';

/** Every TypeORM entity; the app, the migration command, the tools and tests load the same list. */
export const ENTITIES = [PaymentRecord, Merchant, LedgerAccount, LedgerTransfer, DeadLetterRecord, RefundRecord];

/** The app's PostgreSQL connection with every entity: for the CLIs, the benchmark and tests. */
export function appDataSourceOptions(config: AppConfig): DataSourceOptions {
  return { ...dataSourceOptions(config), entities: ENTITIES };
}
