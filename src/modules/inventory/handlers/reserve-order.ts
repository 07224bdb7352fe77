import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { decideReservation, reservationLines, type LineAttempt, type ReservationLine } from '../domain/reservations.js';
import { availableOf } from '../domain/stock.js';
import { inventoryReservationFailed, inventoryReserved } from '../events.js';
import { reserveUnits, stockLevelOf, unreserveUnits } from '../storage/product-repository.js';
import { claimReservation, insertReservationLines, markReservationFailed } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';

type Ctx = HandlerContext<InventoryTables>;

/**
 * OrderPlaced → reserve every line or none → InventoryReserved | InventoryReservationFailed.
 * Each line is one guarded UPDATE (in productId order, so concurrent transactions lock rows in
 * the same order); if a line cannot be served, the lines already taken are given back in the
 * same transaction.
 */
export function reserveOrder(ids: IdGenerator) {
  return async (event: EventEnvelope<PayloadOf<'OrderPlaced'>>, ctx: Ctx): Promise<void> => {
    const { orderId, orderNumber } = event.payload;
    if (!(await claimReservation(ctx.db, orderId, ctx.now))) {
      ctx.log.info({ orderId }, 'order already has a reservation record; OrderPlaced ignored');
      return;
    }
    const lines = reservationLines(event.payload.items);
    const attempts = await attemptLines(ctx, lines);
    const decision = decideReservation(attempts);
    await insertReservationLines(ctx.db, orderId, lines);
    if (decision.kind === 'failed') {
      for (const line of decision.undo) await unreserveUnits(ctx.db, line.productId, line.quantity, ctx.now);
      await markReservationFailed(ctx.db, orderId, decision.reason, ctx.now);
      ctx.emit(inventoryReservationFailed({ orderId, reason: decision.reason, shortages: decision.shortages }));
      return;
    }
    for (const attempt of attempts) {
      if (attempt.outcome !== 'reserved') continue;
      await recordStockChange(ctx, ids, {
        productId: attempt.productId,
        level: attempt.level,
        quantityAdjusted: -attempt.requested,
        reason: `order ${orderNumber} reserved`,
        movement: 'reservation',
        orderId,
      });
    }
    ctx.emit(inventoryReserved({ orderId, reservations: decision.reservations }));
  };
}

/** Tries each line; after the first failure the rest are only looked at, to report every shortage. */
async function attemptLines(ctx: Ctx, lines: readonly ReservationLine[]): Promise<LineAttempt[]> {
  const attempts: LineAttempt[] = [];
  let failed = false;
  for (const { productId, quantity } of lines) {
    const reserved = failed ? undefined : await reserveUnits(ctx.db, productId, quantity, ctx.now);
    if (reserved) {
      attempts.push({ productId, requested: quantity, outcome: 'reserved', level: reserved });
      continue;
    }
    const level = await stockLevelOf(ctx.db, productId);
    if (!level) attempts.push({ productId, requested: quantity, outcome: 'unknown' });
    else if (failed && availableOf(level) >= quantity) continue;
    else attempts.push({ productId, requested: quantity, outcome: 'short', available: availableOf(level) });
    failed = true;
  }
  return attempts;
}
