import { PaymentRecord } from '../payments/payment-record.entity.js';

/** Every TypeORM entity; the app, the migration command and tests load the same list. */
export const ENTITIES = [PaymentRecord];
