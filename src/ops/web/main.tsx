import 'uplot/dist/uPlot.min.css';
import './console.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, knownSession, rememberSession, signIn, signOut, type Session } from './api.js';
import { DeadLettersPanel, WebhooksPanel } from './admin-panels.js';
import { LATENCY, THROUGHPUT, TimeChart } from './charts.js';
import { FeedHub, openFeed, type Health, type Lag, type Sample } from './feed.js';
import { HealthPanel, LagPanel, TailPanel } from './live-panels.js';
import { LookupPanel } from './lookup-panels.js';

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [unavailable, setUnavailable] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    void knownSession(abort.signal, setUnavailable).then((known) => {
      if (abort.signal.aborted) return;
      rememberSession(known);
      setUnavailable(null);
      setSession(known);
    });
    return () => abort.abort();
  }, []);
  if (session === undefined) {
    return (
      <p class="boot" role="status">
        {unavailable === null ? 'Loading the console…' : `The console cannot check its session right now (${unavailable}). Retrying…`}
      </p>
    );
  }
  if (session === null) return <SignIn onSignedIn={(s) => (rememberSession(s), setSession(s))} />;
  return (
    <Console
      session={session}
      onSignedOut={() => {
        rememberSession(null);
        setSession(null);
      }}
    />
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const key = String(new FormData(form).get('apiKey') ?? '').trim();
    form.reset(); // the page keeps no copy of the key
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await signIn(key));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'That is not an admin API key of this deployment.' : e instanceof ApiError && e.status === 403 ? 'That key is a merchant key; the console needs an admin key.' : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Payments operations console</h1>
      <form onSubmit={(event) => void submit(event)} aria-describedby="sign-in-help">
        <label for="api-key">Admin API key</label>
        <input id="api-key" name="apiKey" type="password" autocomplete="off" required spellcheck={false} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <p id="sign-in-help" class="muted">
          An operator key (ADMIN_API_KEYS; mint one with <code>npm run apikey -- --admin</code>). It is sent once, in a header; the browser then keeps only a session cookie.
        </p>
        {error && <p role="alert">{error}</p>}
      </form>
    </main>
  );
}

function Console({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const [hub] = useState(() => new FeedHub());
  const [connection, setConnection] = useState<'connecting' | 'live' | 'retrying'>('connecting');
  const [lookup, setLookup] = useState<{ paymentId: string; at: number } | null>(null);

  useEffect(
    () =>
      openFeed(hub, { connected: () => setConnection('live'), retrying: () => setConnection('retrying'), signedOut: onSignedOut }),
    [],
  );

  const who = session.principal.kind === 'admin' ? `admin key ${session.principal.keyId}` : 'open API (no keys configured)';
  const showPayment = (paymentId: string) => setLookup({ paymentId, at: Date.now() });
  return (
    <>
      <a class="skip" href="#main">
        Skip to the console
      </a>
      <header class="top">
        <h1>Payments operations console</h1>
        <nav aria-label="Sections">
          <a href="#throughput-title">Throughput</a> <a href="#lag-title">Lag</a> <a href="#tail-title">Live tail</a> <a href="#lookup-title">Lookup</a> <a href="#dlt-title">Dead letters</a>{' '}
          <a href="#webhooks-title">Webhooks</a>
        </nav>
        <p class="who">
          <span class={`feed feed-${connection}`} role="status">
            feed {connection}
          </span>{' '}
          Signed in: {who}{' '}
          <button type="button" onClick={() => void signOut().catch(() => undefined).finally(onSignedOut)}>
            Sign out
          </button>
        </p>
      </header>
      <main id="main">
        <div class="grid">
          <Overview hub={hub} />
          <TailPanel subscribe={(listener) => hub.on('tail', listener)} onLookup={showPayment} />
          <LookupPanel requested={lookup} />
          <DeadLettersPanel onLookup={showPayment} />
          <WebhooksPanel />
        </div>
      </main>
    </>
  );
}

/** Health, the charts and the lag: what changes once a second. */
function Overview({ hub }: { hub: FeedHub }) {
  const [samples, setSamples] = useState<Sample[]>(hub.hello?.samples ?? []);
  const [lag, setLag] = useState<Lag[]>(hub.hello?.lag ?? []);
  const [health, setHealth] = useState<Health | null>(hub.hello?.health ?? null);
  useEffect(() => {
    const stops = [
      hub.on('hello', (data) => {
        setSamples(data.samples);
        setLag(data.lag);
        if (data.health) setHealth(data.health);
      }),
      hub.on('sample', ({ sample, lag }) => {
        setSamples((previous) => [...previous.slice(-(15 * 60 - 1)), sample]);
        setLag(lag);
      }),
      hub.on('health', setHealth),
    ];
    return () => stops.forEach((stop) => stop());
  }, []);
  return (
    <>
      <HealthPanel health={health} />
      <section aria-labelledby="throughput-title" class="panel panel-wide">
        <h2 id="throughput-title">Throughput and latency</h2>
        <TimeChart title="Payments per second" unit="per second" series={THROUGHPUT} samples={samples} aggregate="mean" />
        <TimeChart title="Latency" unit="ms" series={LATENCY} samples={samples} aggregate="latest" />
      </section>
      <LagPanel lag={lag} />
    </>
  );
}

render(<App />, document.getElementById('app')!);
