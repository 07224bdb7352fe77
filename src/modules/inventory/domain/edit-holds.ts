// What an item edit of an order does to stock. Pure: no I/O.
//
// The units an edit adds are held first (reserved, like a reservation of their own) so that no
// other order can take them while payments charges the difference. When the edit applies, what
// happens depends on where the order's goods are:
//   reservation still `reserved` (no shipment yet): added units join it (they are reserved
//     already); removed units are given back to available stock;
//   reservation `shipped` (a shipment was created, not dispatched): added units leave with it
//     (on hand and reserved drop); removed units stay in the warehouse (on hand rises again).
// An edit that ends without applying gives its held units back.
import { reservationLines, type ReservationLine, type ReservationStatus } from './reservations.js';

/** One product's move when an edit applies. */
export type EditStockMove =
  | { productId: string; action: 'join'; quantity: number }
  | { productId: string; action: 'unreserve'; quantity: number }
  | { productId: string; action: 'ship'; quantity: number }
  | { productId: string; action: 'unship'; quantity: number };

/** The increases of an edit's stock deltas: the units to hold, in product id order. */
export function unitsToHold(deltas: readonly ReservationLine[]): ReservationLine[] {
  return reservationLines(deltas.filter((d) => d.quantity > 0));
}

/**
 * How stock moves when an edit with `deltas` (units per product, negative: taken off) applies
 * to an order whose reservation is `status`, and the reservation's lines afterwards. Undefined
 * when the reservation holds nothing the edit can apply to (released or failed).
 */
export function planEditApply(status: ReservationStatus, lines: readonly ReservationLine[], deltas: readonly ReservationLine[]): { moves: EditStockMove[]; lines: ReservationLine[] } | undefined {
  if (status !== 'reserved' && status !== 'shipped') return undefined;
  const after = new Map(lines.map((l) => [l.productId, l.quantity]));
  const moves: EditStockMove[] = [];
  for (const { productId, quantity } of reservationLines(deltas)) {
    if (quantity === 0) continue;
    after.set(productId, (after.get(productId) ?? 0) + quantity);
    if (quantity > 0) moves.push({ productId, action: status === 'reserved' ? 'join' : 'ship', quantity });
    else moves.push({ productId, action: status === 'reserved' ? 'unreserve' : 'unship', quantity: -quantity });
  }
  return { moves, lines: reservationLines([...after].map(([productId, quantity]) => ({ productId, quantity }))).filter((l) => l.quantity > 0) };
}
