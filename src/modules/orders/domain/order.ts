import type { Address, CancelledBy, OrderEventPayloads, OrderEventType, SourceChannel } from '../events.js';
import { nextStatus, type OrderStatus, type OrderTrigger } from './order-status.js';

/** A priced line of an order. */
export interface OrderLine {
  productId: string;
  /** Catalog name at placement. */
  name: string;
  quantity: number;
  /** Minor units. */
  unitPrice: number;
}

/** An item edit under way (SPEC §8): the lines and total it leads to, and the step it waits for. */
export interface PendingEdit {
  editId: string;
  /** `stock`: inventory holds the units added; `payment`: payments charges the rise. */
  stage: 'stock' | 'payment';
  items: OrderLine[];
  totalAmount: number;
  changes: ItemChanges;
  reason: string | null;
  /** The card for the difference, when the edit gave one. */
  paymentToken: string | null;
  requestedAt: number;
}

/** How an item edit ended: applied, or rejected with why. */
export interface EditOutcome {
  editId: string;
  outcome: 'applied' | 'rejected';
  reason: string | null;
  at: number;
}

/** What an item edit changes, line by line. */
export interface ItemChanges {
  added: { productId: string; quantity: number }[];
  removed: { productId: string; quantity: number }[];
  modified: { productId: string; oldQuantity: number; newQuantity: number }[];
}

/** The order aggregate. Times are epoch milliseconds. */
export interface Order {
  orderId: string;
  orderNumber: string;
  customerId: string;
  status: OrderStatus;
  items: OrderLine[];
  totalAmount: number;
  currency: string;
  shippingAddress: Address;
  billingAddress: Address | null;
  sourceChannel: SourceChannel | null;
  paymentToken: string | null;
  correlationId: string;
  sagaId: string;
  cancellationReason: string | null;
  cancelledBy: CancelledBy | null;
  rejectionReason: string | null;
  paymentFailureReason: string | null;
  paymentId: string | null;
  shipmentId: string | null;
  trackingNumber: string | null;
  dispatchedAt: number | null;
  deliveredAt: number | null;
  statusHistory: { status: OrderStatus; at: number }[];
  /** The item edit under way, if any. */
  pendingEdit: PendingEdit | null;
  /** Item edits applied so far (the lines differ from the placement's when > 0). */
  editCount: number;
  /** How the last item edit ended. */
  lastEdit: EditOutcome | null;
  createdAt: number;
  updatedAt: number;
}

/** What can happen to a placed order: the outcomes other modules report, and cancellation. */
export type OrderCommand =
  /** `restartDeadline`: the payment's deadline, should the reservation have waited for stock. */
  | { type: 'ConfirmReservation'; restartDeadline?: number }
  | { type: 'RejectReservation'; reason: string }
  | { type: 'RecordPayment'; paymentId: string }
  | { type: 'FailPayment'; reason: string }
  | { type: 'RecordShipment'; shipmentId: string; trackingNumber: string }
  | { type: 'RecordDispatch'; shipmentId: string; dispatchedAt: number }
  | { type: 'RecordDelivery'; shipmentId: string; deliveredAt: number }
  | { type: 'Cancel'; reason: string; by: CancelledBy }
  /** The saga deadline passed; `reason` defaults to `timeout` (`backorder timeout` for an order that waited for stock). */
  | { type: 'TimeOut'; reason?: string };

/** An event the order publishes, with its typed payload. */
export type OrderEvent = { [K in OrderEventType]: { type: K; payload: OrderEventPayloads[K] } }[OrderEventType];

/** Accepted: the next state and the events to publish; or refused with a reason. */
export type OrderDecision =
  | { ok: true; order: Order; events: OrderEvent[] }
  | { ok: false; code: 'TRANSITION_REFUSED' | 'SHIPMENT_MISMATCH'; message: string };

/** The reason recorded when a cancel gives none. */
export function defaultCancelReason(by: CancelledBy): string {
  return `cancelled by ${by}`;
}

/** The reason of a cancellation by the saga deadline. */
export const TIMEOUT_REASON = 'timeout';

/** The reason of a cancellation when an order waited for stock longer than BACKORDER_TIMEOUT_MS. */
export const BACKORDER_TIMEOUT_REASON = 'backorder timeout';

/** The reason of a rejection when no admin overrode a short order within SHORT_ORDER_REVIEW_MS. */
export const REVIEW_EXPIRED_REASON = 'insufficient_stock: no override within the review window';

/** Decides what `command` does to `order` at `at` (epoch ms). Pure. */
export function decideOrder(order: Order, command: OrderCommand, at: number): OrderDecision {
  switch (command.type) {
    case 'ConfirmReservation':
      return move(order, 'confirm', at, {}, () => [{ type: 'OrderConfirmed', payload: confirmedPayload(order) }]);
    case 'RejectReservation':
      return move(order, 'reject', at, { rejectionReason: command.reason }, () => [
        { type: 'OrderRejected', payload: { orderId: order.orderId, reason: command.reason } },
      ]);
    case 'RecordPayment':
      return move(order, 'pay', at, { paymentId: command.paymentId }, () => [{ type: 'OrderPaid', payload: paidPayload(order, command.paymentId) }]);
    case 'FailPayment':
      return move(order, 'failPayment', at, { paymentFailureReason: command.reason }, () => [
        { type: 'OrderPaymentFailed', payload: { orderId: order.orderId, reason: command.reason } },
      ]);
    case 'RecordShipment': {
      const { shipmentId, trackingNumber } = command;
      return move(order, 'ship', at, { shipmentId, trackingNumber }, () => [{ type: 'OrderShipped', payload: { orderId: order.orderId, shipmentId, trackingNumber } }]);
    }
    case 'RecordDispatch':
      return recordDispatch(order, command, at);
    case 'RecordDelivery':
      if (order.shipmentId !== null && order.shipmentId !== command.shipmentId) return shipmentMismatch(order, command.shipmentId);
      return move(order, 'deliver', at, { deliveredAt: command.deliveredAt }, () => [
        { type: 'OrderDelivered', payload: { orderId: order.orderId, shipmentId: command.shipmentId } },
      ]);
    case 'Cancel':
      return cancel(order, 'cancel', command.reason, command.by, at);
    case 'TimeOut':
      return cancel(order, 'timeOut', command.reason ?? TIMEOUT_REASON, 'system', at);
  }
}

function move(order: Order, trigger: OrderTrigger, at: number, patch: Partial<Order>, events: () => OrderEvent[]): OrderDecision {
  const to = nextStatus(order.status, trigger);
  if (!to) return { ok: false, code: 'TRANSITION_REFUSED', message: `order ${order.orderId} is ${order.status}: ${trigger} does not apply` };
  const next: Order = { ...order, ...patch, status: to, statusHistory: [...order.statusHistory, { status: to, at }], updatedAt: at };
  return { ok: true, order: next, events: events() };
}

function cancel(order: Order, trigger: 'cancel' | 'timeOut', reason: string, by: CancelledBy, at: number): OrderDecision {
  const refundRequired = order.status === 'PAID';
  // An item edit under way ends with the order: inventory releases what it held and payments
  // refunds every charge of the order on OrderCancelled.
  return move(order, trigger, at, { cancellationReason: reason, cancelledBy: by, pendingEdit: null }, () => [
    { type: 'OrderCancelled', payload: { orderId: order.orderId, reason, refundRequired, cancelledBy: by } },
  ]);
}

// Dispatch changes no status; it is recorded only on a SHIPPED order with the same shipment.
function recordDispatch(order: Order, command: { shipmentId: string; dispatchedAt: number }, at: number): OrderDecision {
  if (order.status !== 'SHIPPED') return { ok: false, code: 'TRANSITION_REFUSED', message: `order ${order.orderId} is ${order.status}: dispatch does not apply` };
  if (order.shipmentId !== command.shipmentId) return shipmentMismatch(order, command.shipmentId);
  if (order.dispatchedAt !== null) return { ok: false, code: 'TRANSITION_REFUSED', message: `order ${order.orderId} was already dispatched` };
  return { ok: true, order: { ...order, dispatchedAt: command.dispatchedAt, updatedAt: at }, events: [] };
}

function shipmentMismatch(order: Order, shipmentId: string): OrderDecision {
  return { ok: false, code: 'SHIPMENT_MISMATCH', message: `order ${order.orderId} ships as ${order.shipmentId ?? 'nothing'}, not ${shipmentId}` };
}

function confirmedPayload(order: Order): OrderEventPayloads['OrderConfirmed'] {
  return { orderId: order.orderId, totalAmount: order.totalAmount, currency: order.currency, customerId: order.customerId, paymentToken: order.paymentToken };
}

function paidPayload(order: Order, paymentId: string): OrderEventPayloads['OrderPaid'] {
  return {
    orderId: order.orderId,
    paymentId,
    items: order.items.map((l) => ({ productId: l.productId, quantity: l.quantity })),
    shippingAddress: order.shippingAddress,
    customerId: order.customerId,
  };
}
