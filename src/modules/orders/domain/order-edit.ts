// Edits of a placed order (SPEC §8): they change what the order holds, never its status. Pure.
import type { Address } from '../events.js';
import type { Order, OrderEvent } from './order.js';
import type { OrderStatus } from './order-status.js';

/** Where the shipping address may still change (and only while the shipment is not dispatched). */
export const ADDRESS_EDITABLE: readonly OrderStatus[] = ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED'];

/** An edit: the new shipping address (item edits come later), and why. */
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
