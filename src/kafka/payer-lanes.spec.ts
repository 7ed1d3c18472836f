import { describe, expect, it } from '@jest/globals';
import type { KafkaMessage } from 'kafkajs';
import { chunksOf, committableOffsets, forEachLimited, lanesByKey } from './payer-lanes.js';

const message = (offset: number, key: string | null): KafkaMessage =>
  ({ offset: String(offset), key: key === null ? null : Buffer.from(key), value: null, timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;

describe('payer lanes', () => {
  it("keeps each payer's messages together and in offset order", () => {
    const batch = [message(0, 'a'), message(1, 'b'), message(2, 'a'), message(3, null), message(4, 'b'), message(5, 'a')];
    const lanes = lanesByKey(batch).map((lane) => lane.map((m) => `${m.key?.toString() ?? '-'}${m.offset}`));
    expect(lanes).toEqual([['a0', 'a2', 'a5'], ['b1', 'b4'], ['-3']]);
  });

  it('commits only the unbroken run of handled messages from the start of the batch', () => {
    const batch = [message(10, 'a'), message(11, 'b'), message(12, 'a'), message(13, 'c')];
    expect(committableOffsets(batch, new Set(['10', '11', '13']))).toEqual(['10', '11']);
    expect(committableOffsets(batch, new Set(['11', '12', '13']))).toEqual([]);
    expect(committableOffsets(batch, new Set(['10', '11', '12', '13']))).toEqual(['10', '11', '12', '13']);
  });

  it('runs at most `limit` items at once, finishes them all, then reports the first failure', async () => {
    let running = 0;
    let peak = 0;
    const finished: number[] = [];
    const work = async (n: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (n === 2) throw new Error('lane 2 failed');
      finished.push(n);
    };
    await expect(forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, work)).rejects.toThrow('lane 2 failed');
    expect(peak).toBe(3);
    expect(finished.sort()).toEqual([1, 3, 4, 5, 6, 7]);
  });
});

describe('chunksOf (STAGE_BATCH_MAX_RECORDS)', () => {
  it('should cut a batch into chunks of at most the size, in order, nothing lost', () => {
    expect(chunksOf([1, 2, 3, 4, 5, 6, 7], 3)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(chunksOf([1, 2], 500)).toEqual([[1, 2]]);
    expect(chunksOf([], 3)).toEqual([]);
  });
});
