import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { decideOverride } from '../domain/backorders.js';
import { orderBackordered } from '../events.js';
import { backordersOfOrder, moveBackorders } from '../storage/backorder-repository.js';
import { addBackorderedUnits, lockProductStock } from '../storage/product-repository.js';
import { findReservation, transitionReservation } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { serveBackorders } from './serve-backorders.js';

/**
 * OrderStockOverrideApplied → the order's shortfalls held for review become waiting backorders
 * (OrderBackordered each, cause `override`), queued by the order's placement among the others,
 * and served at once from whatever is available. An order not held for review ignores it.
 */
export function applyOverride(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'OrderStockOverrideApplied'>>, ctx: HandlerContext<InventoryTables>): Promise<void> => {
    const { orderId } = event.payload;
    const held = (await backordersOfOrder(ctx.db, orderId)).filter((b) => b.status === 'REVIEW');
    // Products first, in productId order (as restocks and releases take them), then the reservation.
    for (const productId of held.map((b) => b.productId).sort()) await lockProductStock(ctx.db, productId);
    const reservation = await findReservation(ctx.db, orderId);
    const decision = decideOverride(reservation?.status);
    if (decision.kind === 'ignore') {
      ctx.log.info({ orderId, why: decision.why }, 'OrderStockOverrideApplied: nothing held for review; ignored');
      return;
    }
    await transitionReservation(ctx.db, orderId, 'review', 'waiting', ctx.now);
    const moved = await moveBackorders(ctx.db, orderId, 'REVIEW', 'WAITING', ctx.now);
    const reservedNow = new Map(reservation!.lines.map((l) => [l.productId, l.quantity]));
    for (const backorder of moved) {
      await addBackorderedUnits(ctx.db, backorder.productId, backorder.quantity, ctx.now);
      ctx.emit(orderBackordered({ orderId, productId: backorder.productId, quantity: backorder.quantity, reserved: reservedNow.get(backorder.productId) ?? 0, cause: 'override' }, backorder.correlationId));
    }
    for (const backorder of moved) await serveBackorders(ctx, ids, backorder.productId, `override of order ${orderId}`);
  };
}
