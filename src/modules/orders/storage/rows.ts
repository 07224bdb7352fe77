import type { Address, CancelledBy, SourceChannel } from '../events.js';
import type { EditOutcome, Order, PendingEdit } from '../domain/order.js';
import type { OrderStatus } from '../domain/order-status.js';
import type { CompensationName, Saga, SagaCompensation, SagaState, SagaStep } from '../domain/saga.js';
import type { OrderItemRow, OrderRow, OrderSagaRow } from './tables.js';

// Rows ↔ aggregates. The columns were written by this module, so their values are trusted.

export function orderToRow(order: Order): Omit<OrderRow, 'version'> {
  return {
    order_id: order.orderId,
    order_number: order.orderNumber,
    customer_id: order.customerId,
    status: order.status,
    currency: order.currency,
    total_amount: order.totalAmount,
    shipping_address: JSON.stringify(order.shippingAddress),
    billing_address: order.billingAddress ? JSON.stringify(order.billingAddress) : null,
    source_channel: order.sourceChannel,
    payment_token: order.paymentToken,
    correlation_id: order.correlationId,
    saga_id: order.sagaId,
    cancellation_reason: order.cancellationReason,
    cancelled_by: order.cancelledBy,
    rejection_reason: order.rejectionReason,
    payment_failure_reason: order.paymentFailureReason,
    payment_id: order.paymentId,
    shipment_id: order.shipmentId,
    tracking_number: order.trackingNumber,
    dispatched_at: order.dispatchedAt,
    delivered_at: order.deliveredAt,
    status_history: JSON.stringify(order.statusHistory),
    pending_edit: order.pendingEdit ? JSON.stringify(order.pendingEdit) : null,
    edit_count: order.editCount,
    last_edit: order.lastEdit ? JSON.stringify(order.lastEdit) : null,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
  };
}

export function itemsToRows(order: Order): OrderItemRow[] {
  return order.items.map((l, i) => ({ order_id: order.orderId, line_no: i + 1, product_id: l.productId, name: l.name, quantity: l.quantity, unit_price: l.unitPrice }));
}

export function orderFromRows(row: OrderRow, items: readonly OrderItemRow[]): Order {
  return {
    orderId: row.order_id,
    orderNumber: row.order_number,
    customerId: row.customer_id,
    status: row.status as OrderStatus,
    items: [...items]
      .sort((a, b) => Number(a.line_no) - Number(b.line_no))
      .map((i) => ({ productId: i.product_id, name: i.name, quantity: Number(i.quantity), unitPrice: Number(i.unit_price) })),
    totalAmount: Number(row.total_amount),
    currency: row.currency,
    shippingAddress: JSON.parse(row.shipping_address) as Address,
    billingAddress: row.billing_address === null ? null : (JSON.parse(row.billing_address) as Address),
    sourceChannel: row.source_channel as SourceChannel | null,
    paymentToken: row.payment_token,
    correlationId: row.correlation_id,
    sagaId: row.saga_id,
    cancellationReason: row.cancellation_reason,
    cancelledBy: row.cancelled_by as CancelledBy | null,
    rejectionReason: row.rejection_reason,
    paymentFailureReason: row.payment_failure_reason,
    paymentId: row.payment_id,
    shipmentId: row.shipment_id,
    trackingNumber: row.tracking_number,
    dispatchedAt: nullableNumber(row.dispatched_at),
    deliveredAt: nullableNumber(row.delivered_at),
    statusHistory: JSON.parse(row.status_history) as Order['statusHistory'],
    pendingEdit: row.pending_edit === null || row.pending_edit === undefined ? null : (JSON.parse(row.pending_edit) as PendingEdit),
    editCount: Number(row.edit_count ?? 0),
    lastEdit: row.last_edit === null || row.last_edit === undefined ? null : (JSON.parse(row.last_edit) as EditOutcome),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function sagaToRow(saga: Saga): OrderSagaRow {
  return {
    saga_id: saga.sagaId,
    order_id: saga.orderId,
    state: saga.state,
    steps: JSON.stringify(saga.steps),
    compensations: JSON.stringify(saga.compensations),
    pending_compensations: JSON.stringify(saga.pending),
    deadline: saga.deadline,
    started_at: saga.startedAt,
    completed_at: saga.completedAt,
    updated_at: saga.updatedAt,
  };
}

export function sagaFromRow(row: OrderSagaRow): Saga {
  return {
    sagaId: row.saga_id,
    orderId: row.order_id,
    state: row.state as SagaState,
    steps: JSON.parse(row.steps) as SagaStep[],
    compensations: JSON.parse(row.compensations) as SagaCompensation[],
    pending: JSON.parse(row.pending_compensations) as CompensationName[],
    deadline: Number(row.deadline),
    startedAt: Number(row.started_at),
    completedAt: nullableNumber(row.completed_at),
    updatedAt: Number(row.updated_at),
  };
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
