import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.factory.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { testConfig } from './test-config.js';

export interface RunningApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> of the listening app; tests talk to it over real HTTP. */
  url: string;
  close(): Promise<void>;
}

/** Starts the whole app on a free port; `consumers: false` leaves the pipeline stages off. */
export async function startTestApp(overrides: Record<string, string> = {}, { consumers = true } = {}): Promise<RunningApp> {
  const config = testConfig(overrides);
  const app = await createApp(config);
  await app.init();
  if (consumers) await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, config, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
