import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { planEditApply, unitsToHold } from '../domain/edit-holds.js';
import { stockDeltasOf } from '../domain/reservations.js';
import { availableOf } from '../domain/stock.js';
import { inventoryEditReservationFailed, inventoryEditReserved } from '../events.js';
import { findEditHold, heldEditsOfOrder, insertEditHold, transitionEditHold, type EditHold } from '../storage/edit-hold-repository.js';
import { reserveUnits, shipUnits, stockLevelOf, unreserveUnits, unshipUnits } from '../storage/product-repository.js';
import { findReservation, replaceReservationLines } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';
import { serveBackorders } from './serve-backorders.js';

type Ctx = HandlerContext<InventoryTables>;

/**
 * OrderEditRequested → the units the edit adds are held, all or none (guarded updates in
 * product id order, as a reservation) → InventoryEditReserved | InventoryEditReservationFailed.
 * An edit that adds nothing needs no hold. An order whose stock is no longer held or shipped
 * (released) cannot take an edit.
 */
export function holdEditStock(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'OrderEditRequested'>>, ctx: Ctx): Promise<void> => {
    const { orderId, editId } = event.payload;
    const wanted = unitsToHold(event.payload.stock);
    if (wanted.length === 0) return;
    if (await findEditHold(ctx.db, editId)) {
      ctx.log.info({ orderId, editId }, 'OrderEditRequested: the edit has a hold already; ignored');
      return;
    }
    const reservation = await findReservation(ctx.db, orderId);
    if (reservation?.status !== 'reserved' && reservation?.status !== 'shipped') {
      await insertEditHold(ctx.db, { editId, orderId, status: 'failed', lines: wanted }, ctx.now);
      ctx.emit(inventoryEditReservationFailed({ orderId, editId, reason: `order_not_reserved (${reservation?.status ?? 'no reservation'})`, shortages: [] }));
      return;
    }
    const taken: { productId: string; quantity: number; level: NonNullable<Awaited<ReturnType<typeof reserveUnits>>> }[] = [];
    const shortages: { productId: string; requested: number; available: number }[] = [];
    for (const { productId, quantity } of wanted) {
      const level = shortages.length === 0 ? await reserveUnits(ctx.db, productId, quantity, ctx.now) : undefined;
      if (level) {
        taken.push({ productId, quantity, level });
        continue;
      }
      const current = await stockLevelOf(ctx.db, productId);
      const available = current ? availableOf(current) : 0;
      if (shortages.length > 0 && available >= quantity) continue;
      shortages.push({ productId, requested: quantity, available });
    }
    if (shortages.length > 0) {
      for (const t of taken) await unreserveUnits(ctx.db, t.productId, t.quantity, ctx.now);
      await insertEditHold(ctx.db, { editId, orderId, status: 'failed', lines: wanted }, ctx.now);
      ctx.emit(inventoryEditReservationFailed({ orderId, editId, reason: 'insufficient_stock', shortages }));
      return;
    }
    await insertEditHold(ctx.db, { editId, orderId, status: 'held', lines: wanted }, ctx.now);
    for (const t of taken) {
      await recordStockChange(ctx, ids, { productId: t.productId, level: t.level, quantityAdjusted: -t.quantity, reason: `order ${orderId} edit ${editId} held`, movement: 'reservation', orderId });
    }
    ctx.emit(inventoryEditReserved({ orderId, editId, reservations: wanted }));
  };
}

/** OrderEditRejected → the units the edit held go back to available stock. */
export function releaseEditStock(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'OrderEditRejected'>>, ctx: Ctx): Promise<void> => {
    const hold = await findEditHold(ctx.db, event.payload.editId);
    if (!hold || hold.status !== 'held') {
      ctx.log.info({ orderId: event.payload.orderId, editId: event.payload.editId, status: hold?.status ?? 'none' }, 'OrderEditRejected: nothing held for the edit');
      return;
    }
    await releaseHold(ctx, ids, hold, `order ${hold.orderId} edit ${hold.editId} rejected: ${event.payload.reason}`);
  };
}

/** OrderCancelled → units held by an edit still under way go back too (the reservation is released by its own handler). */
export async function releaseEditHoldsOfOrder(ctx: Ctx, ids: IdGenerator, orderId: string, cause: string): Promise<void> {
  for (const hold of await heldEditsOfOrder(ctx.db, orderId)) await releaseHold(ctx, ids, hold, `order ${orderId} edit ${hold.editId} ended: ${cause}`);
}

/**
 * OrderUpdated of an item edit → the edit's units move onto the order: while its reservation is
 * still held, added units join it and removed ones are given back; once a shipment took it,
 * added units leave with the shipment and removed ones stay on hand (see domain/edit-holds.ts).
 */
export function applyEditStock(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'OrderUpdated'>>, ctx: Ctx): Promise<void> => {
    const { orderId, editId, changes } = event.payload;
    if (editId === undefined) return;
    const deltas = stockDeltasOf(changes.items);
    if (deltas.length === 0) return;
    const hold = await findEditHold(ctx.db, editId);
    if (hold && hold.status !== 'held') {
      ctx.log.info({ orderId, editId, status: hold.status }, 'OrderUpdated: the edit was applied or released already; ignored');
      return;
    }
    const reservation = await findReservation(ctx.db, orderId);
    const plan = reservation && planEditApply(reservation.status, reservation.lines, deltas);
    if (!reservation || !plan) {
      // Orders applies an edit only to a paid order whose stock is held or shipped: a fault to look at.
      throw new Error(`order ${orderId} edit ${editId}: its reservation is ${reservation?.status ?? 'missing'}; the edit's stock cannot apply`);
    }
    if (hold) await transitionEditHold(ctx.db, editId, 'held', 'applied', ctx.now);
    for (const move of plan.moves) {
      const reason = `order ${orderId} edit ${editId}`;
      if (move.action === 'join') continue;
      if (move.action === 'unreserve') {
        const level = await unreserveUnits(ctx.db, move.productId, move.quantity, ctx.now);
        await recordStockChange(ctx, ids, { productId: move.productId, level, quantityAdjusted: move.quantity, reason: `${reason}: taken off`, movement: 'release', orderId });
      } else if (move.action === 'ship') {
        const level = await shipUnits(ctx.db, move.productId, move.quantity, ctx.now);
        await recordStockChange(ctx, ids, { productId: move.productId, level, quantityAdjusted: 0, reason: `${reason}: added to the shipment`, movement: 'shipment', orderId });
      } else {
        const level = await unshipUnits(ctx.db, move.productId, move.quantity, ctx.now);
        await recordStockChange(ctx, ids, { productId: move.productId, level, quantityAdjusted: move.quantity, reason: `${reason}: taken off the shipment`, movement: 'return', orderId });
      }
    }
    await replaceReservationLines(ctx.db, orderId, plan.lines);
    // Units taken off are available again: backorders waiting for them come first.
    for (const move of plan.moves) if (move.action === 'unreserve' || move.action === 'unship') await serveBackorders(ctx, ids, move.productId, `order ${orderId} edit ${editId}`);
  };
}

async function releaseHold(ctx: Ctx, ids: IdGenerator, hold: EditHold, reason: string): Promise<void> {
  if (!(await transitionEditHold(ctx.db, hold.editId, 'held', 'released', ctx.now))) return;
  for (const line of hold.lines) {
    const level = await unreserveUnits(ctx.db, line.productId, line.quantity, ctx.now);
    await recordStockChange(ctx, ids, { productId: line.productId, level, quantityAdjusted: line.quantity, reason, movement: 'release', orderId: hold.orderId });
  }
  for (const line of hold.lines) await serveBackorders(ctx, ids, line.productId, reason);
}
