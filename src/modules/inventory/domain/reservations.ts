import type { StockLevel } from './stock.js';

/**
 * Where an order's reservation stands. `waiting`: part is held and the rest is backordered;
 * `review`: part is held and the shortfalls wait for an admin's override.
 */
export type ReservationStatus = 'reserved' | 'waiting' | 'review' | 'released' | 'shipped' | 'failed';

/** Units of one product for one order. */
export interface ReservationLine {
  productId: string;
  quantity: number;
}

/** Merges lines of the same product and sorts them by productId: the order rows are locked in. */
export function reservationLines(items: readonly ReservationLine[]): ReservationLine[] {
  const merged = new Map<string, number>();
  for (const item of items) merged.set(item.productId, (merged.get(item.productId) ?? 0) + item.quantity);
  return [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([productId, quantity]) => ({ productId, quantity }));
}

/** What happened when one line was tried against the stock (a guarded update). */
export type LineAttempt =
  | { productId: string; requested: number; outcome: 'reserved'; level: StockLevel }
  | { productId: string; requested: number; outcome: 'short'; available: number }
  | { productId: string; requested: number; outcome: 'unknown' };

/** A line that could not be reserved. */
export interface Shortage {
  productId: string;
  requested: number;
  available: number;
  /** Why this line failed. */
  reason: 'insufficient_stock' | 'unknown_product';
}

export type ReservationDecision =
  | { kind: 'reserved'; reservations: ReservationLine[] }
  | {
      kind: 'failed';
      reason: 'insufficient_stock' | 'unknown_product';
      shortages: Shortage[];
      /** Lines already taken that must be given back: all or nothing. */
      undo: ReservationLine[];
    };

/**
 * All or nothing: the order is reserved when every line was; otherwise every line taken is
 * undone and the shortages are reported (an unknown product counts as 0 available).
 */
export function decideReservation(attempts: readonly LineAttempt[]): ReservationDecision {
  const taken = attempts.filter((a) => a.outcome === 'reserved').map((a) => ({ productId: a.productId, quantity: a.requested }));
  const shortages: Shortage[] = [];
  for (const a of attempts) {
    if (a.outcome === 'unknown') shortages.push({ productId: a.productId, requested: a.requested, available: 0, reason: 'unknown_product' });
    if (a.outcome === 'short') shortages.push({ productId: a.productId, requested: a.requested, available: Math.max(0, a.available), reason: 'insufficient_stock' });
  }
  if (attempts.length > 0 && shortages.length === 0) return { kind: 'reserved', reservations: taken };
  const reason = shortages.some((s) => s.reason === 'unknown_product') ? 'unknown_product' : 'insufficient_stock';
  return { kind: 'failed', reason, shortages, undo: taken };
}

/** What closes a held reservation: the order gave up (release) or the goods left (shipment). */
export type ReservationEnd = 'release' | 'ship';

export type EndDecision = { kind: 'apply'; next: 'released' | 'shipped' } | { kind: 'ignore'; why: string };

/**
 * Only a held reservation can end. A released, shipped or failed one, or one that does not
 * exist, ignores a late event: the stock was already accounted for. A reservation still waiting
 * for stock (or for review) can be released, never shipped.
 */
export function decideEnd(current: ReservationStatus | undefined, end: ReservationEnd): EndDecision {
  if (current === undefined) return { kind: 'ignore', why: 'no reservation for this order' };
  if ((current === 'waiting' || current === 'review') && end === 'release') return { kind: 'apply', next: 'released' };
  if (current !== 'reserved') return { kind: 'ignore', why: `reservation is ${current}, not reserved` };
  return { kind: 'apply', next: end === 'release' ? 'released' : 'shipped' };
}

/** Units per product an item edit changes (added positive, removed negative), from OrderUpdated's item changes. */
export function stockDeltasOf(items: {
  added: readonly ReservationLine[];
  removed: readonly ReservationLine[];
  modified: readonly { productId: string; oldQuantity: number; newQuantity: number }[];
}): ReservationLine[] {
  return reservationLines([
    ...items.added,
    ...items.removed.map((l) => ({ productId: l.productId, quantity: -l.quantity })),
    ...items.modified.map((l) => ({ productId: l.productId, quantity: l.newQuantity - l.oldQuantity })),
  ]).filter((l) => l.quantity !== 0);
}
