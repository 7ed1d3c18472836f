import { useEffect, useState } from 'preact/hooks';
import { call, clock } from './api.js';
import type { Health, Lag, StreamEntry, TailBatch } from './feed.js';

/** The newest transitions the tail keeps on the page. */
const TAIL_ROWS = 100;

const DEPENDENCIES: [string, string][] = [
  ['kafka', 'Kafka'],
  ['redis', 'Redis'],
  ['db', 'PostgreSQL'],
];

/** Kafka, Redis and PostgreSQL as the service's health check sees them. */
export function HealthPanel({ health }: { health: Health | null }) {
  return (
    <section aria-labelledby="health-title" class="panel">
      <h2 id="health-title">Health</h2>
      <ul class="health">
        {DEPENDENCIES.map(([key, name]) => {
          const status = health?.components?.[key]?.status ?? 'UNKNOWN';
          return (
            <li key={key} class={`badge badge-${status.toLowerCase()}`} data-dependency={key}>
              <span class="badge-name">{name}</span> <span class="badge-status">{status}</span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** Each stage's consumer lag: its total, and a bar per input partition against the largest one. */
export function LagPanel({ lag }: { lag: Lag[] }) {
  const largest = Math.max(1, ...lag.map((l) => l.lag));
  const stages = [...new Set(lag.map((l) => l.stage))];
  return (
    <section aria-labelledby="lag-title" class="panel panel-wide">
      <h2 id="lag-title">Consumer lag</h2>
      {lag.length === 0 && <p>No lag read yet (it is refreshed every few seconds).</p>}
      <ul class="lag-stages">
        {stages.map((stage) => {
          const partitions = lag.filter((l) => l.stage === stage);
          const total = partitions.reduce((sum, l) => sum + l.lag, 0);
          return (
            <li key={stage} data-stage={stage} data-total-lag={total}>
              <span class="lag-name">{stage}</span>
              <span class="lag-total">{total}</span>
              <span class="lag-bars">
                {partitions.map((l) => (
                  <span
                    key={`${l.topic}/${l.partition}`}
                    class="lag-track"
                    role="meter"
                    aria-valuemin={0}
                    aria-valuemax={largest}
                    aria-valuenow={l.lag}
                    aria-label={`${stage}: ${l.topic} partition ${l.partition}`}
                    title={`${l.topic} [${l.partition}]: ${l.lag}`}
                    data-partition={l.partition}
                    data-lag={l.lag}
                  >
                    <span class="lag-fill" style={{ height: `${(100 * l.lag) / largest}%` }} />
                  </span>
                ))}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

interface Page {
  entries: StreamEntry[];
  cursor: string;
  hasMore: boolean;
}

/**
 * The live tail of the global stream, newest first. Paused (or stepped back to a time), it shows the
 * stream from that moment a page at a time, read by /ops/api/stream; Live goes back to the feed.
 */
export function TailPanel({ subscribe, onLookup }: { subscribe: (listener: (batch: TailBatch) => void) => () => void; onLookup: (paymentId: string) => void }) {
  const [live, setLive] = useState<StreamEntry[]>([]);
  const [skipped, setSkipped] = useState(false);
  const [past, setPast] = useState<{ from: number; pages: Page[] } | null>(null);
  useEffect(
    () =>
      subscribe(({ entries, skipped }) => {
        setSkipped(skipped);
        // Newest first; a resumed feed may send an entry again, which is kept once.
        setLive((previous) => {
          const seen = new Set(previous.map((e) => e.id));
          return [...entries.filter((e) => !seen.has(e.id)).reverse(), ...previous].slice(0, TAIL_ROWS);
        });
      }),
    [],
  );
  const [error, setError] = useState<string | null>(null);

  const showFrom = async (from: number) => {
    setError(null);
    try {
      const page = await call<Page>(`/ops/api/stream?from=${from}&limit=50`);
      setPast({ from, pages: [page] });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const more = async () => {
    if (!past) return;
    const last = past.pages[past.pages.length - 1];
    const page = await call<Page>(`/ops/api/stream?from=${past.from}&after=${encodeURIComponent(last.cursor)}&limit=50`);
    setPast({ ...past, pages: [...past.pages, page] });
  };
  const onPickTime = (event: Event) => {
    event.preventDefault();
    const value = (new FormData(event.target as HTMLFormElement).get('from') as string) || '';
    const at = value ? new Date(value).getTime() : NaN;
    if (Number.isFinite(at)) void showFrom(at);
  };

  const rows = past ? past.pages.flatMap((p) => p.entries) : live;
  return (
    <section aria-labelledby="tail-title" class="panel panel-wide">
      <h2 id="tail-title">Live tail {past ? <span class="muted">(from {new Date(past.from).toLocaleString()})</span> : <span class="live-dot">live</span>}</h2>
      <div class="toolbar">
        <button type="button" onClick={() => void showFrom(Date.now() - 60_000)}>
          Back 1 min
        </button>
        <button type="button" onClick={() => void showFrom(Date.now() - 15 * 60_000)}>
          Back 15 min
        </button>
        <form onSubmit={onPickTime} class="inline-form">
          <label for="tail-from">From</label>
          <input id="tail-from" name="from" type="datetime-local" step="1" />
          <button type="submit">Show</button>
        </form>
        {past && (
          <button type="button" onClick={() => setPast(null)}>
            Back to live
          </button>
        )}
      </div>
      {error && <p role="alert">{error}</p>}
      {!past && skipped && <p class="muted">The stream runs faster than a page shows: the tail is a sample of it.</p>}
      {/* Scrolls on its own; focusable so that a keyboard can scroll it too. */}
      <div class="scroll" tabIndex={0} role="region" aria-label="Payment transitions, scrollable">
        <table aria-label="Payment transitions" class="tail">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Payment</th>
              <th scope="col">Status</th>
              <th scope="col">Stage</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((entry) => (
              <tr key={entry.id} data-payment-id={entry.paymentId} data-status={entry.status}>
                <td>{clock(entry.at)}</td>
                <td>
                  <button type="button" class="link" onClick={() => onLookup(entry.paymentId)} aria-label={`Look up payment ${entry.paymentId}`}>
                    <code>{entry.paymentId}</code>
                  </button>
                </td>
                <td>
                  <span class={`status status-${entry.status.toLowerCase()}`}>{entry.status}</span>
                </td>
                <td>{entry.stage}</td>
                <td>{entry.reason ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {past && past.pages[past.pages.length - 1].hasMore && (
        <button type="button" onClick={() => void more()}>
          Later entries
        </button>
      )}
    </section>
  );
}
