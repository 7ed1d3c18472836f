import 'reflect-metadata';
import { startApp } from './app.factory.js';
import { assertApiKeysConfigured } from './auth/http-security.js';
import { AppConfig } from './config/app-config.js';
import { rolesOf } from './pipeline/stages.js';

let config: AppConfig;
try {
  config = AppConfig.fromEnvironment();
  assertApiKeysConfigured(config, rolesOf(config.appRoles).api);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
await startApp(config);
