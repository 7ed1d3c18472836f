import { describe, expect, it, jest } from '@jest/globals';
import { Coalescer, WithdrawnError } from './coalescer.js';

/** A batch runner that records its batches and can be held open to let items pile up. */
function recorder<O>(answer: (item: number) => PromiseSettledResult<O>) {
  const batches: number[][] = [];
  let release: () => void = () => undefined;
  let held: Promise<void> | null = null;
  return {
    batches,
    hold() {
      held = new Promise((resolve) => (release = resolve));
    },
    release: () => {
      held = null;
      release();
    },
    run: async (items: number[]) => {
      batches.push(items);
      if (held) await held;
      return items.map(answer);
    },
  };
}

const ok = (item: number): PromiseSettledResult<number> => ({ status: 'fulfilled', value: item * 10 });

describe('Coalescer', () => {
  it('runs the calls of one event-loop turn as one batch and answers each caller with its own result', async () => {
    const runner = recorder(ok);
    const coalescer = new Coalescer({ maxBatchSize: 100, lingerMs: 0, run: runner.run });
    const results = await Promise.all([1, 2, 3].map((n) => coalescer.submit(n)));
    expect(results).toEqual([10, 20, 30]);
    expect(runner.batches).toEqual([[1, 2, 3]]);
  });

  it('fills a batch up to maxBatchSize in sizeOf units, and takes one item bigger than that alone', async () => {
    const runner = recorder(ok);
    const coalescer = new Coalescer({ maxBatchSize: 10, lingerMs: 0, sizeOf: (n: number) => n, run: runner.run });
    await Promise.all([4, 5, 2, 12, 3].map((n) => coalescer.submit(n)));
    expect(runner.batches).toEqual([[4, 5], [2], [12], [3]]);
  });

  it('gathers items that arrive while a batch runs into the next one, in submission order', async () => {
    const runner = recorder(ok);
    const coalescer = new Coalescer({ maxBatchSize: 100, lingerMs: 0, run: runner.run });
    runner.hold();
    const first = coalescer.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => coalescer.submit(n));
    runner.release();
    await Promise.all([first, ...later]);
    expect(runner.batches).toEqual([[1], [2, 3, 4]]);
    expect(coalescer.averageBatchSize).toBe(2);
  });

  it('never puts more than maxBatchSize items in one batch', async () => {
    const runner = recorder(ok);
    const coalescer = new Coalescer({ maxBatchSize: 2, lingerMs: 0, run: runner.run });
    await Promise.all([1, 2, 3, 4, 5].map((n) => coalescer.submit(n)));
    expect(runner.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('waits lingerMs for company before the first batch, and no longer', async () => {
    // Fake timers: on a busy machine a real 5 ms wait can outlast a 20 ms linger.
    jest.useFakeTimers();
    try {
      const runner = recorder(ok);
      const coalescer = new Coalescer({ maxBatchSize: 100, lingerMs: 20, run: runner.run });
      const first = coalescer.submit(1);
      await jest.advanceTimersByTimeAsync(19);
      const second = coalescer.submit(2);
      expect(runner.batches).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      await Promise.all([first, second]);
      expect(runner.batches).toEqual([[1, 2]]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('fails only the item whose result is rejected', async () => {
    const runner = recorder<number>((n) => (n === 2 ? { status: 'rejected', reason: new Error('two') } : ok(n)));
    const coalescer = new Coalescer({ maxBatchSize: 100, lingerMs: 0, run: runner.run });
    const settled = await Promise.allSettled([1, 2, 3].map((n) => coalescer.submit(n)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('fails every item of a batch that throws, and goes on with the next batch', async () => {
    let calls = 0;
    const coalescer = new Coalescer<number, number>({
      maxBatchSize: 1,
      lingerMs: 0,
      run: async (items) => {
        if (calls++ === 0) throw new Error('broker gone');
        return items.map(ok);
      },
    });
    const settled = await Promise.allSettled([1, 2].map((n) => coalescer.submit(n)));
    expect(settled[0]).toEqual({ status: 'rejected', reason: new Error('broker gone') });
    expect(settled[1]).toEqual({ status: 'fulfilled', value: 20 });
  });

  it('withdraws an item whose caller gave up while it was still queued, so it is never run', async () => {
    const runner = recorder(ok);
    const coalescer = new Coalescer({ maxBatchSize: 100, lingerMs: 0, run: runner.run });
    runner.hold();
    const first = coalescer.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const ticket = { withdrawn: false };
    const abandoned = coalescer.submit(2, ticket);
    const kept = coalescer.submit(3);
    ticket.withdrawn = true;
    runner.release();
    await expect(abandoned).rejects.toBeInstanceOf(WithdrawnError);
    await Promise.all([first, kept]);
    expect(runner.batches).toEqual([[1], [3]]);
  });

  it('drain() resolves once everything submitted has run', async () => {
    const runner = recorder(ok);
    const coalescer = new Coalescer({ maxBatchSize: 100, lingerMs: 50, run: runner.run });
    void coalescer.submit(1);
    void coalescer.submit(2);
    await coalescer.drain();
    expect(runner.batches).toEqual([[1, 2]]);
    expect(coalescer.waiting).toBe(0);
  });
});
