import { describe, expect, it } from '@jest/globals';
import type { GlobalStreamCursor, GlobalStreamEntry, GlobalTailReader } from '../state/global-stream.js';
import type { PaymentStateStore } from '../state/payment-state.store.js';
import { decodeCursor, encodeCursor, InvalidCursor, StreamTail, TAIL_PAGE, type TailBatch } from './stream-tail.js';

const entry = (ms: number): GlobalStreamEntry => ({ id: `${ms}-0`, paymentId: `p-${ms}`, status: 'PENDING', stage: 'intake', at: new Date(ms).toISOString() });

/** A store whose stream is an array: the reader returns what follows the cursor, `count` at most. */
function fakeStore(stream: GlobalStreamEntry[]) {
  const state = { readers: 0, closed: 0, reads: 0 };
  const after = (cursor: GlobalStreamCursor) => stream.filter((e) => Number(e.id.split('-')[0]) > Number((cursor.payments ?? '0-0').split('-')[0]));
  const store = {
    globalStreams: () => ['payments'],
    globalHead: async () => ({ payments: stream.at(-1)?.id ?? '0-0' }),
    globalEntries: async (cursor: GlobalStreamCursor, count: number) => {
      const entries = after(cursor).slice(0, count);
      return { entries, cursor: entries.length ? { payments: entries.at(-1)!.id } : cursor };
    },
    tailReader: (): GlobalTailReader => {
      state.readers++;
      return {
        read: async (cursor, count) => {
          state.reads++;
          await new Promise((resolve) => setTimeout(resolve, 5));
          const entries = after(cursor).slice(0, count);
          return { entries, cursor: entries.length ? { payments: entries.at(-1)!.id } : cursor };
        },
        close: () => void state.closed++,
      };
    },
  };
  return { store: store as unknown as PaymentStateStore, state };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('StreamTail', () => {
  it('reads once for every listener, from the end of the stream, and stops reading with the last listener', async () => {
    const stream = [entry(1)];
    const { store, state } = fakeStore(stream);
    const tail = new StreamTail(store);
    const [first, second]: TailBatch[][] = [[], []];
    const stopFirst = tail.subscribe((b) => first.push(b));
    const stopSecond = tail.subscribe((b) => second.push(b));
    await until(() => state.reads > 0);
    stream.push(entry(2), entry(3));
    await until(() => first.length > 0 && second.length > 0);
    expect(first[0].entries.map((e) => e.id)).toEqual(['2-0', '3-0']); // not entry 1: it was there before
    expect(second).toEqual(first);
    expect(decodeCursor(first[0].cursor, ['payments'])).toEqual({ payments: '3-0' });
    expect(state.readers).toBe(1);
    stopFirst();
    stopSecond();
    await until(() => state.closed === 1);
    expect(state.closed).toBe(1);
  });

  it('jumps to the end and says so when more is waiting than a page shows', async () => {
    const stream: GlobalStreamEntry[] = [];
    const { store } = fakeStore(stream);
    const tail = new StreamTail(store);
    const batches: TailBatch[] = [];
    const stop = tail.subscribe((b) => batches.push(b));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let ms = 1; ms <= TAIL_PAGE * 3; ms++) stream.push(entry(ms));
    await until(() => batches.length > 0);
    stop();
    expect(batches[0]).toMatchObject({ skipped: true });
    expect(batches[0].entries).toHaveLength(TAIL_PAGE);
    expect(decodeCursor(batches[0].cursor, ['payments'])).toEqual({ payments: `${TAIL_PAGE * 3}-0` });
  });

  it("resumes after a page's last id, and steps back to a moment by its stream id", async () => {
    const { store } = fakeStore([entry(10), entry(20), entry(30)]);
    const tail = new StreamTail(store);
    expect((await tail.after(encodeCursor({ payments: '10-0' }))).entries.map((e) => e.id)).toEqual(['20-0', '30-0']);
    const page = await tail.page(20, undefined, 1);
    expect(page).toMatchObject({ entries: [{ id: '20-0' }], hasMore: true });
    expect((await tail.page(20, page.cursor, 5)).entries.map((e) => e.id)).toEqual(['30-0']);
  });
});

describe('cursor tokens', () => {
  it("round-trip, keep only this deployment's parts, and refuse anything else", () => {
    expect(decodeCursor(encodeCursor({ payments: '5-1', other: '9-9' }), ['payments'])).toEqual({ payments: '5-1' });
    for (const bad of ['%%%', Buffer.from('"text"').toString('base64url'), encodeCursor({ payments: '5-x' } as GlobalStreamCursor)]) {
      expect(() => decodeCursor(bad, ['payments'])).toThrow(InvalidCursor);
    }
  });
});
