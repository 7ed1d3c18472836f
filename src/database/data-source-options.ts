import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';

/** One definition of the PostgreSQL connection (entities are the app's to add: app-data-source.ts). */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'postgres',
    host: config.database.host,
    port: config.database.port,
    username: config.database.username,
    password: config.database.password,
    database: config.database.database,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    // The schema changes only through reviewed migrations.
    synchronize: false,
    extra: { max: config.database.poolSize, connectionTimeoutMillis: 3000 },
    applicationName: 'payments-system',
  };
}
