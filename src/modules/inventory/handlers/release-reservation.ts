import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { decideEnd } from '../domain/reservations.js';
import { inventoryReleased } from '../events.js';
import { unreserveUnits } from '../storage/product-repository.js';
import { findReservation, transitionReservation } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';

/**
 * Gives an order's held units back to available stock → InventoryReleased. A reservation
 * that is not held (failed, already released or shipped, or unknown) ignores the event.
 */
export async function releaseReservation(ctx: HandlerContext<InventoryTables>, ids: IdGenerator, orderId: string, cause: string): Promise<void> {
  const reservation = await findReservation(ctx.db, orderId);
  const decision = decideEnd(reservation?.status, 'release');
  if (decision.kind === 'ignore' || !reservation) {
    ctx.log.info({ orderId, why: decision.kind === 'ignore' ? decision.why : 'none' }, `${cause}: nothing to release`);
    return;
  }
  // Compare-and-set on the status: of a release and a shipment racing for one reservation, one wins.
  if (!(await transitionReservation(ctx.db, orderId, 'reserved', decision.next, ctx.now))) {
    ctx.log.info({ orderId }, `${cause}: reservation changed meanwhile; nothing to release`);
    return;
  }
  for (const line of reservation.lines) {
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
  ctx.emit(inventoryReleased({ orderId, items: reservation.lines }));
}
