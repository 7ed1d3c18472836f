import { useEffect, useState } from 'preact/hooks';
import { call, clock } from './api.js';

interface DeadLetter {
  id: string;
  topic: string;
  partition: number;
  offset: string;
  paymentId: string | null;
  error: string;
  attempts: number;
  createdAt: string;
  replayedAt: string | null;
}

/** Polls `load` every `everyMs` while the panel is shown; returns the latest result and a refresh. */
function usePolled<T>(load: () => Promise<T>, everyMs: number): { value: T | null; error: string | null; refresh: () => Promise<void> } {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = async () => {
    try {
      setValue(await load());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), everyMs);
    return () => clearInterval(timer);
  }, []);
  return { value, error, refresh };
}

/** Dead letters, newest first, each with its error and a Replay (the existing replay endpoint). */
export function DeadLettersPanel({ onLookup }: { onLookup: (paymentId: string) => void }) {
  const letters = usePolled(async () => (await call<{ deadLetters: DeadLetter[] }>('/api/admin/dead-letters?limit=50')).deadLetters, 5000);
  const [message, setMessage] = useState<string | null>(null);
  const replay = async (letter: DeadLetter) => {
    try {
      await call(`/api/admin/dead-letters/${letter.id}/replay`, { method: 'POST' });
      setMessage(`Dead letter ${letter.id} was published to ${letter.topic} again.`);
      await letters.refresh();
    } catch (e) {
      setMessage(`Replay of ${letter.id} failed: ${(e as Error).message}`);
    }
  };
  return (
    <section aria-labelledby="dlt-title" class="panel panel-wide">
      <h2 id="dlt-title">Dead letters</h2>
      {letters.error && <p role="alert">{letters.error}</p>}
      <p role="status" class="muted">
        {message ?? ''}
      </p>
      {letters.value?.length === 0 && <p>No dead letters.</p>}
      {letters.value && letters.value.length > 0 && (
        <table aria-label="Dead letters, newest first">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Topic</th>
              <th scope="col">Payment</th>
              <th scope="col">Error</th>
              <th scope="col">Replayed</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {letters.value.map((letter) => (
              <tr key={letter.id} data-dead-letter={letter.id} data-payment-id={letter.paymentId ?? ''}>
                <td>{clock(letter.createdAt)}</td>
                <td>
                  {letter.topic} [{letter.partition}] @{letter.offset}
                </td>
                <td>
                  {letter.paymentId ? (
                    <button type="button" class="link" onClick={() => onLookup(letter.paymentId!)} aria-label={`Look up payment ${letter.paymentId}`}>
                      <code>{letter.paymentId}</code>
                    </button>
                  ) : (
                    '–'
                  )}
                </td>
                <td class="error-text">{letter.error}</td>
                <td data-replayed={letter.replayedAt ? 'yes' : 'no'}>{letter.replayedAt ? clock(letter.replayedAt) : 'no'}</td>
                <td>
                  <button type="button" onClick={() => void replay(letter)} aria-label={`Replay dead letter ${letter.id}`}>
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface Endpoint {
  id: string;
  merchantId: string;
  url: string;
  events: string[];
  status: string;
  disabledReason: string | null;
}

interface Delivery {
  id: string;
  eventType: string;
  status: string;
  attempts: { attemptedAt: string; statusCode: number | null; durationMs: number; error: string | null }[];
  nextAttemptAt: string | null;
  createdAt: string;
}

/** Webhook endpoints and, for the one picked, its latest deliveries with their attempts. */
export function WebhooksPanel() {
  const endpoints = usePolled(async () => (await call<{ data: Endpoint[] }>('/api/webhook-endpoints')).data, 10_000);
  const [picked, setPicked] = useState<Endpoint | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const show = async (endpoint: Endpoint) => {
    setPicked(endpoint);
    setDeliveries((await call<{ data: Delivery[] }>(`/api/webhook-endpoints/${endpoint.id}/deliveries`)).data.slice(0, 20));
  };
  return (
    <section aria-labelledby="webhooks-title" class="panel panel-wide">
      <h2 id="webhooks-title">Webhooks</h2>
      {endpoints.error && <p role="alert">{endpoints.error}</p>}
      {endpoints.value?.length === 0 && <p>No webhook endpoints.</p>}
      {endpoints.value && endpoints.value.length > 0 && (
        <table aria-label="Webhook endpoints">
          <thead>
            <tr>
              <th scope="col">Merchant</th>
              <th scope="col">URL</th>
              <th scope="col">Status</th>
              <th scope="col">Deliveries</th>
            </tr>
          </thead>
          <tbody>
            {endpoints.value.map((endpoint) => (
              <tr key={endpoint.id}>
                <td>{endpoint.merchantId}</td>
                <td>
                  <code>{endpoint.url}</code>
                </td>
                <td>
                  {endpoint.status}
                  {endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}
                </td>
                <td>
                  <button type="button" onClick={() => void show(endpoint)} aria-label={`Show deliveries to ${endpoint.url}`}>
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {picked && deliveries && (
        <>
          <h3>Latest deliveries to {picked.url}</h3>
          <table aria-label="Webhook deliveries">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Next attempt</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id}>
                  <td>{clock(d.createdAt)}</td>
                  <td>{d.eventType}</td>
                  <td>{d.status}</td>
                  <td>{d.attempts.map((a) => a.statusCode ?? a.error ?? 'no answer').join(', ') || '–'}</td>
                  <td>{d.nextAttemptAt ? clock(d.nextAttemptAt) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
