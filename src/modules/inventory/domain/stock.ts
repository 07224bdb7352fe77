import { AppError, appError } from '../../../kernel/errors.js';

/** A product's stock counters; `available = onHand − reserved`. */
export interface StockLevel {
  onHand: number;
  reserved: number;
  reorderPoint: number;
  /** Whether the product's low-stock alert is open, when the level was read with it (under the product's lock). */
  alertOpen?: boolean;
}

/** Units that can still be reserved. */
export function availableOf(level: StockLevel): number {
  return level.onHand - level.reserved;
}

/** A restock (delta > 0) or a correction (delta < 0) of the units on hand. */
export interface StockAdjustment {
  delta: number;
  reason: string;
}

/** Largest quantity the module accepts anywhere; far below 2^53 so sums stay exact. */
export const MAX_QUANTITY = 1_000_000_000_000;

export type AdjustmentDecision = { kind: 'adjusted'; level: StockLevel } | { kind: 'refused'; error: AppError };

/**
 * Decides a stock adjustment: the delta must be a non-zero integer and the reason non-empty;
 * units on hand may never drop below zero nor below what is reserved for orders.
 */
export function decideAdjustment(level: StockLevel, adjustment: StockAdjustment): AdjustmentDecision {
  const invalid = checkAdjustment(adjustment);
  if (invalid) return { kind: 'refused', error: invalid };
  const { delta } = adjustment;
  const onHand = level.onHand + delta;
  if (onHand < 0) return refused('INSUFFICIENT_STOCK', `cannot remove ${-delta} units: only ${level.onHand} on hand`);
  if (onHand < level.reserved) {
    return refused('INSUFFICIENT_STOCK', `cannot remove ${-delta} units: ${level.reserved} of ${level.onHand} on hand are reserved for orders`);
  }
  if (onHand > MAX_QUANTITY) return refused('BAD_DELTA', `units on hand would exceed ${MAX_QUANTITY}`);
  return { kind: 'adjusted', level: { ...level, onHand } };
}

/** The shape checks of an adjustment, which need no stock level; undefined when it is well-formed. */
export function checkAdjustment(adjustment: StockAdjustment): AppError | undefined {
  const { delta, reason } = adjustment ?? {};
  if (typeof delta !== 'number' || !Number.isSafeInteger(delta) || delta === 0 || Math.abs(delta) > MAX_QUANTITY) {
    return new AppError('validation', 'BAD_DELTA', `delta must be a non-zero integer of at most ${MAX_QUANTITY} units, got ${String(delta)}`);
  }
  if (typeof reason !== 'string' || reason.trim() === '') return new AppError('validation', 'BAD_REASON', 'reason must be a non-empty string');
  return undefined;
}

function refused(code: 'INSUFFICIENT_STOCK' | 'BAD_DELTA', message: string): AdjustmentDecision {
  return { kind: 'refused', error: appError(code, message) };
}

/** What happens to a product's low-stock alert after its available quantity changed. */
export type AlertTransition = 'open' | 'refresh' | 'close' | 'none';

/**
 * Available at or below the reorder point opens an alert (one per product: an open one is
 * refreshed with the new quantity); above it, an open alert is closed.
 */
export function decideAlert(level: StockLevel, hasOpenAlert: boolean): AlertTransition {
  const low = availableOf(level) <= level.reorderPoint;
  if (low) return hasOpenAlert ? 'refresh' : 'open';
  return hasOpenAlert ? 'close' : 'none';
}

/** The human-readable text of a low-stock alert. */
export function alertMessage(productId: string, available: number, reorderPoint: number): string {
  return `Low stock alert: Product ${productId} has ${available} units available (reorder point: ${reorderPoint})`;
}
