import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { decideEnd } from '../domain/reservations.js';
import { inventoryReleased } from '../events.js';
import { backordersOfOrder, moveBackorders } from '../storage/backorder-repository.js';
import { addBackorderedUnits, lockProductStock, unreserveUnits } from '../storage/product-repository.js';
import { findReservation, transitionReservation } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';
import { serveBackorders } from './serve-backorders.js';

/**
 * Gives an order's held units back to available stock → InventoryReleased, and cancels what it
 * still waited for (backorders, shortfalls held for review). The units given back serve other
 * orders' waiting backorders at once. A reservation that is not held (failed, already released
 * or shipped, or unknown) ignores the event.
 */
export async function releaseReservation(ctx: HandlerContext<InventoryTables>, ids: IdGenerator, orderId: string, cause: string): Promise<void> {
  let reservation = await findReservation(ctx.db, orderId);
  if (reservation && (reservation.status === 'waiting' || reservation.status === 'review')) {
    // Restocks serving this order lock a product, then its reservation: lock the products first,
    // in productId order, and read the reservation again, now that no restock can change it.
    const products = [...new Set([...reservation.lines.map((l) => l.productId), ...(await backordersOfOrder(ctx.db, orderId)).map((b) => b.productId)])].sort();
    for (const productId of products) await lockProductStock(ctx.db, productId);
    reservation = await findReservation(ctx.db, orderId);
  }
  const decision = decideEnd(reservation?.status, 'release');
  if (decision.kind === 'ignore' || !reservation) {
    ctx.log.info({ orderId, why: decision.kind === 'ignore' ? decision.why : 'none' }, `${cause}: nothing to release`);
    return;
  }
  // Compare-and-set on the status: of a release and a shipment racing for one reservation, one wins.
  if (!(await transitionReservation(ctx.db, orderId, reservation.status, decision.next, ctx.now))) {
    ctx.log.info({ orderId }, `${cause}: reservation changed meanwhile; nothing to release`);
    return;
  }
  for (const backorder of await moveBackorders(ctx.db, orderId, 'WAITING', 'CANCELLED', ctx.now)) {
    await addBackorderedUnits(ctx.db, backorder.productId, -(backorder.quantity - backorder.allocated), ctx.now);
  }
  await moveBackorders(ctx.db, orderId, 'REVIEW', 'CANCELLED', ctx.now);
  const released = reservation.lines.filter((l) => l.quantity > 0);
  for (const line of released) {
    const level = await unreserveUnits(ctx.db, line.productId, line.quantity, ctx.now);
    await recordStockChange(ctx, ids, {
      productId: line.productId,
      level,
      quantityAdjusted: line.quantity,
      reason: `order ${orderId} released (${cause})`,
      movement: 'release',
      orderId,
    });
  }
  ctx.emit(inventoryReleased({ orderId, items: released }));
  // Every released product's row is locked by now (productId order): serving their queues takes no new product lock.
  for (const line of released) await serveBackorders(ctx, ids, line.productId, `stock of order ${orderId} released`);
}
