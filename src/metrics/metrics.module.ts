import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { MetricsCatalog } from './metrics-catalog.js';
import { MetricsService } from './metrics.service.js';
import { registerProcessMetrics } from './process-metrics.js';
import { ScrapeController } from './scrape.controller.js';

/**
 * One prom-client registry (the process-wide default) serves every series: @willsoto/nestjs-prometheus
 * scrapes it at /metrics and /actuator/prometheus, and the Actuator catalog reads it. The package's
 * own default-metrics call is off: it would register them again for every app a process starts.
 */
@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/', controller: ScrapeController, defaultMetrics: { enabled: false } })],
  providers: [
    { provide: MetricsService, useFactory: () => (registerProcessMetrics(), new MetricsService()) },
    { provide: MetricsCatalog, useValue: new MetricsCatalog(register) },
  ],
  exports: [MetricsService, MetricsCatalog],
})
export class MetricsModule {}
