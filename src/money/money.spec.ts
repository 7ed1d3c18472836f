import { describe, expect, it } from '@jest/globals';
import { AmountError, formatMinorUnits, toMinorUnits } from './money.js';

const MAX = '1000000';

describe('toMinorUnits', () => {
  it.each([
    [99.99, 'USD', 9999n],
    ['99.99', 'USD', 9999n],
    ['0.01', 'USD', 1n],
    [1000, 'JPY', 1000n],
    ['1000', 'KRW', 1000n],
    ['1.234', 'BHD', 1234n],
    ['1.5', 'BHD', 1500n],
    ['10.10', 'EUR', 1010n],
    ['5.000', 'USD', 500n],
    [0.1, 'USD', 10n],
    ['1000000', 'USD', 100000000n],
  ] as const)('should read %p %s as %p minor units', (amount, currency, expected) => {
    expect(toMinorUnits(amount, currency, MAX)).toBe(expected);
  });

  it.each([
    ['1e3', 'not_a_decimal'],
    [-5, 'not_a_decimal'],
    ['-5', 'not_a_decimal'],
    ['+5', 'not_a_decimal'],
    [' 5', 'not_a_decimal'],
    ['05', 'not_a_decimal'],
    ['5.', 'not_a_decimal'],
    ['.5', 'not_a_decimal'],
    ['NaN', 'not_a_decimal'],
    [Number.NaN, 'not_a_decimal'],
    [Number.POSITIVE_INFINITY, 'not_a_decimal'],
    [1e21, 'not_a_decimal'],
    [0, 'not_positive'],
    ['0.00', 'not_positive'],
    ['99.999', 'too_many_decimals'],
    ['1000000.01', 'too_large'],
  ] as const)('should refuse %p in USD (%s)', (amount, problem) => {
    let thrown: unknown;
    try {
      toMinorUnits(amount, 'USD', MAX);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AmountError);
    expect((thrown as AmountError).problem).toBe(problem);
  });

  it('should refuse decimals for a currency without minor units', () => {
    expect(() => toMinorUnits('10.5', 'JPY', MAX)).toThrow(/JPY amounts have no decimals/);
  });

  it('should refuse a fourth decimal in BHD', () => {
    expect(() => toMinorUnits('1.2345', 'BHD', MAX)).toThrow(/at most 3 decimals/);
  });
});

describe('formatMinorUnits', () => {
  it.each([
    [9999n, 'USD', '99.99'],
    [1n, 'USD', '0.01'],
    [1000n, 'JPY', '1000'],
    [1500n, 'BHD', '1.500'],
    [-250n, 'EUR', '-2.50'],
    [0n, 'USD', '0.00'],
  ] as const)('should format %p %s as %p', (minor, currency, text) => {
    expect(formatMinorUnits(minor, currency)).toBe(text);
  });
});
