import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { MIGRATIONS } from './migrations/index.js';
import { ENTITIES } from './entities.js';

/** One definition of the PostgreSQL connection, shared by the app, the migration command and tests. */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'postgres',
    host: config.database.host,
    port: config.database.port,
    username: config.database.username,
    password: config.database.password,
    database: config.database.database,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    // The schema changes only through reviewed migrations.
    synchronize: false,
    extra: { max: config.database.poolSize, connectionTimeoutMillis: 3000 },
    applicationName: 'payments-system',
  };
}
