/** The live feed's messages as the server sends them (src/ops/console-feed.ts). */

export interface Sample {
  t: number;
  accepted: number;
  completed: number;
  declined: number;
  rejected: number;
  failed: number;
  httpP50: number | null;
  httpP99: number | null;
  endToEndP50: number | null;
  endToEndP99: number | null;
}

export interface Lag {
  stage: string;
  topic: string;
  partition: number;
  lag: number;
}

export interface Health {
  status: 'UP' | 'DOWN';
  components?: Record<string, { status: 'UP' | 'DOWN'; details?: Record<string, unknown> }>;
}

export interface StreamEntry {
  id: string;
  paymentId: string;
  status: string;
  stage: string;
  at: string;
  reason?: string;
}

export interface FeedHandlers {
  hello(data: { samples: Sample[]; lag: Lag[]; health: Health | null; cursor: string }): void;
  sample(data: { sample: Sample; lag: Lag[] }): void;
  health(data: Health): void;
  tail(data: { entries: StreamEntry[]; skipped: boolean }): void;
  /** The feed is down (the browser retries by itself); `ended` when the server refused it (signed out). */
  trouble(ended: boolean): void;
  connected(): void;
}

/**
 * Opens the feed (Server-Sent Events). The browser reconnects by itself after a drop and sends the
 * last tail id it saw (Last-Event-ID), so the tail resumes where it was.
 */
export function openFeed(handlers: FeedHandlers): () => void {
  const source = new EventSource('/ops/api/feed');
  const on = <K extends 'hello' | 'sample' | 'health' | 'tail'>(event: K) =>
    source.addEventListener(event, (message) => (handlers[event] as (data: unknown) => void)(JSON.parse((message as MessageEvent<string>).data)));
  on('hello');
  on('sample');
  on('health');
  on('tail');
  source.addEventListener('open', () => handlers.connected());
  source.addEventListener('error', () => handlers.trouble(source.readyState === EventSource.CLOSED));
  return () => source.close();
}
