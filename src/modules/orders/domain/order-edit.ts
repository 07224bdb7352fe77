// Edits of a placed order (SPEC §8): they change what the order holds, never its status. Pure.
//
// A new shipping address applies at once. An item edit is a saga of its own, kept on the order
// as its `pendingEdit`:
//   requested ─(units added?)→ stock: inventory holds them ─(total rises?)→ payment: payments
//   charges the rise ─→ applied: OrderUpdated (the lines and total change; inventory moves the
//   held units onto the order, gives removed ones back; payments refunds a fall of the total)
// Any step that fails ends it with OrderEditRejected (the held units go back, a charge made for
// it is refunded) and the order stays as it was. One edit at a time per order.
import type { Address } from '../events.js';
import type { ItemChanges, Order, OrderEvent, OrderLine, PendingEdit } from './order.js';
import type { OrderStatus } from './order-status.js';

/** Where the shipping address may still change (and only while the shipment is not dispatched). */
export const ADDRESS_EDITABLE: readonly OrderStatus[] = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED'];

/** Where the items may change: once paid (stock held, charge made), until the shipment is dispatched. */
export const ITEMS_EDITABLE: readonly OrderStatus[] = ['PAID', 'SHIPPED'];

/** An edit: the new shipping address, and why. */
export interface OrderEdit {
  shippingAddress: Address;
  reason?: string | undefined;
}

/** Accepted (with OrderUpdated, or no event when nothing changes), or refused with why. */
export type EditDecision = { ok: true; order: Order; events: OrderEvent[] } | { ok: false; code: 'ORDER_NOT_EDITABLE'; message: string };

/**
 * Decides an edit of `order` at `at` (epoch ms): the shipping address changes until the
 * shipment is dispatched, in PENDING, CONFIRMED, PAID and SHIPPED; a final order and a
 * dispatched one are refused. An address equal to the current one changes nothing.
 */
export function decideEdit(order: Order, edit: OrderEdit, at: number): EditDecision {
  if (!ADDRESS_EDITABLE.includes(order.status)) {
    return { ok: false, code: 'ORDER_NOT_EDITABLE', message: `order ${order.orderId} is ${order.status}: its shipping address can no longer change` };
  }
  if (order.dispatchedAt !== null) {
    return { ok: false, code: 'ORDER_NOT_EDITABLE', message: `order ${order.orderId} was dispatched: its shipping address can no longer change` };
  }
  const next = normalised(edit.shippingAddress);
  if (sameAddress(order.shippingAddress, next)) return { ok: true, order, events: [] };
  return {
    ok: true,
    order: { ...order, shippingAddress: next, updatedAt: at },
    events: [
      {
        type: 'OrderUpdated',
        payload: {
          orderId: order.orderId,
          changes: {
            items: { added: [], removed: [], modified: [] },
            shippingAddress: { old: order.shippingAddress, new: next },
            totalAmount: { old: order.totalAmount, new: order.totalAmount },
          },
          ...(edit.reason === undefined ? {} : { reason: edit.reason }),
        },
      },
    ],
  };
}

function normalised(address: Address): Address {
  return { street: address.street, city: address.city, postalCode: address.postalCode, country: address.country };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.street === b.street && a.city === b.city && a.postalCode === b.postalCode && a.country === b.country;
}

/** An item edit as asked: the order's new lines, priced (lines already on the order keep their price). */
export interface ItemEdit {
  editId: string;
  items: OrderLine[];
  reason?: string | undefined;
  /** A card for the difference; the order's own when not given. */
  paymentToken?: string | null | undefined;
}

/** Refusals of an item edit, and of a step that no longer applies. */
export type ItemEditRefusal = { ok: false; code: 'ORDER_NOT_EDITABLE' | 'EDIT_IN_PROGRESS'; message: string };

/** What another module reports about the edit under way. */
export type EditStep =
  | { type: 'StockHeld'; editId: string }
  | { type: 'StockShort'; editId: string; reason: string }
  | { type: 'Charged'; editId: string }
  | { type: 'ChargeFailed'; editId: string; reason: string };

/** The answer to a step: the next order and its events, or why the step is ignored (late, or of another edit). */
export type EditStepDecision = { ok: true; order: Order; events: OrderEvent[] } | { ok: false; message: string };

/**
 * Starts an item edit of `order` at `at`: refused unless the order is PAID or SHIPPED and not
 * dispatched, and no other edit is under way. The same lines change nothing. Units added are
 * first held by inventory; with none added, a higher total goes to payments, and an edit that
 * only takes units off or costs no more applies at once.
 */
export function requestItemEdit(order: Order, edit: ItemEdit, at: number): EditDecision | ItemEditRefusal {
  if (!ITEMS_EDITABLE.includes(order.status)) {
    const when = order.status === 'PENDING' || order.status === 'CONFIRMED' ? 'they can change once it is paid' : 'they can no longer change';
    return { ok: false, code: 'ORDER_NOT_EDITABLE', message: `order ${order.orderId} is ${order.status}: ${when}` };
  }
  if (order.dispatchedAt !== null) {
    return { ok: false, code: 'ORDER_NOT_EDITABLE', message: `order ${order.orderId} was dispatched: its items can no longer change` };
  }
  if (order.pendingEdit) {
    return { ok: false, code: 'EDIT_IN_PROGRESS', message: `order ${order.orderId} has an item edit under way (${order.pendingEdit.editId}, waiting for ${order.pendingEdit.stage}): try again once it ends` };
  }
  const changes = diffItems(order.items, edit.items);
  if (changes.added.length + changes.removed.length + changes.modified.length === 0) return { ok: true, order, events: [] };
  const totalAmount = edit.items.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  const stock = stockDeltas(changes);
  const pending: PendingEdit = {
    editId: edit.editId,
    stage: 'stock',
    items: edit.items.map((l) => ({ ...l })),
    totalAmount,
    changes,
    reason: edit.reason ?? null,
    paymentToken: edit.paymentToken ?? null,
    requestedAt: at,
  };
  const requested: OrderEvent = {
    type: 'OrderEditRequested',
    payload: {
      orderId: order.orderId,
      editId: edit.editId,
      stock,
      totalAmount: { old: order.totalAmount, new: totalAmount },
      currency: order.currency,
      ...(edit.reason === undefined ? {} : { reason: edit.reason }),
    },
  };
  const withEdit: Order = { ...order, pendingEdit: pending, updatedAt: at };
  if (stock.some((s) => s.quantity > 0)) return { ok: true, order: withEdit, events: [requested] };
  const next = afterStock(withEdit, pending, at);
  return { ok: true, order: next.order, events: [requested, ...next.events] };
}

/** Moves the edit under way on by what inventory or payments reported. Pure. */
export function advanceItemEdit(order: Order, step: EditStep, at: number): EditStepDecision {
  const pending = order.pendingEdit;
  if (!pending || pending.editId !== step.editId) return { ok: false, message: `order ${order.orderId} has no item edit ${step.editId} under way` };
  const expected = step.type === 'StockHeld' || step.type === 'StockShort' ? 'stock' : 'payment';
  if (pending.stage !== expected) return { ok: false, message: `item edit ${step.editId} of order ${order.orderId} waits for ${pending.stage}, not ${expected}` };
  switch (step.type) {
    case 'StockShort':
    case 'ChargeFailed':
      return rejectEdit(order, pending, step.reason, false, at);
    case 'StockHeld':
      if (!stillEditable(order)) return rejectEdit(order, pending, notEditableNow(order), false, at);
      return afterStock(order, pending, at);
    case 'Charged':
      if (!stillEditable(order)) return rejectEdit(order, pending, notEditableNow(order), true, at);
      return applyEdit(order, pending, at);
  }
}

/** The lines of `before` and `after` compared by product: what was added, removed and changed in quantity. */
export function diffItems(before: readonly OrderLine[], after: readonly OrderLine[]): ItemChanges {
  const old = new Map(before.map((l) => [l.productId, l.quantity]));
  const next = new Map(after.map((l) => [l.productId, l.quantity]));
  const byProduct = <T extends { productId: string }>(a: T, b: T) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0);
  return {
    added: after.filter((l) => !old.has(l.productId)).map((l) => ({ productId: l.productId, quantity: l.quantity })).sort(byProduct),
    removed: before.filter((l) => !next.has(l.productId)).map((l) => ({ productId: l.productId, quantity: l.quantity })).sort(byProduct),
    modified: after
      .filter((l) => old.has(l.productId) && old.get(l.productId) !== l.quantity)
      .map((l) => ({ productId: l.productId, oldQuantity: old.get(l.productId)!, newQuantity: l.quantity }))
      .sort(byProduct),
  };
}

/** Units each product changes by (positive: added), in product id order (the order stock rows are locked in). */
export function stockDeltas(changes: ItemChanges): { productId: string; quantity: number }[] {
  return [
    ...changes.added.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    ...changes.removed.map((l) => ({ productId: l.productId, quantity: -l.quantity })),
    ...changes.modified.map((l) => ({ productId: l.productId, quantity: l.newQuantity - l.oldQuantity })),
  ].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
}

function stillEditable(order: Order): boolean {
  return ITEMS_EDITABLE.includes(order.status) && order.dispatchedAt === null;
}

function notEditableNow(order: Order): string {
  return order.dispatchedAt !== null ? 'the shipment was dispatched before the edit completed' : `the order became ${order.status} before the edit completed`;
}

// Stock is held (or none was needed): a higher total is charged next, else the edit applies.
function afterStock(order: Order, pending: PendingEdit, at: number): { ok: true; order: Order; events: OrderEvent[] } {
  const rise = pending.totalAmount - order.totalAmount;
  if (rise <= 0) return applyEdit(order, pending, at);
  return {
    ok: true,
    order: { ...order, pendingEdit: { ...pending, stage: 'payment' }, updatedAt: at },
    events: [
      {
        type: 'OrderEditPaymentRequested',
        payload: { orderId: order.orderId, editId: pending.editId, amount: rise, currency: order.currency, paymentToken: pending.paymentToken ?? order.paymentToken },
      },
    ],
  };
}

function applyEdit(order: Order, pending: PendingEdit, at: number): { ok: true; order: Order; events: OrderEvent[] } {
  return {
    ok: true,
    order: {
      ...order,
      items: pending.items,
      totalAmount: pending.totalAmount,
      pendingEdit: null,
      editCount: order.editCount + 1,
      lastEdit: { editId: pending.editId, outcome: 'applied', reason: pending.reason, at },
      updatedAt: at,
    },
    events: [
      {
        type: 'OrderUpdated',
        payload: {
          orderId: order.orderId,
          changes: { items: pending.changes, totalAmount: { old: order.totalAmount, new: pending.totalAmount } },
          ...(pending.reason === null ? {} : { reason: pending.reason }),
          editId: pending.editId,
        },
      },
    ],
  };
}

function rejectEdit(order: Order, pending: PendingEdit, reason: string, refundCharge: boolean, at: number): EditStepDecision {
  return {
    ok: true,
    order: { ...order, pendingEdit: null, lastEdit: { editId: pending.editId, outcome: 'rejected', reason, at }, updatedAt: at },
    events: [{ type: 'OrderEditRejected', payload: { orderId: order.orderId, editId: pending.editId, reason, refundCharge } }],
  };
}
