import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `npm run build` puts the console's page and bundle (scripts/build-console.mjs): dist/ops-web,
 * found the same way from src/ops (the tests) and dist/ops (the app).
 */
export const CONSOLE_ASSETS = join(import.meta.dirname, '..', '..', 'dist', 'ops-web');

/**
 * Serves the operations console at /ops: one HTML page and its bundle, from this app's own files
 * (nothing from a CDN), under the app's Content-Security-Policy (scripts and styles from self only).
 * The page is public, like any sign-in page; everything it shows comes from /ops/api and /api, which
 * need an admin key.
 */
export async function installConsoleAssets(app: NestFastifyApplication): Promise<void> {
  if (!existsSync(join(CONSOLE_ASSETS, 'index.html'))) {
    new Logger('Console').warn(`No console assets in ${CONSOLE_ASSETS}: run \`npm run build\` to serve /ops.`);
  }
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyStatic, { root: CONSOLE_ASSETS, prefix: '/ops/', decorateReply: false, index: 'index.html' });
  fastify.get('/ops', (_request, reply) => reply.redirect('/ops/', 302));
}
