import { CreatePayments1764250000000 } from './1764250000000-create-payments.js';
import { CreateLedger1764260000000 } from './1764260000000-create-ledger.js';
import { CreateRefunds1764270000000 } from './1764270000000-create-refunds.js';
import { CreateWebhooks1764280000000 } from './1764280000000-create-webhooks.js';
import { WebhookDeliveryLeases1764290000000 } from './1764290000000-webhook-delivery-leases.js';

/** Every migration, oldest first. Listed explicitly: globs do not load TypeScript-compiled ESM reliably. */
export const MIGRATIONS = [CreatePayments1764250000000, CreateLedger1764260000000, CreateRefunds1764270000000, CreateWebhooks1764280000000, WebhookDeliveryLeases1764290000000];
