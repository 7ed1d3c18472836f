import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Sample } from './feed.js';

interface Series {
  label: string;
  color: string;
  value: (sample: Sample) => number | null;
}

/** Colours with at least 4.5:1 contrast on white, told apart by dash as well as hue. */
export const THROUGHPUT: Series[] = [
  { label: 'accepted', color: '#1f4e9a', value: (s) => s.accepted },
  { label: 'completed', color: '#1b6e2a', value: (s) => s.completed },
  { label: 'declined', color: '#8a4b00', value: (s) => s.declined },
  { label: 'rejected', color: '#6a1b9a', value: (s) => s.rejected },
  { label: 'failed', color: '#b00020', value: (s) => s.failed },
];

const ms = (seconds: number | null) => (seconds === null ? null : Math.round(seconds * 10_000) / 10);
export const LATENCY: Series[] = [
  { label: 'HTTP p50 (ms)', color: '#1f4e9a', value: (s) => ms(s.httpP50) },
  { label: 'HTTP p99 (ms)', color: '#5b7fc0', value: (s) => ms(s.httpP99) },
  { label: 'accepted→terminal p50 (ms)', color: '#1b6e2a', value: (s) => ms(s.endToEndP50) },
  { label: 'accepted→terminal p99 (ms)', color: '#8a4b00', value: (s) => ms(s.endToEndP99) },
];

/** A uPlot time series of the samples (the last 15 minutes), redrawn as samples arrive. */
export function TimeChart({ title, series, samples, unit, aggregate }: { title: string; series: Series[]; samples: Sample[]; unit: string; aggregate: 'mean' | 'latest' }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    if (!host.current) return;
    const width = Math.max(320, host.current.clientWidth);
    plot.current = new uPlot(
      {
        width,
        height: 220,
        legend: { live: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{ stroke: '#1a1a1a' }, { stroke: '#1a1a1a', label: unit, size: 60 }],
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color, width: 2, dash: i % 2 === 1 ? [6, 3] : undefined, spanGaps: false }))],
      },
      [[], ...series.map(() => [])],
      host.current,
    );
    const resize = new ResizeObserver(() => host.current && plot.current?.setSize({ width: Math.max(320, host.current.clientWidth), height: 220 }));
    resize.observe(host.current);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, []);

  useEffect(() => {
    plot.current?.setData([samples.map((s) => s.t / 1000), ...series.map((s) => samples.map(s.value))] as uPlot.AlignedData);
  }, [samples]);

  // The figures under the chart: the last 10 s (counts as a mean per second, latencies as the latest window).
  const recent = samples.slice(-10);
  const figure = (s: Series) => {
    const values = recent.map(s.value).filter((v): v is number => v !== null);
    if (values.length === 0) return '–';
    return aggregate === 'mean' ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(1) : String(values[values.length - 1]);
  };
  return (
    <figure class="chart" aria-label={title}>
      <figcaption>{title}</figcaption>
      <div ref={host} class="chart-canvas" role="img" aria-label={`${title}, the last 15 minutes`} />
      <dl class="figures">
        {series.map((s) => (
          <div key={s.label}>
            <dt>{s.label}</dt>
            <dd data-series={s.label}>{figure(s)}</dd>
          </div>
        ))}
      </dl>
      <p class="muted">{aggregate === 'mean' ? 'Figures: the mean per second over the last 10 s.' : 'Figures: over the last 10 s.'}</p>
    </figure>
  );
}
