import { CreatePayments1764250000000 } from './1764250000000-create-payments.js';

/** Every migration, oldest first. Listed explicitly: globs do not load TypeScript-compiled ESM reliably. */
export const MIGRATIONS = [CreatePayments1764250000000];
