import type { CurrencyCode } from '../money/currencies.js';
import { AmountError, toMinorUnits } from '../money/money.js';
import { ApiError } from './api-error.js';

/** An amount from a request body in minor units, or a 400 naming the `amount` field. */
export function minorUnitsOrBadRequest(amount: number | string, currency: CurrencyCode, maxMajor: string): bigint {
  try {
    return toMinorUnits(amount, currency, maxMajor);
  } catch (error) {
    if (error instanceof AmountError) throw ApiError.invalidRequest(`amount_${error.problem}`, error.message, 'amount');
    throw error;
  }
}
