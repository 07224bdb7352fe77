import type { ModuleApis } from '../../src/composition.js';
import type { Engine } from '../../src/platform/engine.js';

const SETTLED = new Set(['SHIPPED', 'DELIVERED', 'REJECTED', 'PAYMENT_FAILED', 'CANCELLED']);
const CHARGED = new Set(['PAID', 'SHIPPED', 'DELIVERED']);

/**
 * The fulfilment invariants of SPEC §5, checked over the whole database; returns every
 * violation found (an empty list when all hold).
 */
export async function fulfilmentViolations(apis: ModuleApis, engine: Engine): Promise<string[]> {
  const violations = await stockViolations(apis);
  const dead = await engine.deadLetters.list();
  for (const d of dead) violations.push(`open dead letter ${d.consumer} ${d.eventType} ${d.aggregateId}: ${d.error}`);
  violations.push(...(await orderViolations(apis)));
  return violations;
}

/**
 * The stock identities of SPEC §5 and of backorders, which hold at every moment (not only once
 * the flows settled): onHand = initial + restocked − shipped; reserved = open reservations,
 * within 0..onHand; backordered = the units waiting backorders miss; no unit available while a
 * backorder waits for it.
 */
export async function stockViolations(apis: ModuleApis): Promise<string[]> {
  const violations: string[] = [];
  for (const p of await apis.inventory.stockLedger()) {
    if (p.onHand !== p.initialStock + p.restocked - p.shipped) violations.push(`${p.productId}: onHand ${p.onHand} ≠ initial ${p.initialStock} + restocked ${p.restocked} − shipped ${p.shipped}`);
    if (p.reserved !== p.openReservations) violations.push(`${p.productId}: reserved ${p.reserved} ≠ open reservations ${p.openReservations}`);
    if (p.reserved < 0 || p.onHand < p.reserved) violations.push(`${p.productId}: reserved ${p.reserved} outside 0..onHand ${p.onHand}`);
    // Backorders are kept apart: available never goes negative for them, and nothing sits idle while one waits.
    if (p.backordered !== p.waitingBackorders) violations.push(`${p.productId}: backordered ${p.backordered} ≠ waiting backorders ${p.waitingBackorders}`);
    if (p.backordered < 0) violations.push(`${p.productId}: backordered ${p.backordered} < 0`);
    if (p.waitingBackorders > 0 && p.onHand - p.reserved > 0) violations.push(`${p.productId}: ${p.onHand - p.reserved} available while backorders wait for ${p.waitingBackorders}`);
  }
  return violations;
}

async function orderViolations(apis: ModuleApis): Promise<string[]> {
  const violations: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await apis.orders.listOrders({ limit: 200, cursor });
    for (const order of page.orders) {
      if (!SETTLED.has(order.status)) violations.push(`${order.orderNumber}: status ${order.status} is neither terminal nor SHIPPED`);
      // The placement is charged once at most; an item edit that raised the total adds a charge of its own.
      const charges = await apis.payments.chargesForOrder(order.orderId);
      if (charges > 1) violations.push(`${order.orderNumber}: charged ${charges} times`);
      if (CHARGED.has(order.status) && charges !== 1) violations.push(`${order.orderNumber}: ${order.status} but charged ${charges} times`);
      const editCharges = await apis.payments.editChargesForOrder(order.orderId);
      if (charges === 0 && editCharges > 0) violations.push(`${order.orderNumber}: ${editCharges} edit charges without a charge of the order`);
      // Refunds (a cancellation's in full, returns' and edits' in part) never add up to more than the charges.
      const refunded = await apis.payments.refundedAmountForOrder(order.orderId);
      const charged = charges > 0 ? ((await apis.payments.getPaymentForOrder(order.orderId))?.amount ?? 0) : 0;
      if (refunded > charged) violations.push(`${order.orderNumber}: refunded ${refunded} of charges of ${charged}`);
      if (order.status === 'CANCELLED' && refunded !== charged) violations.push(`${order.orderNumber}: cancelled with ${charged} charged and ${refunded} refunded`);
      // What the customer paid in the end is the order's total, less what returns gave back.
      if (CHARGED.has(order.status) && !order.pendingEdit) {
        const returned = (await apis.orders.listReturns(order.orderId)).reduce((n, r) => n + (r.refundedAmount ?? 0), 0);
        if (charged - refunded !== order.totalAmount - returned) {
          violations.push(`${order.orderNumber}: ${order.status} for ${order.totalAmount} (returns refunded ${returned}) but charged ${charged} − refunded ${refunded}`);
        }
      }
      if (order.pendingEdit) violations.push(`${order.orderNumber}: item edit ${order.pendingEdit.editId} still under way`);
      const reservation = await apis.inventory.reservationOf(order.orderId);
      if (reservation?.status === 'reserved' || reservation?.status === 'waiting' || reservation?.status === 'review') violations.push(`${order.orderNumber}: ${order.status} still holds its reservation (${reservation.status})`);
      const waiting = (await apis.inventory.backordersOf(order.orderId)).filter((b) => b.status === 'WAITING' || b.status === 'REVIEW');
      if (waiting.length > 0) violations.push(`${order.orderNumber}: ${order.status} with ${waiting.length} backorders still open`);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return violations;
}
