import { AppError } from './errors.js';

// ISO 4217 minor-unit exponents that differ from 2; every other currency has 2.
const EXPONENTS: Readonly<Record<string, number>> = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 };

/** Digits after the decimal point for a currency (USD 2, JPY 0, KWD 3). */
export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/**
 * Converts a decimal amount as a client writes it (`99.99`) to integer minor units (9999).
 * Refuses amounts with more decimals than the currency has, negatives and non-finite values.
 */
export function toMinorUnits(amount: number, currency: string): number {
  const exponent = currencyExponent(currency);
  if (!Number.isFinite(amount) || amount < 0) throw new AppError('validation', 'BAD_AMOUNT', `amount ${amount} must be a non-negative number`);
  // Work on the shortest decimal text of the number ("99.99"), never on float arithmetic.
  const text = String(amount);
  if (text.includes('e')) throw new AppError('validation', 'BAD_AMOUNT', `amount ${amount} is out of range`);
  const [whole = '0', fraction = ''] = text.split('.');
  if (fraction.length > exponent) {
    throw new AppError('validation', 'BAD_AMOUNT', `amount ${amount} has more than ${exponent} decimals for ${currency}`);
  }
  const minor = Number(whole) * 10 ** exponent + Number(fraction.padEnd(exponent, '0') || '0');
  if (!Number.isSafeInteger(minor)) throw new AppError('validation', 'BAD_AMOUNT', `amount ${amount} is too large`);
  return minor;
}

/** Converts integer minor units to the decimal number the API shows (9999 USD → 99.99). */
export function fromMinorUnits(minor: number, currency: string): number {
  const exponent = currencyExponent(currency);
  return Number((minor / 10 ** exponent).toFixed(exponent));
}
