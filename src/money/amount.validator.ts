import { ValidatorConstraint, type ValidationArguments, type ValidatorConstraintInterface } from 'class-validator';
import { isSupportedCurrency } from './currencies.js';
import { AmountError, toMinorUnits } from './money.js';

/** The upper limit is configurable and checked by the services; here only the form and the decimals. */
const NO_LIMIT = '999999999999999';

/** A JSON number or a decimal string, positive, with no more decimals than the currency has. */
@ValidatorConstraint({ name: 'amount' })
export class AmountForCurrency implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return amountProblem(value, args.object) === null;
  }

  defaultMessage(args: ValidationArguments): string {
    return amountProblem(args.value, args.object) ?? 'amount is invalid';
  }
}

function amountProblem(value: unknown, request: object): string | null {
  if (typeof value !== 'number' && typeof value !== 'string') return 'amount must be a JSON number or a decimal string';
  const { currency } = request as { currency?: unknown };
  // An unknown currency is reported on its own field; judge the decimals by the most permissive one.
  const judgedAs = isSupportedCurrency(currency) ? currency : 'BHD';
  try {
    toMinorUnits(value, judgedAs, NO_LIMIT);
    return null;
  } catch (error) {
    if (error instanceof AmountError) return error.message;
    throw error;
  }
}
