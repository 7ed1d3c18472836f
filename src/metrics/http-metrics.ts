import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MetricsService } from './metrics.service.js';

/** Micrometer's `outcome` tag: the class of the status. */
export function outcomeOf(status: number): string {
  if (status < 200) return 'INFORMATIONAL';
  if (status < 300) return 'SUCCESS';
  if (status < 400) return 'REDIRECTION';
  if (status < 500) return 'CLIENT_ERROR';
  if (status < 600) return 'SERVER_ERROR';
  return 'UNKNOWN';
}

/** The routes are few and fixed: each pattern is rewritten once, not on every request. */
const uris = new Map<string, string>();

/** Micrometer's `uri` tag: the route template in Spring's `{name}` form, `UNKNOWN` when no route matched. */
export function uriOf(routePattern: string | undefined): string {
  if (routePattern === undefined) return 'UNKNOWN';
  let uri = uris.get(routePattern);
  if (uri === undefined) uris.set(routePattern, (uri = routePattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}')));
  return uri;
}

const EXCEPTION = Symbol('httpMetricsException');

/** Names the exception a request ended with, for the `exception` tag (the error filter calls it). */
export function recordRequestException(request: FastifyRequest, exception: unknown): void {
  const name = (exception as { constructor?: { name?: string } } | null)?.constructor?.name;
  (request as FastifyRequest & { [EXCEPTION]?: string })[EXCEPTION] = name && name !== 'Object' ? name : 'Error';
}

/**
 * Times every HTTP response in a Fastify onResponse hook, so answers that never reach a Nest handler
 * (body parsing 4xx, 404s) count too, as Spring Boot's `http.server.requests` timer with Micrometer's
 * tags: `uri` is the route template (never the raw URL, to keep the label set bounded), `outcome`
 * the status class, `exception` the error's class or `none`.
 */
export function installHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    metrics.httpRequests.observe(
      {
        method: request.method,
        uri: uriOf(request.routeOptions.url),
        status: String(status),
        outcome: outcomeOf(status),
        exception: (request as FastifyRequest & { [EXCEPTION]?: string })[EXCEPTION] ?? 'none',
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
