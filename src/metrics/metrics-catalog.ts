import { register, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

export interface ActuatorMeasurement {
  statistic: 'COUNT' | 'TOTAL' | 'TOTAL_TIME' | 'VALUE';
  value: number;
}

/** Spring Boot Actuator's `/actuator/metrics/{name}` answer. */
export interface ActuatorMetric {
  name: string;
  description: string;
  baseUnit: string | null;
  measurements: ActuatorMeasurement[];
  availableTags: { tag: string; values: string[] }[];
}

/** Labels that describe a bucket or quantile rather than the thing measured. */
const STRUCTURAL_LABELS = new Set(['le', 'quantile']);
/** Units Micrometer's Prometheus naming appends to a meter's name (and so which a dotted name drops). */
const BASE_UNITS = ['seconds', 'bytes'];

/**
 * Reads prom-client's registry in the shape of Actuator's metrics endpoint, under Micrometer's dotted
 * names (`http_server_requests_seconds` is `http.server.requests`): counters are a COUNT, gauges a
 * VALUE, histograms and summaries a COUNT and a TOTAL (TOTAL_TIME for seconds), each summed over the
 * series that match the `tag` filter.
 */
export class MetricsCatalog {
  constructor(private readonly registry: Registry = register) {}

  /** Dotted name to Prometheus name, for every metric registered now. */
  private byDottedName(): Map<string, string> {
    return new Map(this.registry.getMetricsAsArray().map((m) => [micrometerName(m.name), m.name]));
  }

  names(): string[] {
    return [...this.byDottedName().keys()].sort();
  }

  /** The metric, or null when there is no such name or no series matches the tags (Actuator answers 404). */
  async describe(dottedName: string, tags: Record<string, string> = {}): Promise<ActuatorMetric | null> {
    const name = this.byDottedName().get(dottedName);
    const metric = name === undefined ? undefined : this.registry.getSingleMetric(name);
    if (!name || !metric) return null;
    const json = (await metric.get()) as MetricObjectWithValues<MetricValue<string>>;
    const matching = json.values.filter((v) => Object.entries(tags).every(([tag, value]) => String(v.labels[tag]) === value));
    if (matching.length === 0 && Object.keys(tags).length > 0) return null;
    const unit = baseUnitOf(name);
    return {
      name: dottedName,
      description: json.help,
      baseUnit: unit,
      measurements: measure(String(json.type), matching, unit),
      availableTags: availableTags(matching, new Set(Object.keys(tags))),
    };
  }
}

function measure(type: string, values: MetricValue<string>[], unit: string | null): ActuatorMeasurement[] {
  const sum = (select: (v: MetricValue<string> & { metricName?: string }) => boolean) =>
    values.filter(select).reduce((total, v) => total + v.value, 0);
  if (type === 'histogram' || type === 'summary') {
    const named = (suffix: string) => (v: { metricName?: string }) => v.metricName?.endsWith(suffix) ?? false;
    return [
      { statistic: 'COUNT', value: sum(named('_count')) },
      { statistic: unit === 'seconds' ? 'TOTAL_TIME' : 'TOTAL', value: sum(named('_sum')) },
    ];
  }
  return [{ statistic: type === 'counter' ? 'COUNT' : 'VALUE', value: sum(() => true) }];
}

function availableTags(values: MetricValue<string>[], filtered: Set<string>): { tag: string; values: string[] }[] {
  const byTag = new Map<string, Set<string>>();
  for (const { labels } of values) {
    for (const [tag, value] of Object.entries(labels)) {
      if (STRUCTURAL_LABELS.has(tag) || filtered.has(tag) || value === undefined) continue;
      byTag.set(tag, (byTag.get(tag) ?? new Set()).add(String(value)));
    }
  }
  return [...byTag].sort(([a], [b]) => a.localeCompare(b)).map(([tag, set]) => ({ tag, values: [...set].sort() }));
}

/** Prometheus names end in their base unit (`_seconds`, `_bytes`), before a counter's `_total`. */
export function baseUnitOf(name: string): string | null {
  const words = name.replace(/_total$/, '').split('_');
  return BASE_UNITS.find((unit) => words.at(-1) === unit) ?? null;
}

/**
 * The Micrometer name a Prometheus name was rendered from: Micrometer appends the base unit and a
 * counter's `_total`, and writes dots as underscores (`payments_accepted_total` is `payments.accepted`).
 */
export function micrometerName(name: string): string {
  const unit = baseUnitOf(name);
  const bare = name.replace(/_total$/, '');
  return (unit ? bare.slice(0, -(unit.length + 1)) : bare).replaceAll('_', '.');
}

/** `?tag=key:value` (repeatable) as a map; null when one is not of that form. */
export function parseTags(query: string | string[] | undefined): Record<string, string> | null {
  const tags: Record<string, string> = {};
  for (const item of query === undefined ? [] : Array.isArray(query) ? query : [query]) {
    const colon = item.indexOf(':');
    if (colon <= 0) return null;
    tags[item.slice(0, colon)] = item.slice(colon + 1);
  }
  return tags;
}
