import { collectDefaultMetrics, Gauge, register } from 'prom-client';
import { availableParallelism } from 'node:os';

/**
 * prom-client's gauges named `_total` (a counter's suffix, which `promtool check metrics` rejects on
 * a gauge). Each is the sum of the same name without `_total`, which has a `type` label, so nothing is lost.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * The default Node.js and process series, once per process (prom-client's registry is process-wide
 * and throws on a second registration; the e2e suites start several apps in one process), plus
 * Micrometer's `process.cpu.usage` and `process.uptime`, which Spring dashboards read.
 */
export function registerProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_seconds_total') !== undefined) return;
  collectDefaultMetrics();
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) register.removeSingleMetric(name);

  const cores = availableParallelism();
  let last = { cpu: process.cpuUsage(), at: process.hrtime.bigint() };
  new Gauge({
    name: 'process_cpu_usage',
    help: 'The recent CPU usage of this process, as a share of all cores (0 to 1), since the previous scrape',
    collect() {
      const now = { cpu: process.cpuUsage(), at: process.hrtime.bigint() };
      const cpuMicros = now.cpu.user - last.cpu.user + (now.cpu.system - last.cpu.system);
      const wallMicros = Number(now.at - last.at) / 1000;
      last = now;
      if (wallMicros > 0) this.set(Math.min(1, cpuMicros / (wallMicros * cores)));
    },
  });
  new Gauge({
    name: 'process_uptime_seconds',
    help: 'The uptime of this process',
    collect() {
      this.set(process.uptime());
    },
  });
}
