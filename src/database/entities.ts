import { DeadLetterRecord } from '../dead-letters/dead-letter.entity.js';
import { LedgerAccount } from '../ledger/ledger-account.entity.js';
import { LedgerTransfer } from '../ledger/ledger-transfer.entity.js';
import { PaymentRecord } from '../payments/payment-record.entity.js';
import { Merchant } from '../validation/merchant.entity.js';

/** Every TypeORM entity; the app, the migration command and tests load the same list. */
export const ENTITIES = [PaymentRecord, Merchant, LedgerAccount, LedgerTransfer, DeadLetterRecord];
