/**
 * The shipment of one order as a status machine; pure functions, no I/O.
 *
 * ```
 * (none) ──OrderPaid──▶ CREATED ──dispatch──▶ DISPATCHED ──deliver──▶ DELIVERED
 *                          └──OrderCancelled──▶ CANCELLED
 * ```
 */

/** Where a shipment is. */
export type ShipmentStatus = 'CREATED' | 'DISPATCHED' | 'DELIVERED' | 'CANCELLED';

/** A transition the machine does not allow. */
export interface Refusal {
  readonly refused: true;
  /** Stable code, e.g. `SHIPMENT_NOT_DISPATCHABLE`. */
  readonly code: string;
  readonly message: string;
}

/** Either the status a transition leads to, or a refusal. */
export type Decision = { readonly refused: false; readonly status: ShipmentStatus } | Refusal;

const to = (status: ShipmentStatus): Decision => ({ refused: false, status });
const refuse = (code: string, message: string): Refusal => ({ refused: true, code, message });

/** OrderPaid: one shipment per order, none for an order already cancelled. */
export function createShipment(existing: ShipmentStatus | undefined, orderCancelled: boolean): Decision {
  if (existing) return refuse('SHIPMENT_ALREADY_EXISTS', `the order already has a shipment (${existing})`);
  if (orderCancelled) return refuse('ORDER_CANCELLED', 'the order was cancelled; nothing is shipped');
  return to('CREATED');
}

/** dispatch: only a created shipment leaves the warehouse. */
export function dispatchShipment(status: ShipmentStatus): Decision {
  if (status === 'CREATED') return to('DISPATCHED');
  return refuse('SHIPMENT_NOT_DISPATCHABLE', `a ${status} shipment cannot be dispatched`);
}

/** deliver: only a dispatched shipment arrives. */
export function deliverShipment(status: ShipmentStatus): Decision {
  if (status === 'DISPATCHED') return to('DELIVERED');
  return refuse('SHIPMENT_NOT_DELIVERABLE', `a ${status} shipment cannot be delivered`);
}

/** OrderCancelled: a shipment not yet dispatched is cancelled; one on its way is left alone. */
export function cancelShipment(status: ShipmentStatus): Decision {
  if (status === 'CREATED') return to('CANCELLED');
  return refuse('SHIPMENT_NOT_CANCELLABLE', `a ${status} shipment cannot be cancelled`);
}
