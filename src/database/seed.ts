/**
 * `npm run seed` (and `npm run local`): demo wallets USER-001 to USER-100, each funded in every
 * supported currency through the ledger's own deposits. Idempotent: deposit ids are fixed, so running
 * it again funds nothing twice.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { DepositsService } from '../ledger/deposits.service.js';
import { LedgerRepository } from '../ledger/ledger.repository.js';
import { CURRENCY_MINOR_DIGITS, SUPPORTED_CURRENCIES } from '../money/currencies.js';
import { appDataSourceOptions } from '../app-data-source.js';

const USERS = 100;
/** Per currency, in major units: enough for a long benchmark, in amounts that read naturally. */
const DEMO_BALANCE: Record<string, bigint> = { USD: 1_000_000n, EUR: 1_000_000n, GBP: 1_000_000n, CNY: 7_000_000n, JPY: 150_000_000n, KRW: 1_300_000_000n, BHD: 400_000n };

const dataSource = new DataSource(appDataSourceOptions(AppConfig.fromEnvironment()));
await dataSource.initialize();
try {
  const deposits = new DepositsService(LedgerRepository.over(dataSource));
  let created = 0;
  for (let n = 1; n <= USERS; n++) {
    const userId = `USER-${String(n).padStart(3, '0')}`;
    for (const currency of SUPPORTED_CURRENCIES) {
      const amountMinor = DEMO_BALANCE[currency] * 10n ** BigInt(CURRENCY_MINOR_DIGITS[currency]);
      const result = await deposits.deposit(userId, `seed:${userId}:${currency}`, amountMinor, currency);
      if (result.created) created++;
    }
  }
  console.log(created ? `Seeded ${created} demo deposits (USER-001 to USER-${USERS}).` : 'Demo wallets already seeded.');
} finally {
  await dataSource.destroy();
}
