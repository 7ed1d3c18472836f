import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { type AppConfig } from './config/app-config.js';
import { ApiExceptionFilter } from './http/api-exception.filter.js';

/** Payment bodies are small; anything much larger is a mistake or an attack. */
export const BODY_LIMIT_BYTES = 16 * 1024;

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Builds the whole app (HTTP and Kafka consumers) without listening; main.ts and the e2e tests share it. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    // Reject JSON with __proto__ / constructor.prototype keys outright (prototype poisoning).
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    logger: LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(config.logLevel as LogLevel) + 1),
    bufferLogs: true,
  });
  app.useGlobalFilters(new ApiExceptionFilter());
  app.enableShutdownHooks();
  return app;
}

export async function startApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await createApp(config);
  await app.listen(config.http.port, config.http.host);
  new Logger('Bootstrap').log(`Listening on http://${config.http.host}:${config.http.port} (${config.env})`);
  return app;
}
