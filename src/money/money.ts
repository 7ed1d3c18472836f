import { AppError } from '../errors/app-error.js';
import { CURRENCY_MINOR_DIGITS, type CurrencyCode } from './currencies.js';

/** A plain decimal: digits, optionally a point and more digits. No sign, exponent, spaces or leading zeros. */
const DECIMAL = /^(0|[1-9]\d*)(?:\.(\d+))?$/;

/** What can be wrong with an amount; a request's `amount` field answers 400 with this code. */
export enum AmountErrorCode {
  NotADecimal = 'amount_not_a_decimal',
  NotPositive = 'amount_not_positive',
  TooManyDecimals = 'amount_too_many_decimals',
  TooLarge = 'amount_too_large',
}

export type AmountProblem = 'not_a_decimal' | 'not_positive' | 'too_many_decimals' | 'too_large';

const CODE_BY_PROBLEM: Record<AmountProblem, AmountErrorCode> = {
  not_a_decimal: AmountErrorCode.NotADecimal,
  not_positive: AmountErrorCode.NotPositive,
  too_many_decimals: AmountErrorCode.TooManyDecimals,
  too_large: AmountErrorCode.TooLarge,
};

/** An amount that cannot be taken; as an AppError it names the `amount` field of a request. */
export class AmountError extends AppError<AmountErrorCode> {
  constructor(
    readonly problem: AmountProblem,
    message: string,
  ) {
    super(CODE_BY_PROBLEM[problem], message, { param: 'amount' });
  }
}

/**
 * Turns an amount as the client sent it (a JSON number or a decimal string, in major units) into an
 * integer count of minor units. Never does arithmetic on floats: a JSON number is taken by its
 * shortest decimal representation, which is what the client wrote for any amount within limits.
 */
export function toMinorUnits(amount: number | string, currency: CurrencyCode, maxMajor: string): bigint {
  const text = typeof amount === 'number' ? numberToDecimal(amount) : amount;
  const match = DECIMAL.exec(text);
  if (!match) throw new AmountError('not_a_decimal', 'amount must be a plain decimal number such as 99.99');
  const [, whole, fraction = ''] = match;
  const digits = CURRENCY_MINOR_DIGITS[currency];
  const significantFraction = fraction.replace(/0+$/, '');
  if (significantFraction.length > digits) {
    throw new AmountError(
      'too_many_decimals',
      digits === 0 ? `${currency} amounts have no decimals` : `${currency} amounts have at most ${digits} decimals`,
    );
  }
  const minor = BigInt(whole + significantFraction.padEnd(digits, '0'));
  if (minor <= 0n) throw new AmountError('not_positive', 'amount must be greater than zero');
  if (minor > truncateToMinorUnits(maxMajor, digits)) {
    throw new AmountError('too_large', `amount must be at most ${maxMajor} ${currency}`);
  }
  return minor;
}

/** Formats minor units as the decimal string the API echoes back ("99.99", "1000", "1.250"). */
export function formatMinorUnits(minor: bigint, currency: CurrencyCode): string {
  const digits = CURRENCY_MINOR_DIGITS[currency];
  const sign = minor < 0n ? '-' : '';
  const text = (minor < 0n ? -minor : minor).toString().padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${text}` : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

function numberToDecimal(value: number): string {
  // String() gives exponent notation for very large or tiny numbers; those are never valid amounts.
  return Number.isFinite(value) ? String(value) : 'NaN';
}

/** Minor units of a decimal already known to be well-formed (configuration), cutting extra decimals. */
export function truncateToMinorUnits(major: string, digits: number): bigint {
  const [whole, fraction = ''] = major.split('.');
  return BigInt(whole + fraction.slice(0, digits).padEnd(digits, '0'));
}
