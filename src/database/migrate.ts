/**
 * `npm run migrate`: applies pending migrations and exits.
 *   --revert  reverts the last migration
 *   --fresh   drops and rebuilds the schema; only for a test database: its name ends in _test or
 *             _test_<suffix> (one per engineer or worktree, e.g. payments_test_scale)
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';

const config = AppConfig.fromEnvironment();
const dataSource = new DataSource(dataSourceOptions(config));
await dataSource.initialize();
try {
  if (process.argv.includes('--revert')) {
    await dataSource.undoLastMigration({ transaction: 'each' });
    console.log('Reverted the last migration.');
  } else {
    if (process.argv.includes('--fresh')) {
      if (!/_test(_[A-Za-z0-9]+)?$/.test(config.database.database)) {
        throw new Error(`Refusing to drop the schema of ${config.database.database}: --fresh is for *_test and *_test_<suffix> databases`);
      }
      await dataSource.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    const where = `${config.database.database}@${config.database.host}:${config.database.port}`;
    console.log(applied.length ? `Applied ${applied.map((m) => m.name).join(', ')} to ${where}.` : `Schema of ${where} is up to date.`);
  }
} finally {
  await dataSource.destroy();
}
