/**
 * Supported ISO 4217 currencies and their minor-unit digits (JPY and KRW have none, BHD has three).
 * Amounts inside the service are integer counts of these minor units.
 */
export const CURRENCY_MINOR_DIGITS = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  CNY: 2,
  JPY: 0,
  KRW: 0,
  BHD: 3,
} as const satisfies Record<string, number>;

export type CurrencyCode = keyof typeof CURRENCY_MINOR_DIGITS;

export const SUPPORTED_CURRENCIES = Object.keys(CURRENCY_MINOR_DIGITS) as CurrencyCode[];

export function isSupportedCurrency(code: unknown): code is CurrencyCode {
  return typeof code === 'string' && Object.hasOwn(CURRENCY_MINOR_DIGITS, code);
}
