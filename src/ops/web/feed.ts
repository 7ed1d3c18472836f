/** The live feed's messages as the server sends them (src/ops/console-feed.ts), in the server's own types. */
import type { GlobalStreamEntry } from '../../state/global-stream.js';
import type { ConsoleLag, ConsoleSample } from '../feed-types.js';
import { knownSession } from './api.js';

export type Sample = ConsoleSample;
export type Lag = ConsoleLag;
export type StreamEntry = GlobalStreamEntry;

export interface Health {
  status: 'UP' | 'DOWN';
  components?: Record<string, { status: 'UP' | 'DOWN'; details?: Record<string, unknown> }>;
}

/** One push of the live tail: new transitions, oldest first; `skipped` when the stream ran ahead of what a push shows. */
export interface TailBatch {
  entries: StreamEntry[];
  skipped: boolean;
}

/** The feed's events and what each carries. */
export interface FeedEvents {
  hello: { samples: Sample[]; lag: Lag[]; health: Health | null; cursor: string };
  sample: { sample: Sample; lag: Lag[] };
  health: Health;
  tail: TailBatch;
}

/**
 * Hands each feed event to the panels that show it, so that an event re-renders those panels only
 * (the tail twice a second, the charts once), not the whole console.
 */
export class FeedHub {
  private readonly listeners = new Map<keyof FeedEvents, Set<(data: never) => void>>();
  /** The last hello, for a panel that subscribes after it came. */
  hello: FeedEvents['hello'] | null = null;

  on<K extends keyof FeedEvents>(event: K, listener: (data: FeedEvents[K]) => void): () => void {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set);
    set.add(listener as (data: never) => void);
    return () => set.delete(listener as (data: never) => void);
  }

  emit<K extends keyof FeedEvents>(event: K, data: FeedEvents[K]): void {
    if (event === 'hello') this.hello = data as FeedEvents['hello'];
    for (const listener of this.listeners.get(event) ?? []) (listener as (data: FeedEvents[K]) => void)(data);
  }
}

/** How long a refused feed waits before it asks whether the session still stands. */
const REFUSED_WAIT_MS = 2_000;

/**
 * Keeps the feed (Server-Sent Events) open into `hub`. The browser reconnects by itself after a drop
 * and sends the last tail id it saw (Last-Event-ID), so the tail resumes where it was. When the server
 * refuses a reconnect (an instance shutting down, Redis away, the session gone), the browser gives up:
 * the feed then asks for the session (knownSession), signs out only when it is gone, and otherwise
 * opens a new feed from the same tail id, so that a restart of the service does not sign its operators out.
 */
export function openFeed(hub: FeedHub, status: { connected(): void; retrying(): void; signedOut(): void }): () => void {
  const abort = new AbortController();
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastId = '';
  const open = () => {
    const feed = new EventSource(lastId ? `/ops/api/feed?after=${encodeURIComponent(lastId)}` : '/ops/api/feed');
    source = feed;
    for (const event of ['hello', 'sample', 'health', 'tail'] as const) {
      feed.addEventListener(event, (message) => {
        const { data, lastEventId } = message as MessageEvent<string>;
        if (lastEventId) lastId = lastEventId;
        hub.emit(event, JSON.parse(data) as never);
      });
    }
    feed.addEventListener('open', () => status.connected());
    feed.addEventListener('error', () => {
      status.retrying();
      if (feed.readyState === EventSource.CLOSED) timer = setTimeout(reopenIfSignedIn, REFUSED_WAIT_MS);
    });
  };
  const reopenIfSignedIn = () =>
    void knownSession(abort.signal).then((session) => {
      if (abort.signal.aborted) return;
      if (session === null) status.signedOut();
      else open();
    });
  open();
  return () => {
    abort.abort();
    clearTimeout(timer);
    source?.close();
  };
}
