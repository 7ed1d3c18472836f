import { Global, Module } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import { AfterCommit } from './after-commit.js';
import { BacklogMetrics } from './backlog.metrics.js';
import { MetricsCatalog } from './metrics-catalog.js';
import { MetricsService } from './metrics.service.js';
import { PrometheusController } from './prometheus.controller.js';

/**
 * prom-client's registry is process-wide and throws on a second registration: the default Node.js
 * and process metrics are registered once per process, however many apps it starts (the e2e suites).
 */
function collectDefaultMetricsOnce(): void {
  if (register.getSingleMetric('process_cpu_seconds_total') === undefined) collectDefaultMetrics();
}

// /metrics is served by our own controller rather than @willsoto/nestjs-prometheus: that package is
// CommonJS and require()s @nestjs/common, which Nest 12 ships as ESM only. Node 20.19+ allows that,
// but Jest's module runtime on Node 20 does not, so no e2e suite could load the app.
@Global()
@Module({
  controllers: [PrometheusController],
  providers: [
    { provide: MetricsService, useFactory: () => (collectDefaultMetricsOnce(), new MetricsService()) },
    AfterCommit,
    BacklogMetrics,
    { provide: MetricsCatalog, useValue: new MetricsCatalog(register) },
  ],
  exports: [MetricsService, AfterCommit, MetricsCatalog],
})
export class MetricsModule {}
