/** The live feed's messages as the server sends them (src/ops/console-feed.ts), in the server's own types. */
import type { GlobalStreamEntry } from '../../state/global-stream.js';
import type { ConsoleLag, ConsoleSample } from '../feed-types.js';

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

/**
 * Opens the feed (Server-Sent Events) into `hub`. The browser reconnects by itself after a drop and
 * sends the last tail id it saw (Last-Event-ID), so the tail resumes where it was. `trouble` says the
 * feed is down (the browser retries), `ended` when the server refused it (signed out).
 */
export function openFeed(hub: FeedHub, status: { connected(): void; trouble(ended: boolean): void }): () => void {
  const source = new EventSource('/ops/api/feed');
  for (const event of ['hello', 'sample', 'health', 'tail'] as const) {
    source.addEventListener(event, (message) => hub.emit(event, JSON.parse((message as MessageEvent<string>).data) as never));
  }
  source.addEventListener('open', () => status.connected());
  source.addEventListener('error', () => status.trouble(source.readyState === EventSource.CLOSED));
  return () => source.close();
}
