import { describe, expect, it } from 'vitest';
import { fromMinorUnits, toMinorUnits } from './money.js';

describe('money in minor units', () => {
  it('converts decimals exactly, whatever the binary float looks like', () => {
    expect(toMinorUnits(99.99, 'USD')).toBe(9999);
    expect(toMinorUnits(0.3, 'USD')).toBe(30);
    expect(toMinorUnits(1.1, 'USD')).toBe(110);
    expect(toMinorUnits(4.35, 'USD')).toBe(435);
    expect(toMinorUnits(1200, 'JPY')).toBe(1200);
    expect(toMinorUnits(1.234, 'KWD')).toBe(1234);
    expect(fromMinorUnits(19998, 'USD')).toBe(199.98);
    expect(fromMinorUnits(1200, 'JPY')).toBe(1200);
  });

  it('refuses more decimals than the currency has, negatives and non-numbers', () => {
    expect(() => toMinorUnits(1.999, 'USD')).toThrow(/more than 2 decimals/);
    expect(() => toMinorUnits(0.1 + 0.2, 'USD')).toThrow(/more than 2 decimals/);
    expect(() => toMinorUnits(1.5, 'JPY')).toThrow(/more than 0 decimals/);
    expect(() => toMinorUnits(-1, 'USD')).toThrow(/non-negative/);
    expect(() => toMinorUnits(Number.NaN, 'USD')).toThrow();
  });
});
