/** The markdown summary of a `npm run bench` result: one column per shape, then the baselines and the profiles. */
import { type ProfileSummary } from './cpu-profile.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the result object run.ts builds, printed field by field
export function markdown(r: Record<string, any>): string {
  const names = Object.keys(r.shapes);
  const title: Record<string, string> = { single: 'single (1 process, all roles)', split: `split (API + ${r.settings.workers} worker process${r.settings.workers > 1 ? 'es' : ''})` };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const row = (measure: string, cell: (s: any) => unknown) => `| ${measure} | ${names.map((n) => cell(r.shapes[n])).join(' | ')} |`;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const each = (s: any, cell: (p: any) => unknown) => s.processes.map((p: any) => `${p.name} ${cell(p)}`).join(', ');
  const b = r.baselines;
  return [
    `# Benchmark ${r.runAt}`,
    '',
    `${r.machine.cpus} cores, Node ${r.machine.node}; ${r.settings.durationSeconds} s per shape, ${r.settings.connections} connections${r.settings.rate ? `, ${r.settings.rate}/s offered` : ''}, ${r.settings.users} payers${r.settings.idempotencyKeys ? ', a fresh Idempotency-Key on every request' : ''}${r.settings.consolePages ? `, ${r.settings.consolePages} ops console page(s) open in Chromium` : ''}${r.settings.consoleFeeds ? `, ${r.settings.consoleFeeds} ops console feed(s) read without a browser` : ''}.`,
    '',
    `| measure | ${names.map((n) => title[n]).join(' | ')} |`,
    `| --- | ${names.map(() => '---').join(' | ')} |`,
    row('processes (port)', (s) => each(s, (p) => `:${p.port}`)),
    row('intake accepted/s', (s) => s.intake.acceptedPerSecond),
    row('intake HTTP latency p50 / p90 / p99 / max (ms)', (s) => `${s.intake.latencyMs.p50} / ${s.intake.latencyMs.p90} / ${s.intake.latencyMs.p99} / ${s.intake.latencyMs.max}`),
    row('non-2xx / errors / timeouts', (s) => `${s.intake.non2xx} / ${s.intake.errors} / ${s.intake.timeouts}`),
    row('end to end terminal/s (load start to drained)', (s) => s.endToEnd.terminalPerSecond),
    row('acceptance to terminal p50 / p99 (ms)', (s) => `${s.endToEnd.acceptanceToTerminalMs.p50} / ${s.endToEnd.acceptanceToTerminalMs.p99}`),
    row('peak consumer lag / drain after load (s)', (s) => `${s.endToEnd.peakConsumerLag} / ${s.endToEnd.drainSeconds}`),
    row('outcomes', (s) => JSON.stringify(s.endToEnd.outcomes)),
    row('app CPU, all processes (cores busy)', (s) => s.resources.appCpuSecondsPerSecond),
    row('**app CPU µs per completed payment, all processes**', (s) => `**${s.resources.appCpuMicrosPerPayment}**`),
    row('app CPU µs per completed payment, by process', (s) => each(s, (p) => p.cpuMicrosPerPayment)),
    row('peak RSS (MB), by process', (s) => each(s, (p) => p.peakRssMb)),
    row('Redis memory (MB)', (s) => s.resources.redisUsedMemoryMb),
    ...(b
      ? [
          row('intake / end to end, × bare Fastify req/s', (s) => `${s.vsBaselines.intakeToBareFastify}× / ${s.vsBaselines.endToEndToBareFastify}×`),
          row('**app CPU per completed payment, in bare Fastify requests**', (s) => `**${s.vsBaselines.appCpuPerPaymentInBareRequests}×**`),
          row('intake, × raw / batched kafkajs produce/s', (s) => `${s.vsBaselines.intakeToRawKafka}× / ${s.vsBaselines.intakeToBatchedKafka}×`),
        ]
      : []),
    row('correctness: all accepted terminal / ledger violations / verify violations', (s) => `${s.correctness.allAcceptedTerminal} / ${s.correctness.ledgerInvariantViolations} / ${s.correctness.verifyViolations}`),
    '',
    ...(b
      ? [
          '| baseline (measured once, after the shapes) | value |',
          '| --- | --- |',
          `| bare Fastify req/s, CPU µs per request | ${b.bareFastifyRequestsPerSecond}, ${b.bareFastifyCpuMicrosPerRequest} |`,
          `| raw kafkajs produce/s, one record per send (acks=all, idempotent) | ${b.rawKafkaProducePerSecond} |`,
          `| batched kafkajs produce/s, records per second in batches (acks=all, idempotent) | ${b.batchedKafkaProducePerSecond} |`,
          '',
        ]
      : []),
    ...names.flatMap((n) => (r.shapes[n].cpuProfiles ?? []).flatMap((p: ProfileSummary & { process: string }) => profileMarkdown(`${n} / ${p.process}`, p))),
  ].join('\n');
}

function profileMarkdown(label: string, p: ProfileSummary): string[] {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  return [
    `## Where the CPU of ${label} went (${p.sampledSeconds} s sampled, load and drain)`,
    '',
    '| area | share of samples |',
    '| --- | --- |',
    ...p.areas.slice(0, 12).map((a) => `| ${a.area} | ${pct(a.share)} |`),
    '',
    '| function (self time) | area | share |',
    '| --- | --- | --- |',
    ...p.functions.map((f) => `| \`${f.fn}\` | ${f.area} | ${pct(f.share)} |`),
    '',
  ];
}
