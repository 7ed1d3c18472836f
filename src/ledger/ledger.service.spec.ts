import { describe, expect, it } from '@jest/globals';
import { roundsByPayer } from './ledger.service.js';

const posting = (id: string, userId: string, currency = 'USD') => ({ id, payment: { userId, currency } });

describe('roundsByPayer', () => {
  it("puts each payer wallet at most once in a round, keeping each payer's order", () => {
    const rounds = roundsByPayer([
      posting('a1', 'A'),
      posting('b1', 'B'),
      posting('a2', 'A'),
      posting('a-eur', 'A', 'EUR'),
      posting('a3', 'A'),
      posting('b2', 'B'),
    ]);
    expect(rounds.map((round) => round.map((p) => p.id))).toEqual([['a1', 'b1', 'a-eur'], ['a2', 'b2'], ['a3']]);
  });

  it('keeps a group of distinct payers in one round', () => {
    expect(roundsByPayer([posting('1', 'A'), posting('2', 'B'), posting('3', 'C')])).toHaveLength(1);
  });
});
