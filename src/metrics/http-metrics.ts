import type { FastifyInstance } from 'fastify';
import type { MetricsService } from './metrics.service.js';

/**
 * Times every HTTP response in a Fastify onResponse hook, so answers that never reach a Nest handler
 * (body parsing 4xx, 404s) count too. The route label is the route pattern (`/api/payments/:paymentId`),
 * never the raw URL, to keep the label set bounded.
 */
export function installHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const pattern = request.routeOptions.url;
    const route = pattern ?? (reply.statusCode === 404 ? 'NOT_FOUND' : 'UNKNOWN');
    metrics.httpRequests.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}
