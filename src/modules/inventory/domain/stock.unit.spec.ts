import { describe, expect, it } from 'vitest';
import type { AppError } from '../../../kernel/errors.js';
import { alertMessage, availableOf, checkAdjustment, decideAdjustment, decideAlert, type AdjustmentDecision, type StockLevel } from './stock.js';

const level = (onHand: number, reserved: number, reorderPoint = 0): StockLevel => ({ onHand, reserved, reorderPoint });

function refusal(decision: AdjustmentDecision): AppError {
  if (decision.kind !== 'refused') throw new Error(`expected a refusal, got ${JSON.stringify(decision)}`);
  return decision.error;
}

describe('stock adjustment', () => {
  it('given 10 on hand, when 5 are restocked, then 15 are on hand and the rest is unchanged', () => {
    expect(decideAdjustment(level(10, 3, 4), { delta: 5, reason: 'restock' })).toEqual({ kind: 'adjusted', level: level(15, 3, 4) });
  });

  it('given 10 on hand with 3 reserved, when 7 are removed, then 3 remain, all reserved', () => {
    const decision = decideAdjustment(level(10, 3), { delta: -7, reason: 'damaged' });
    expect(decision).toEqual({ kind: 'adjusted', level: level(3, 3) });
    if (decision.kind === 'adjusted') expect(availableOf(decision.level)).toBe(0);
  });

  it('given 10 on hand with 3 reserved, when 8 are removed, then it is refused: reserved units cannot go', () => {
    const error = refusal(decideAdjustment(level(10, 3), { delta: -8, reason: 'damaged' }));
    expect(error).toMatchObject({ kind: 'conflict', code: 'INSUFFICIENT_STOCK' });
    expect(error.message).toMatch(/3 of 10 on hand are reserved/);
  });

  it('given 2 on hand, when 3 are removed, then it is refused: on hand never drops below zero', () => {
    expect(refusal(decideAdjustment(level(2, 0), { delta: -3, reason: 'count' }))).toMatchObject({ kind: 'conflict', code: 'INSUFFICIENT_STOCK' });
  });

  it.each([0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2e12, '3' as unknown as number])('refuses the delta %s as invalid', (delta) => {
    expect(refusal(decideAdjustment(level(10, 0), { delta, reason: 'x' }))).toMatchObject({ kind: 'validation', code: 'BAD_DELTA' });
  });

  it('refuses a missing or blank reason', () => {
    expect(refusal(decideAdjustment(level(10, 0), { delta: 1, reason: '  ' }))).toMatchObject({ kind: 'validation', code: 'BAD_REASON' });
    expect(checkAdjustment({ delta: 1 } as never)).toMatchObject({ code: 'BAD_REASON' });
    expect(checkAdjustment({ delta: 1, reason: 'ok' })).toBeUndefined();
  });

  it('refuses a restock that would exceed the largest quantity', () => {
    expect(refusal(decideAdjustment(level(999_999_999_999, 0), { delta: 2, reason: 'x' }))).toMatchObject({ code: 'BAD_DELTA' });
  });
});

describe('low-stock alert', () => {
  it('given no open alert, when available falls to the reorder point, then an alert opens', () => {
    expect(decideAlert(level(10, 5, 5), false)).toBe('open');
  });

  it('given no open alert, when available is below the reorder point, then an alert opens', () => {
    expect(decideAlert(level(3, 0, 5), false)).toBe('open');
  });

  it('given an open alert, when available stays at or below the reorder point, then the same alert is refreshed (never a second)', () => {
    expect(decideAlert(level(4, 0, 5), true)).toBe('refresh');
    expect(decideAlert(level(5, 0, 5), true)).toBe('refresh');
  });

  it('given an open alert, when available rises above the reorder point, then it closes', () => {
    expect(decideAlert(level(6, 0, 5), true)).toBe('close');
  });

  it('given no open alert, when available is above the reorder point, then nothing happens', () => {
    expect(decideAlert(level(6, 0, 5), false)).toBe('none');
  });

  it('a reorder point of 0 alerts only when nothing is available', () => {
    expect(decideAlert(level(1, 1, 0), false)).toBe('open');
    expect(decideAlert(level(1, 0, 0), false)).toBe('none');
  });

  it('describes the alert for people', () => {
    expect(alertMessage('p-1', 8, 10)).toBe('Low stock alert: Product p-1 has 8 units available (reorder point: 10)');
  });
});
