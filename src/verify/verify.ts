/**
 * `npm run verify [-- --settle-seconds S]`: checks a deployment's invariants (read-only) and exits
 * 1 on any violation, 2 when the configuration names no deployment. Uses the same environment variables as the app.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { appDataSourceOptions } from '../app-data-source.js';
import { createRedisClient } from '../redis/redis.module.js';
import { DeploymentNotFound, DeploymentVerifier } from './deployment-verifier.js';

const { values } = parseArgs({ options: { 'settle-seconds': { type: 'string', default: '0' } } });
const config = AppConfig.fromEnvironment();
const dataSource = new DataSource(appDataSourceOptions(config));
await dataSource.initialize();
// A one-shot check waits for Redis rather than fail fast like the app's request path.
const redis = createRedisClient(config, { commandTimeout: undefined, maxRetriesPerRequest: 20, enableAutoPipelining: false });
try {
  const report = await new DeploymentVerifier(config, dataSource, redis).verify({ settleMs: Number(values['settle-seconds']) * 1000 });
  console.log(`accepted payments (on Kafka): ${report.acceptedPayments}; with a terminal state: ${report.terminalPayments}`);
  if (report.violations.length === 0) {
    console.log('verify: no violations');
  } else {
    for (const v of report.violations.slice(0, 50)) console.log(`VIOLATION ${v.invariant}: ${JSON.stringify(v.detail)}`);
    console.log(`verify: ${report.violations.length} violation(s)`);
    process.exitCode = 1;
  }
} catch (error) {
  if (!(error instanceof DeploymentNotFound)) throw error;
  console.error(`verify: ${error.message}`);
  process.exitCode = 2;
} finally {
  await dataSource.destroy();
  redis.disconnect();
}
