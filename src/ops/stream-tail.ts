import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { GlobalStreamCursor, GlobalStreamEntry } from '../state/global-stream.js';
import { PaymentStateStore } from '../state/payment-state.store.js';

/** What the tail pushes to its pages: new transitions, where they end (to resume from), and how many it passed over. */
export interface TailBatch {
  entries: GlobalStreamEntry[];
  cursor: string;
  skipped: boolean;
}

/** At most this many transitions per push: a page shows a readable sample, not thousands a second. */
export const TAIL_PAGE = 50;
/** How long one blocking read waits for something new. */
const BLOCK_MS = 1000;
/** Pushes at most twice a second, however fast the stream grows. */
const PACE_MS = 500;

/**
 * One reader of the global Redis stream for every open console page of this instance: it runs while
 * at least one page listens and stops with the last. It reads at most TAIL_PAGE entries per push,
 * and when the stream runs ahead of that (a busy pipeline writes thousands a second), it jumps to the
 * stream's end and says so: the tail is a live sample, the stream itself keeps everything, and a page
 * steps back through it by time (`page`).
 */
@Injectable()
export class StreamTail implements OnModuleDestroy {
  private readonly logger = new Logger(StreamTail.name);
  private readonly listeners = new Set<(batch: TailBatch) => void>();
  private running?: Promise<void>;
  private lastError = '';

  constructor(private readonly store: PaymentStateStore) {}

  /** Calls `listener` with each batch of new transitions; returns the unsubscribe. */
  subscribe(listener: (batch: TailBatch) => void): () => void {
    this.listeners.add(listener);
    this.start();
    return () => this.listeners.delete(listener);
  }

  /** The entries after a cursor token (a page reconnecting with Last-Event-ID), up to TAIL_PAGE. */
  async after(token: string): Promise<TailBatch> {
    const page = await this.store.globalEntries(decodeCursor(token, this.store.globalStreams()), TAIL_PAGE);
    // A full page: more was missed than a push shows, which the page says (the live tail goes on from the end).
    return { entries: page.entries, cursor: encodeCursor(page.cursor), skipped: page.entries.length === TAIL_PAGE };
  }

  /** The stream from a moment on (stream ids are times), for stepping back; `after` continues a page. */
  async page(fromMs: number, after: string | undefined, count: number): Promise<TailBatch & { hasMore: boolean }> {
    const streams = this.store.globalStreams();
    // The largest id of the millisecond before: globalEntries reads after it, so `fromMs-0` is included.
    const cursor = after !== undefined ? decodeCursor(after, streams) : Object.fromEntries(streams.map((s) => [s, `${Math.max(0, fromMs - 1)}-18446744073709551615`]));
    const page = await this.store.globalEntries(cursor, count);
    // A full page may have more behind it; the next call tells.
    return { entries: page.entries, cursor: encodeCursor(page.cursor), skipped: false, hasMore: page.entries.length === count };
  }

  /** The current end of the stream, as a cursor token: a page that opens starts there. */
  async head(): Promise<string> {
    return encodeCursor(await this.store.globalHead());
  }

  /** One reader at a time; a listener that came while the last one was stopping starts the next. */
  private start(): void {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.listeners.size > 0) this.start();
    });
  }

  private async run(): Promise<void> {
    const reader = this.store.tailReader(BLOCK_MS);
    try {
      let cursor: GlobalStreamCursor | undefined;
      while (this.listeners.size > 0) {
        try {
          cursor ??= await this.store.globalHead();
          const page = await reader.read(cursor, TAIL_PAGE);
          let skipped = false;
          cursor = page.cursor;
          if (page.entries.length === TAIL_PAGE) {
            // More is waiting than a page shows: go on from the end rather than fall ever further behind.
            cursor = await this.store.globalHead();
            skipped = true;
          }
          if (page.entries.length > 0) {
            const batch = { entries: page.entries, cursor: encodeCursor(cursor), skipped };
            for (const listener of this.listeners) listener(batch);
            await sleep(PACE_MS);
          }
          this.lastError = '';
        } catch (error) {
          // Redis away: the pages keep what they have; the reader tries again shortly.
          const message = (error as Error).message;
          if (message !== this.lastError) this.logger.warn(`Console tail paused: ${message}`);
          this.lastError = message;
          await sleep(BLOCK_MS);
        }
      }
    } finally {
      reader.close();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.listeners.clear();
    await this.running;
  }
}

/** A cursor as one opaque, URL- and header-safe token (base64url JSON of each part's last id). */
export function encodeCursor(cursor: GlobalStreamCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** The cursor of a token, keeping only this deployment's parts; InvalidCursor when it is not one. */
export function decodeCursor(token: string, streams: string[]): GlobalStreamCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidCursor();
  const cursor: GlobalStreamCursor = {};
  for (const stream of streams) {
    const id = (parsed as Record<string, unknown>)[stream];
    if (id === undefined) continue;
    if (typeof id !== 'string' || !/^\d{1,20}-\d{1,20}$/.test(id)) throw new InvalidCursor();
    cursor[stream] = id;
  }
  return cursor;
}

export class InvalidCursor extends Error {
  constructor() {
    super('not a cursor of the global stream');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
