import type { PayloadOf } from '../../kernel/catalog.js';

// The events the orders module publishes (SPEC §3). Every one has aggregateType 'Order' and
// aggregateId = orderId, and carries the order's correlationId. Amounts are integer minor
// units of `currency`. Fields beyond the catalog minimum are marked "added".

/** A postal address as the customer gave it. */
export interface Address {
  street: string;
  city: string;
  postalCode: string;
  country: string;
}

/** The channel an order came in through. */
export type SourceChannel = 'web' | 'mobile' | 'chat' | 'admin';

/** Who cancelled an order: the customer, an admin, or the system (saga timeout). */
export type CancelledBy = 'customer' | 'admin' | 'system';

/** A line of an order as published: prices come from the catalog, never from the client. */
export interface OrderPlacedLine {
  productId: string;
  /** Units ordered, 1..1000. */
  quantity: number;
  /** Catalog price of one unit at placement, minor units. */
  unitPrice: number;
}

/** An order was accepted and is PENDING: inventory should reserve its lines. */
export interface OrderPlacedPayload {
  orderId: string;
  /** Human-readable number, `ORD-YYYY-NNNNNN`, unique. */
  orderNumber: string;
  customerId: string;
  /** One line per product (duplicates are refused at placement). */
  items: OrderPlacedLine[];
  /** Version 2: units ordered, the sum of the lines' quantities. */
  itemCount: number;
  /** Sum of quantity × unitPrice, minor units. */
  totalAmount: number;
  /** ISO 4217 code of every amount of the order. */
  currency: string;
  shippingAddress: Address;
  /** Added: where the order came from, null when not said. */
  sourceChannel: SourceChannel | null;
  /** Added: the order's saga record. */
  sagaId: string;
}

/** Inventory reserved every line: payments should charge the order. */
export interface OrderConfirmedPayload {
  orderId: string;
  /** What to charge, minor units. */
  totalAmount: number;
  currency: string;
  /** Added: the customer being charged. */
  customerId: string;
  /** Added: the payment-method token the customer gave (`tok_visa`…), null when none. */
  paymentToken: string | null;
}

/** Inventory could not reserve the order: it is REJECTED (terminal). */
export interface OrderRejectedPayload {
  orderId: string;
  /** Why, as inventory said it. */
  reason: string;
}

/** The order was charged: shipments should create a shipment. */
export interface OrderPaidPayload {
  orderId: string;
  /** The payment that settled the order. */
  paymentId: string;
  /** Added: what to ship. */
  items: { productId: string; quantity: number }[];
  /** Added: where to ship it. */
  shippingAddress: Address;
  /** Added: whose order it is. */
  customerId: string;
}

/** The charge failed: the order is PAYMENT_FAILED (terminal) and its stock should be released. */
export interface OrderPaymentFailedPayload {
  orderId: string;
  /** Why, as payments said it. */
  reason: string;
}

/** A shipment exists for the order: it is SHIPPED. */
export interface OrderShippedPayload {
  orderId: string;
  shipmentId: string;
  trackingNumber: string;
}

/** The shipment was delivered: the order is DELIVERED (terminal). */
export interface OrderDeliveredPayload {
  orderId: string;
  shipmentId: string;
}

/** The order was cancelled (terminal): stock should be released, a paid order refunded. */
export interface OrderCancelledPayload {
  orderId: string;
  /** Free text; exactly `timeout` when the saga deadline passed. */
  reason: string;
  /** True when the order had been paid, so payments must refund it. */
  refundRequired: boolean;
  /** Added: who cancelled it. */
  cancelledBy: CancelledBy;
}

/** An edit of the order (no status change): what changed, the totals before and after, and why. */
export interface OrderUpdatedPayload {
  orderId: string;
  changes: {
    items: {
      added: { productId: string; quantity: number }[];
      removed: { productId: string; quantity: number }[];
      modified: { productId: string; oldQuantity: number; newQuantity: number }[];
    };
    shippingAddress?: { old: Address; new: Address };
    totalAmount: { old: number; new: number };
  };
  reason?: string;
  /** Set when the edit changed items: the item edit it applies. */
  editId?: string;
}

/** An item edit began: inventory holds the units added (positive `stock`), then payments charges the rise. */
export interface OrderEditRequestedPayload {
  orderId: string;
  editId: string;
  stock: { productId: string; quantity: number }[];
  totalAmount: { old: number; new: number };
  currency: string;
  reason?: string;
}

/** The stock of an item edit is held: payments charges `amount` (the rise of the total). */
export interface OrderEditPaymentRequestedPayload {
  orderId: string;
  editId: string;
  amount: number;
  currency: string;
  /** The card for the difference: the one the edit gave, else the order's. */
  paymentToken: string | null;
}

/** An item edit ended without applying: inventory gives its held units back; payments refunds the edit's charge when `refundCharge`. */
export interface OrderEditRejectedPayload {
  orderId: string;
  editId: string;
  reason: string;
  refundCharge: boolean;
}

/** A return of delivered lines, at each step; the amount is what the lines cost on the order. */
export interface ReturnPayload {
  returnId: string;
  orderId: string;
  lines: { productId: string; quantity: number }[];
  reason?: string;
}
export interface ReturnRequestedPayload extends ReturnPayload {
  amount: number;
  currency: string;
}
export interface ReturnReceivedPayload extends ReturnPayload {
  /** Whether the goods go back into stock (false: damaged). */
  restock: boolean;
  /** What payments refunds (minor units). */
  amount: number;
  currency: string;
}

/** One short line an admin approved: `overridden` units wait for a restock as a backorder. */
export interface OverriddenLine {
  productId: string;
  /** Units ordered. */
  requested: number;
  /** Units available when the order was placed (held for it since). */
  available: number;
  /** Units over stock the admin approved: requested − available. */
  overridden: number;
}

/** An admin approved an order short of stock: its shortfalls become backorders (SPEC §8). */
export interface OrderStockOverrideAppliedPayload {
  orderId: string;
  items: OverriddenLine[];
  /** Why the admin approved it. */
  reason: string;
  /** When the admin expects the stock (ISO-8601), if said. */
  expectedRestockAt?: string;
  /** The admin's `sub`. */
  approvedBy: string;
}

/** Payload type of each event the orders module publishes, by event type. */
export interface OrderEventPayloads {
  OrderPlaced: OrderPlacedPayload;
  OrderConfirmed: OrderConfirmedPayload;
  OrderRejected: OrderRejectedPayload;
  OrderPaid: OrderPaidPayload;
  OrderPaymentFailed: OrderPaymentFailedPayload;
  OrderShipped: OrderShippedPayload;
  OrderDelivered: OrderDeliveredPayload;
  OrderCancelled: OrderCancelledPayload;
  OrderUpdated: OrderUpdatedPayload;
  OrderEditRequested: OrderEditRequestedPayload;
  OrderEditPaymentRequested: OrderEditPaymentRequestedPayload;
  OrderEditRejected: OrderEditRejectedPayload;
  ReturnRequested: ReturnRequestedPayload;
  ReturnApproved: ReturnPayload;
  ReturnRejected: ReturnPayload;
  ReturnReceived: ReturnReceivedPayload;
  OrderStockOverrideApplied: OrderStockOverrideAppliedPayload;
}

/** The event types the orders module publishes. */
export type OrderEventType = keyof OrderEventPayloads;

// Compile-time proof that each payload satisfies the catalog schema it is validated against.
type Satisfies<T extends U, U> = T;
export type _CatalogCheck = [
  Satisfies<OrderPlacedPayload, PayloadOf<'OrderPlaced'>>,
  Satisfies<OrderConfirmedPayload, PayloadOf<'OrderConfirmed'>>,
  Satisfies<OrderRejectedPayload, PayloadOf<'OrderRejected'>>,
  Satisfies<OrderPaidPayload, PayloadOf<'OrderPaid'>>,
  Satisfies<OrderPaymentFailedPayload, PayloadOf<'OrderPaymentFailed'>>,
  Satisfies<OrderShippedPayload, PayloadOf<'OrderShipped'>>,
  Satisfies<OrderDeliveredPayload, PayloadOf<'OrderDelivered'>>,
  Satisfies<OrderCancelledPayload, PayloadOf<'OrderCancelled'>>,
  Satisfies<OrderUpdatedPayload, PayloadOf<'OrderUpdated'>>,
  Satisfies<OrderEditRequestedPayload, PayloadOf<'OrderEditRequested'>>,
  Satisfies<OrderEditPaymentRequestedPayload, PayloadOf<'OrderEditPaymentRequested'>>,
  Satisfies<OrderEditRejectedPayload, PayloadOf<'OrderEditRejected'>>,
  Satisfies<ReturnRequestedPayload, PayloadOf<'ReturnRequested'>>,
  Satisfies<ReturnPayload, PayloadOf<'ReturnApproved'>>,
  Satisfies<ReturnPayload, PayloadOf<'ReturnRejected'>>,
  Satisfies<ReturnReceivedPayload, PayloadOf<'ReturnReceived'>>,
  Satisfies<OrderStockOverrideAppliedPayload, PayloadOf<'OrderStockOverrideApplied'>>,
];
