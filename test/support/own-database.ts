import { DataSource } from 'typeorm';
import { TEST_RUN_ID } from './test-config.js';

/**
 * A database of the suite's own on the shared PostgreSQL, for a suite that corrupts data on purpose:
 * the other suites never see it (the app's migrations build its schema on start). Dropped afterwards.
 */
export async function createOwnDatabase(purpose: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `payments_${purpose}_${TEST_RUN_ID}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const run = async (sql: string) => {
    const admin = new DataSource({
      type: 'postgres',
      host: process.env.DB_HOST ?? '127.0.0.1',
      port: Number(process.env.DB_PORT ?? 5432),
      username: process.env.DB_USER ?? 'postgres',
      password: process.env.DB_PASSWORD ?? '',
      database: 'postgres',
    });
    await admin.initialize();
    try {
      await admin.query(sql);
    } finally {
      await admin.destroy();
    }
  };
  await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await run(`CREATE DATABASE ${name}`);
  return { name, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
