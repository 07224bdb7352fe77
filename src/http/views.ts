// Module views → API responses. Inside, money is integer minor units; the API shows decimals
// with the currency's exponent (SPEC §2), converted here and nowhere else.
import type { Static } from '@sinclair/typebox';
import { fromMinorUnits } from '../kernel/money.js';
import type { BackorderView, ProductView } from '../modules/inventory/index.js';
import type { OrderView, ReturnView, StockReviewView } from '../modules/orders/index.js';
import type { PaymentView } from '../modules/payments/index.js';
import type { ShipmentView } from '../modules/shipments/index.js';
import type { OrderResponse, ReturnResponse } from './schemas/orders.js';
import type { ProductResponse } from './schemas/products.js';
import type { ShipmentResponse } from './schemas/operations.js';

export function productResponse(product: ProductView): ProductResponse {
  return { ...product, price: fromMinorUnits(product.price, product.currency) };
}

/** An order with decimal amounts; `related` adds the payment and shipment summaries (GET /orders/:id). */
export function orderResponse(
  order: OrderView,
  related?: { payment: PaymentView | undefined; shipment: ShipmentView | undefined; refunded?: number; backorders?: BackorderView[]; stockReview?: StockReviewView | undefined },
): OrderResponse {
  const decimal = (minor: number) => fromMinorUnits(minor, order.currency);
  const response: OrderResponse = {
    orderId: order.orderId,
    orderNumber: order.orderNumber,
    customerId: order.customerId,
    status: order.status,
    items: order.items.map((l) => ({ productId: l.productId, name: l.name, quantity: l.quantity, unitPrice: decimal(l.unitPrice) })),
    totalAmount: decimal(order.totalAmount),
    currency: order.currency,
    shippingAddress: order.shippingAddress,
    billingAddress: order.billingAddress,
    sourceChannel: order.sourceChannel,
    paymentMethod: order.paymentMethod,
    correlationId: order.correlationId,
    sagaId: order.sagaId,
    cancellationReason: order.cancellationReason,
    cancelledBy: order.cancelledBy,
    rejectionReason: order.rejectionReason,
    paymentFailureReason: order.paymentFailureReason,
    paymentId: order.paymentId,
    shipmentId: order.shipmentId,
    trackingNumber: order.trackingNumber,
    dispatchedAt: order.dispatchedAt,
    deliveredAt: order.deliveredAt,
    statusHistory: order.statusHistory,
    pendingEdit: order.pendingEdit && {
      ...order.pendingEdit,
      items: order.pendingEdit.items.map((l) => ({ ...l, unitPrice: decimal(l.unitPrice) })),
      totalAmount: decimal(order.pendingEdit.totalAmount),
    },
    lastEdit: order.lastEdit,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
  if (!related) return response;
  const { payment, shipment } = related;
  return {
    ...response,
    payment: payment
      ? {
          paymentId: payment.paymentId,
          status: payment.status,
          amount: fromMinorUnits(payment.amount, payment.currency),
          currency: payment.currency,
          reason: payment.reason,
          refundedAt: payment.refundedAt,
          refundedAmount: fromMinorUnits(related.refunded ?? 0, payment.currency),
        }
      : null,
    shipment: shipment
      ? { shipmentId: shipment.shipmentId, status: shipment.status, trackingNumber: shipment.trackingNumber, createdAt: shipment.createdAt, dispatchedAt: shipment.dispatchedAt, deliveredAt: shipment.deliveredAt }
      : null,
    backorders: (related.backorders ?? []).map((b) => ({ productId: b.productId, quantity: b.quantity, allocated: b.allocated, status: b.status })),
    stockReview: related.stockReview ? { shortages: related.stockReview.shortages, heldAt: related.stockReview.heldAt, override: related.stockReview.override } : null,
  };
}

/** A return as the API shows it: amounts in decimals. */
export function returnResponse(r: ReturnView): ReturnResponse {
  return {
    ...r,
    amount: fromMinorUnits(r.amount, r.currency),
    refundedAmount: r.refundedAmount === null ? null : fromMinorUnits(r.refundedAmount, r.currency),
  };
}

export function shipmentResponse(shipment: ShipmentView): Static<typeof ShipmentResponse> {
  return { ...shipment, items: shipment.items.map((i) => ({ productId: i.productId, quantity: i.quantity })) };
}
