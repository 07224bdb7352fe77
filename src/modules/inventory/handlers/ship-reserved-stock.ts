import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { decideEnd } from '../domain/reservations.js';
import { shipLines } from '../storage/product-repository.js';
import { findReservation, takeReservation } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';

/**
 * ShipmentCreated → the order's reserved units leave the warehouse (on hand and reserved both
 * drop; available is unchanged, StockAdjusted still records the movement). If the reservation
 * was released meanwhile (order cancelled), nothing moves.
 */
export function shipReservedStock(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'ShipmentCreated'>>, ctx: HandlerContext<InventoryTables>): Promise<void> => {
    const { orderId, shipmentId } = event.payload;
    const end = decideEnd('reserved', 'ship');
    const reservation = end.kind === 'apply' ? await takeReservation(ctx.db, orderId, 'reserved', end.next, ctx.now) : undefined;
    if (!reservation) {
      const found = await findReservation(ctx.db, orderId);
      const decision = decideEnd(found?.status, 'ship');
      ctx.log.info({ orderId, shipmentId, why: decision.kind === 'ignore' ? decision.why : 'reservation changed meanwhile' }, 'ShipmentCreated: no held stock to ship; ignored');
      return;
    }
    const levels = await shipLines(ctx.db, reservation.lines, ctx.now);
    for (const [i, line] of reservation.lines.entries()) {
      const level = levels[i]!;
      await recordStockChange(ctx, ids, {
        productId: line.productId,
        level,
        quantityAdjusted: 0,
        reason: `order ${orderId} shipped (shipment ${shipmentId})`,
        movement: 'shipment',
        orderId,
      });
    }
  };
}
