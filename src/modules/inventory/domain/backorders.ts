// Backorders: the units an order is short of, kept apart from the stock. Pure: no I/O.
//
// A short line of a product that allows backorders reserves what is available and waits for
// the rest (WAITING). When the setting SHORT_ORDER_REVIEW_MS holds short orders for an admin,
// an order short of a product that does not allow backorders reserves what is available too
// and holds its shortfalls for review (REVIEW) until an override turns them into WAITING
// backorders, or the review window closes and the order is rejected. Restocks serve WAITING
// backorders of a product first placed, first served.

/** Where a backorder stands. */
export type BackorderStatus = 'REVIEW' | 'WAITING' | 'FULFILLED' | 'CANCELLED';

/** A line that could not be reserved in full, with what was available of it. */
export interface ShortLine {
  productId: string;
  requested: number;
  available: number;
  /** Whether the product takes backorders. */
  allowBackorders: boolean;
}

/** One short line of an order that waits: `take` units reserved now, `missing` units backordered. */
export interface BackorderPlan {
  productId: string;
  requested: number;
  available: number;
  take: number;
  missing: number;
}

export type ShortOrderDecision =
  /** Refused as before backorders existed: everything taken is given back. */
  | { kind: 'refuse' }
  /** Every short product takes backorders: the order waits for stock. */
  | { kind: 'backorder'; lines: BackorderPlan[] }
  /** Some short product does not: the shortfalls are held until an admin overrides, or the review window closes. */
  | { kind: 'review'; lines: BackorderPlan[] };

/**
 * What an order short of stock does (the lines that fit were reserved already). It waits when
 * every short product allows backorders; else it is held for review when reviews are on
 * (`holdForReview`), or refused. Either way it keeps what is available of each short line:
 * a waiting order is served the rest first placed, first served, and an approved one loses
 * nothing it was promised while the admin looked at it.
 */
export function decideShortOrder(shorts: readonly ShortLine[], options: { holdForReview: boolean }): ShortOrderDecision {
  if (shorts.length === 0) return { kind: 'refuse' };
  const lines = shorts.map((s) => {
    const take = Math.max(0, Math.min(s.available, s.requested));
    return { productId: s.productId, requested: s.requested, available: Math.max(0, s.available), take, missing: s.requested - take };
  });
  if (shorts.every((s) => s.allowBackorders)) return { kind: 'backorder', lines };
  return options.holdForReview ? { kind: 'review', lines } : { kind: 'refuse' };
}

/** A WAITING backorder in the queue of one product, in placement order. */
export interface QueuedBackorder {
  orderId: string;
  /** Units still missing: quantity − allocated. */
  remaining: number;
}

/** Units a restock gives one backorder; `fulfilled` when it has all it was missing. */
export interface Allocation {
  orderId: string;
  take: number;
  fulfilled: boolean;
}

/**
 * Shares `available` units among a product's waiting backorders, strictly first placed, first
 * served: the oldest takes what it misses (or all there is), and a later one gets units only
 * once every earlier one is complete. So no later order is ever served while an earlier one
 * still waits, and no unit stays idle while someone waits for it.
 */
export function allocateRestock(available: number, queue: readonly QueuedBackorder[]): Allocation[] {
  const allocations: Allocation[] = [];
  let left = Math.max(0, available);
  for (const backorder of queue) {
    if (left === 0) break;
    const take = Math.min(left, backorder.remaining);
    if (take <= 0) continue;
    allocations.push({ orderId: backorder.orderId, take, fulfilled: take === backorder.remaining });
    left -= take;
  }
  return allocations;
}

export type OverrideDecision = { kind: 'apply' } | { kind: 'ignore'; why: string };

/** Only an order held for review can be overridden; a late or repeated override changes nothing. */
export function decideOverride(reservationStatus: string | undefined): OverrideDecision {
  if (reservationStatus === undefined) return { kind: 'ignore', why: 'no reservation for this order' };
  if (reservationStatus !== 'review') return { kind: 'ignore', why: `reservation is ${reservationStatus}, not held for review` };
  return { kind: 'apply' };
}
