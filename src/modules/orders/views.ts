import { createHash } from 'node:crypto';
import type { OrderView, ReturnView, SagaView, StockReviewView } from './api.js';
import type { StockReview } from './domain/stock-override.js';
import type { Order } from './domain/order.js';
import type { OrderReturn } from './domain/returns.js';
import type { Saga } from './domain/saga.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** The order as the API shows it: ISO times, and the payment token reduced to its kind. */
export function toOrderView(order: Order): OrderView {
  return {
    orderId: order.orderId,
    orderNumber: order.orderNumber,
    customerId: order.customerId,
    status: order.status,
    items: order.items.map((l) => ({ productId: l.productId, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice })),
    totalAmount: order.totalAmount,
    currency: order.currency,
    shippingAddress: order.shippingAddress,
    billingAddress: order.billingAddress,
    sourceChannel: order.sourceChannel,
    paymentMethod: { type: order.paymentToken === null ? 'none' : 'card' },
    correlationId: order.correlationId,
    sagaId: order.sagaId,
    cancellationReason: order.cancellationReason,
    cancelledBy: order.cancelledBy,
    rejectionReason: order.rejectionReason,
    paymentFailureReason: order.paymentFailureReason,
    paymentId: order.paymentId,
    shipmentId: order.shipmentId,
    trackingNumber: order.trackingNumber,
    dispatchedAt: isoOrNull(order.dispatchedAt),
    deliveredAt: isoOrNull(order.deliveredAt),
    statusHistory: order.statusHistory.map((h) => ({ status: h.status, at: iso(h.at) })),
    pendingEdit: order.pendingEdit && {
      editId: order.pendingEdit.editId,
      stage: order.pendingEdit.stage,
      items: order.pendingEdit.items.map((l) => ({ productId: l.productId, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice })),
      totalAmount: order.pendingEdit.totalAmount,
      reason: order.pendingEdit.reason,
      requestedAt: iso(order.pendingEdit.requestedAt),
    },
    lastEdit: order.lastEdit && { ...order.lastEdit, at: iso(order.lastEdit.at) },
    createdAt: iso(order.createdAt),
    updatedAt: iso(order.updatedAt),
  };
}

/**
 * The version of an order as it reads: a digest of its view, so any change anyone can see
 * (a status, an address, a time) gives another version. An edit names the version it is based
 * on (HTTP: the ETag in If-Match) and is refused when the order has moved on since.
 */
export function orderVersion(view: OrderView): string {
  return createHash('sha256').update(JSON.stringify(view)).digest('base64url').slice(0, 27);
}

/** A return as the API shows it: ISO times. */
export function toReturnView(r: OrderReturn): ReturnView {
  return { ...r, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt) };
}

/** The saga as the API shows it. */
export function toSagaView(saga: Saga): SagaView {
  return {
    sagaId: saga.sagaId,
    orderId: saga.orderId,
    state: saga.state,
    steps: saga.steps.map((s) => ({ name: s.name, status: s.status, at: iso(s.at), ...(s.detail === undefined ? {} : { detail: s.detail }) })),
    compensations: saga.compensations.map((c) => ({ name: c.name, at: iso(c.at), detail: c.detail })),
    pendingCompensations: [...saga.pending],
    deadline: iso(saga.deadline),
    startedAt: iso(saga.startedAt),
    completedAt: isoOrNull(saga.completedAt),
    durationMs: saga.completedAt === null ? null : saga.completedAt - saga.startedAt,
  };
}

/** A stock review as the API shows it: ISO times. */
export function toStockReviewView(review: StockReview): StockReviewView {
  const { override } = review;
  return {
    orderId: review.orderId,
    shortages: review.shortages,
    override: override === null ? null : { items: override.items, reason: override.reason, expectedRestockAt: override.expectedRestockAt, approvedBy: override.approvedBy, at: iso(override.at) },
    heldAt: iso(review.createdAt),
  };
}
