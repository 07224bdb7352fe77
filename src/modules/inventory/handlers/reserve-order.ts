import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { isPostgres } from '../../../platform/storage/statements.js';
import { decideShortOrder, type BackorderPlan, type ShortLine } from '../domain/backorders.js';
import { decideReservation, reservationLines, type LineAttempt, type ReservationLine } from '../domain/reservations.js';
import { availableOf, type StockLevel } from '../domain/stock.js';
import { inventoryReservationFailed, inventoryReservationShort, inventoryReserved, orderBackordered } from '../events.js';
import { insertBackorders } from '../storage/backorder-repository.js';
import { addBackorderedUnits, lockProductStock, reserveOrderLines, reserveUnits, unreserveUnits } from '../storage/product-repository.js';
import { claimReservation, insertReservationLines, markReservationFailed, transitionReservation } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';

type Ctx = HandlerContext<InventoryTables>;

/** How inventory treats an order short of stock. */
export interface ShortOrderPolicy {
  /** SHORT_ORDER_REVIEW_MS > 0: an order short of a product without backorders is held for an admin's override instead of refused. */
  holdForReview: boolean;
}

/** A line tried against the stock, with whether its product takes backorders when it was short. */
type Attempt = LineAttempt & { allowBackorders?: boolean };

/**
 * OrderPlaced → reserve every line → InventoryReserved; or, short of stock: OrderBackordered per
 * short line when every short product takes backorders (the order waits), InventoryReservationShort
 * when short orders are held for review, else InventoryReservationFailed with nothing held. Each
 * line is one guarded UPDATE in productId order (concurrent transactions lock rows in the same
 * order); a short line's row is locked before what is available of it is read. On PostgreSQL the
 * claim and every line are one statement that does the same (`reserveAtOnce`).
 */
export function reserveOrder(ids: IdGenerator, policy: ShortOrderPolicy = { holdForReview: false }) {
  return async (event: EventEnvelope<PayloadOf<'OrderPlaced'>>, ctx: Ctx): Promise<void> => {
    const { orderId, orderNumber } = event.payload;
    const lines = reservationLines(event.payload.items);
    let attempts = await reserveAtOnce(ctx, orderId, lines);
    // Reserved at once, every line: the statement recorded the lines as well.
    const linesRecorded = attempts !== undefined;
    if (!attempts) attempts = (await claimReservation(ctx.db, orderId, ctx.now)) ? await attemptLines(ctx, lines) : 'seen';
    if (attempts === 'seen') {
      ctx.log.info({ orderId }, 'order already has a reservation record; OrderPlaced ignored');
      return;
    }
    const decision = decideReservation(attempts);
    if (decision.kind === 'reserved') {
      if (!linesRecorded) await insertReservationLines(ctx.db, orderId, lines);
      await recordReserved(ctx, ids, attempts, `order ${orderNumber} reserved`, orderId);
      ctx.emit(inventoryReserved({ orderId, reservations: decision.reservations }));
      return;
    }
    const shorts = attempts.filter((a): a is Attempt & { outcome: 'short' } => a.outcome === 'short');
    const plan = decision.reason === 'insufficient_stock' ? decideShortOrder(shorts.map(toShortLine), policy) : ({ kind: 'refuse' } as const);
    if (plan.kind === 'refuse') {
      await insertReservationLines(ctx.db, orderId, lines);
      for (const line of decision.undo) await unreserveUnits(ctx.db, line.productId, line.quantity, ctx.now);
      await markReservationFailed(ctx.db, orderId, decision.reason, ctx.now);
      ctx.emit(inventoryReservationFailed({ orderId, reason: decision.reason, shortages: decision.shortages }));
      return;
    }
    await holdShortOrder(ctx, ids, event, attempts, plan);
  };
}

/** Keeps what is available of each short line and records the shortfalls, WAITING or held for REVIEW. */
async function holdShortOrder(ctx: Ctx, ids: IdGenerator, event: EventEnvelope<PayloadOf<'OrderPlaced'>>, attempts: Attempt[], plan: { kind: 'backorder' | 'review'; lines: BackorderPlan[] }): Promise<void> {
  const { orderId, orderNumber } = event.payload;
  const taken = new Map(plan.lines.map((l) => [l.productId, l.take]));
  const held: ReservationLine[] = attempts.map((a) => ({ productId: a.productId, quantity: a.outcome === 'reserved' ? a.requested : (taken.get(a.productId) ?? 0) }));
  await insertReservationLines(ctx.db, orderId, held);
  await recordReserved(ctx, ids, attempts, `order ${orderNumber} reserved`, orderId);
  for (const line of plan.lines) {
    if (line.take === 0) continue;
    const level = await reserveUnits(ctx.db, line.productId, line.take, ctx.now);
    if (!level) throw new Error(`cannot reserve the ${line.take} available units of ${line.productId}: the locked stock changed`);
    await recordStockChange(ctx, ids, { productId: line.productId, level, quantityAdjusted: -line.take, reason: `order ${orderNumber} reserved in part`, movement: 'reservation', orderId });
  }
  const missing = plan.lines.map((l) => ({ productId: l.productId, quantity: l.missing }));
  const order = { orderId, placedSeq: event.sequence ?? 0, correlationId: event.correlationId };
  if (plan.kind === 'review') {
    await insertBackorders(ctx.db, order, missing, 'REVIEW', ctx.now);
    await transitionReservation(ctx.db, orderId, 'reserved', 'review', ctx.now);
    ctx.emit(inventoryReservationShort({ orderId, shortages: plan.lines.map((l) => ({ productId: l.productId, requested: l.requested, available: l.available })) }));
    return;
  }
  await insertBackorders(ctx.db, order, missing, 'WAITING', ctx.now);
  await transitionReservation(ctx.db, orderId, 'reserved', 'waiting', ctx.now);
  for (const line of plan.lines) {
    await addBackorderedUnits(ctx.db, line.productId, line.missing, ctx.now);
    ctx.emit(orderBackordered({ orderId, productId: line.productId, quantity: line.missing, reserved: line.take, cause: 'backorders allowed' }, event.correlationId));
  }
}

async function recordReserved(ctx: Ctx, ids: IdGenerator, attempts: readonly Attempt[], reason: string, orderId: string): Promise<void> {
  for (const attempt of attempts) {
    if (attempt.outcome !== 'reserved') continue;
    await recordStockChange(ctx, ids, { productId: attempt.productId, level: attempt.level, quantityAdjusted: -attempt.requested, reason, movement: 'reservation', orderId });
  }
}

function toShortLine(a: Attempt & { outcome: 'short' }): ShortLine {
  return { productId: a.productId, requested: a.requested, available: a.available, allowBackorders: a.allowBackorders === true };
}

/**
 * PostgreSQL: the claim and every line in one statement (`reserveOrderLines`), one round trip,
 * with the outcome line by line would have: the lines that fit reserved, the rows of short
 * ones locked and read; every line reserved, the lines recorded. 'seen' when the order had a reservation record already. SQLite:
 * undefined — in-process statements gain nothing, and the order goes line by line.
 */
async function reserveAtOnce(ctx: Ctx, orderId: string, lines: readonly ReservationLine[]): Promise<Attempt[] | 'seen' | undefined> {
  if (!isPostgres(ctx.db)) return undefined;
  const reserved = await reserveOrderLines(ctx.db, orderId, lines, ctx.now);
  if (!reserved) return 'seen';
  return reserved.map((line, i): Attempt => {
    const requested = lines[i]!.quantity;
    if (line.outcome === 'reserved') return { productId: line.productId, requested, outcome: 'reserved', level: line.level };
    if (line.outcome === 'unknown') return { productId: line.productId, requested, outcome: 'unknown' };
    return { productId: line.productId, requested, outcome: 'short', available: availableOf(line.level), allowBackorders: line.allowBackorders };
  });
}

/**
 * Tries every line. A line that does not fit locks its product's row and reads what is
 * available of it then (and whether the product takes backorders): an order short of stock may
 * still keep that much. An order that ends up refused gives back every line taken.
 */
async function attemptLines(ctx: Ctx, lines: readonly ReservationLine[]): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  for (const { productId, quantity } of lines) {
    const reserved: StockLevel | undefined = await reserveUnits(ctx.db, productId, quantity, ctx.now);
    if (reserved) {
      attempts.push({ productId, requested: quantity, outcome: 'reserved', level: reserved });
      continue;
    }
    const stock = await lockProductStock(ctx.db, productId);
    if (!stock) attempts.push({ productId, requested: quantity, outcome: 'unknown' });
    else attempts.push({ productId, requested: quantity, outcome: 'short', available: availableOf(stock.level), allowBackorders: stock.allowBackorders });
  }
  return attempts;
}
