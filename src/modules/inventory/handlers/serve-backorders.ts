import type { IdGenerator } from '../../../kernel/ids.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import { allocateRestock, type Allocation } from '../domain/backorders.js';
import { availableOf } from '../domain/stock.js';
import { backorderFulfilled, inventoryReserved } from '../events.js';
import { addToReservationLine, allocateBackorder, lockReservationStatus, waitingBackordersOf, waitingQueue } from '../storage/backorder-repository.js';
import { addBackorderedUnits, lockProductStock, reserveUnits } from '../storage/product-repository.js';
import { findReservation, transitionReservation } from '../storage/reservation-repository.js';
import type { InventoryTables } from '../storage/tables.js';
import { recordStockChange } from './record-stock-change.js';

type Tx = TxContext<InventoryTables>;

/**
 * Serves a product's waiting backorders from what is available, first placed first served
 * (allocateRestock), in the transaction that made the units available (a restock, a release, a
 * returned item, an override). The product's row is locked first: whoever serves its queue
 * holds it, so two transactions never share the same units. An order whose last backorder is
 * served has every line reserved: InventoryReserved, and its flow goes on.
 */
export async function serveBackorders(tx: Tx, ids: IdGenerator, productId: string, cause: string): Promise<void> {
  for (;;) {
    const stock = await lockProductStock(tx.db, productId);
    // `backordered` counts the units WAITING backorders miss: 0 means an empty queue, and no query.
    if (!stock || stock.backordered === 0) return;
    const available = availableOf(stock.level);
    if (available <= 0) return;
    const queue = await waitingQueue(tx.db, productId);
    const allocations = allocateRestock(available, queue);
    if (allocations.length === 0) return;
    for (const allocation of allocations) await serveOne(tx, ids, productId, allocation, cause);
    // A full page of the queue served in full: the next page may take what is left.
    if (!allocations.every((a) => a.fulfilled)) return;
  }
}

async function serveOne(tx: Tx, ids: IdGenerator, productId: string, allocation: Allocation, cause: string): Promise<void> {
  const { orderId, take } = allocation;
  const level = await reserveUnits(tx.db, productId, take, tx.now);
  if (!level) throw new Error(`cannot reserve ${take} of ${productId} for the backorder of ${orderId}: the locked stock changed`);
  const backorder = await allocateBackorder(tx.db, orderId, productId, take, tx.now);
  await addBackorderedUnits(tx.db, productId, -take, tx.now);
  await addToReservationLine(tx.db, orderId, productId, take);
  await recordStockChange(tx, ids, {
    productId,
    level,
    quantityAdjusted: -take,
    reason: `backorder of order ${orderId} served (${cause})`,
    movement: 'reservation',
    orderId,
  });
  if (backorder.status !== 'FULFILLED') return;
  tx.emit(backorderFulfilled({ orderId, productId, quantity: backorder.quantity }, backorder.correlationId));
  // Another product's restock may be serving this order's other backorder right now: the lock orders them.
  const status = await lockReservationStatus(tx.db, orderId);
  if (status !== 'waiting' || (await waitingBackordersOf(tx.db, orderId)) > 0) return;
  await transitionReservation(tx.db, orderId, 'waiting', 'reserved', tx.now);
  const reservation = await findReservation(tx.db, orderId);
  tx.emit(inventoryReserved({ orderId, reservations: reservation!.lines }, backorder.correlationId));
}
