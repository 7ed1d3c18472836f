import 'reflect-metadata';
import { startApp } from './app.factory.js';
import { AppConfig } from './config/app-config.js';

let config: AppConfig;
try {
  config = AppConfig.fromEnvironment();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
await startApp(config);
