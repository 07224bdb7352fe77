import { Type, type Static } from '@sinclair/typebox';
import type { CommandOrigin } from '../../kernel/envelope.js';
import type { Address, CancelledBy, SourceChannel } from './events.js';
import type { OrderStatus } from './domain/order-status.js';
import type { SagaState, SagaStepName, CompensationName } from './domain/saga.js';
import type { PricedOrder } from './domain/placement.js';

// Limits of an order (SPEC §4).
export const MAX_LINES = 100;
export const MAX_QUANTITY = 1000;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const Minor = Type.Integer({ minimum: 0, description: 'integer minor units of the currency' });

/** A postal address; every field is required and non-empty. */
export const AddressSchema = Type.Object(
  { street: Text(200), city: Text(100), postalCode: Text(20), country: Text(100) },
  { additionalProperties: false },
);

/** One requested line; `unitPrice`, when sent, is checked against the catalog. */
export const PlaceOrderLineSchema = Type.Object(
  {
    productId: Text(200),
    quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }),
    unitPrice: Type.Optional(Minor),
  },
  { additionalProperties: false },
);

/** The input of placeOrder, amounts in minor units (the HTTP layer converts decimals). */
export const PlaceOrderInputSchema = Type.Object(
  {
    customerId: Text(200),
    items: Type.Array(PlaceOrderLineSchema, { minItems: 1, maxItems: MAX_LINES }),
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    totalAmount: Type.Optional(Minor),
    shippingAddress: AddressSchema,
    billingAddress: Type.Optional(AddressSchema),
    paymentMethod: Type.Optional(Type.Object({ token: Type.Optional(Text(200)) }, { additionalProperties: false })),
    sourceChannel: Type.Optional(Type.Union([Type.Literal('web'), Type.Literal('mobile'), Type.Literal('chat'), Type.Literal('admin')])),
  },
  { additionalProperties: false },
);

/** What placeOrder takes. */
export type PlaceOrderInput = Static<typeof PlaceOrderInputSchema>;

/** The input of cancelOrder. */
export const CancelOrderInputSchema = Type.Object(
  {
    reason: Type.Optional(Text(500)),
    by: Type.Union([Type.Literal('customer'), Type.Literal('admin'), Type.Literal('system')]),
  },
  { additionalProperties: false },
);
export type CancelOrderInput = Static<typeof CancelOrderInputSchema>;

/** The input of editOrder: a new shipping address and/or the order's new lines, why, and the version of the order it is based on. */
export const EditOrderInputSchema = Type.Object(
  {
    shippingAddress: Type.Optional(AddressSchema),
    /** The order's lines after the edit (one per product); lines already on it keep their price. */
    items: Type.Optional(
      Type.Array(Type.Object({ productId: Text(200), quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }) }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_LINES }),
    ),
    /** The card to charge a rise of the total with; the order's own when not given. */
    paymentToken: Type.Optional(Text(200)),
    reason: Type.Optional(Text(500)),
    /** `orderVersion` of the order as the editor last read it: an edit of a changed order is refused. */
    expectedVersion: Text(100),
  },
  { additionalProperties: false },
);
export type EditOrderInput = Static<typeof EditOrderInputSchema>;

/** The input of overrideStock: why the admin approves an order short of stock, and when the stock should come. */
export const StockOverrideInputSchema = Type.Object(
  {
    reason: Text(500),
    expectedRestockAt: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'ISO-8601 date or date-time' })),
  },
  { additionalProperties: false },
);
export type StockOverrideInput = Static<typeof StockOverrideInputSchema>;

/** What an order held for a stock review is short of, and the admin's override once there is one; times ISO-8601. */
export interface StockReviewView {
  orderId: string;
  /** Lines short when the order was placed: units requested and available then. */
  shortages: { productId: string; requested: number; available: number }[];
  /** Null until an admin overrides (the order's status says whether the review window closed first). */
  override: {
    items: { productId: string; requested: number; available: number; overridden: number }[];
    reason: string;
    expectedRestockAt: string | null;
    approvedBy: string;
    at: string;
  } | null;
  heldAt: string;
}

/** The input of requestReturn: the delivered units to send back, and why. */
export const RequestReturnInputSchema = Type.Object(
  {
    lines: Type.Array(Type.Object({ productId: Text(200), quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 100 }),
    reason: Type.Optional(Text(500)),
  },
  { additionalProperties: false },
);
export type RequestReturnInput = Static<typeof RequestReturnInputSchema>;

/** A return as queries and commands answer it; amounts in minor units, times ISO-8601. */
export interface ReturnView {
  returnId: string;
  orderId: string;
  status: 'REQUESTED' | 'APPROVED' | 'REJECTED' | 'RECEIVED' | 'REFUNDED';
  lines: { productId: string; quantity: number }[];
  amount: number;
  currency: string;
  reason: string | null;
  rejectionReason: string | null;
  restocked: boolean | null;
  refundedAmount: number | null;
  createdAt: string;
  updatedAt: string;
}

/** Prices products; implemented by the inventory module. Throws AppError validation UNKNOWN_PRODUCT / MIXED_CURRENCY. */
export interface CatalogPort {
  quote(items: { productId: string; quantity: number }[]): Promise<{
    currency: string;
    lines: { productId: string; name: string; quantity: number; unitPrice: number }[];
  }>;
}

/** An order as queries return it. Amounts in minor units, times ISO-8601. */
export interface OrderView {
  orderId: string;
  orderNumber: string;
  customerId: string;
  status: OrderStatus;
  items: { productId: string; name: string; quantity: number; unitPrice: number }[];
  totalAmount: number;
  currency: string;
  shippingAddress: Address;
  billingAddress: Address | null;
  sourceChannel: SourceChannel | null;
  /** Whether a card token was given; the token itself is never shown. */
  paymentMethod: { type: 'card' | 'none' };
  correlationId: string;
  sagaId: string;
  cancellationReason: string | null;
  cancelledBy: CancelledBy | null;
  rejectionReason: string | null;
  paymentFailureReason: string | null;
  paymentId: string | null;
  shipmentId: string | null;
  trackingNumber: string | null;
  dispatchedAt: string | null;
  deliveredAt: string | null;
  statusHistory: { status: OrderStatus; at: string }[];
  /** The item edit under way: the lines and total it leads to, and the step it waits for. */
  pendingEdit: { editId: string; stage: 'stock' | 'payment'; items: { productId: string; name: string; quantity: number; unitPrice: number }[]; totalAmount: number; reason: string | null; requestedAt: string } | null;
  /** How the last item edit ended. */
  lastEdit: { editId: string; outcome: 'applied' | 'rejected'; reason: string | null; at: string } | null;
  createdAt: string;
  updatedAt: string;
}

/** A saga as queries return it; times ISO-8601. */
export interface SagaView {
  sagaId: string;
  orderId: string;
  state: SagaState;
  steps: { name: SagaStepName; status: 'done' | 'failed' | 'compensated'; at: string; detail?: string }[];
  compensations: { name: CompensationName; at: string; detail: string }[];
  /** Compensations still awaited. */
  pendingCompensations: CompensationName[];
  deadline: string;
  startedAt: string;
  /** When the saga left STARTED (paid, rejected, failed, cancelled or timed out). */
  completedAt: string | null;
  /** completedAt − startedAt in milliseconds, for the saga-duration metric. */
  durationMs: number | null;
}

/** Filters of listOrders; newest first. */
export interface ListOrdersQuery {
  status?: OrderStatus;
  customerId?: string;
  /** 1..200, default 50; larger values are capped at 200. */
  limit?: number;
  /** nextCursor of the previous page. */
  cursor?: string;
}

export interface OrderPage {
  orders: OrderView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** A placement checked and priced from the catalog (`pricePlacement`), ready to commit. Plain data: it may cross threads. */
export interface PricedPlacement {
  request: PlaceOrderInput;
  priced: PricedOrder;
}

/** The commands and queries of the orders module. */
export interface OrdersApi {
  /** `origin`: who placed it (an API caller); its events record it. */
  placeOrder(input: PlaceOrderInput, origin?: CommandOrigin): Promise<OrderView>;
  /**
   * placeOrder's two halves, for a process that reads on one thread and writes on another (the
   * embedded mode): checks and prices the request from the catalog (refusals as placeOrder's),
   * writing nothing...
   */
  pricePlacement(input: PlaceOrderInput): Promise<PricedPlacement>;
  /**
   * ...then writes the order, its saga and OrderPlaced in one transaction (group commit). On
   * SQLite the work is handed to the waiting group before this returns (nothing awaited first).
   */
  commitPlacement(placement: PricedPlacement, origin?: CommandOrigin): Promise<OrderView>;
  cancelOrder(orderId: string, input: CancelOrderInput, origin?: CommandOrigin): Promise<OrderView>;
  /**
   * Changes the shipping address until the shipment is dispatched (OrderUpdated at once), and/or
   * starts an item edit of a PAID or SHIPPED order not dispatched (OrderEditRequested; the edit
   * goes on in the background: stock held, difference charged, then OrderUpdated — see the
   * order's `pendingEdit` and `lastEdit`). Conflict ORDER_CHANGED when the order is no longer at
   * `expectedVersion`, ORDER_NOT_EDITABLE when its status or dispatch forbids it,
   * EDIT_IN_PROGRESS while another item edit runs; validation INVALID_EDIT, DUPLICATE_PRODUCT,
   * UNKNOWN_PRODUCT, MIXED_CURRENCY; not_found ORDER_NOT_FOUND.
   */
  editOrder(orderId: string, input: EditOrderInput, origin?: CommandOrigin): Promise<OrderView>;
  /**
   * A return of delivered units (ReturnRequested): conflict RETURN_NOT_ALLOWED (not DELIVERED) or
   * RETURN_WINDOW_CLOSED; validation RETURN_TOO_LARGE (more than ordered, or not on the order).
   */
  requestReturn(orderId: string, input: RequestReturnInput, origin?: CommandOrigin): Promise<ReturnView>;
  /** REQUESTED → APPROVED (ReturnApproved); else conflict RETURN_NOT_PENDING; unknown: RETURN_NOT_FOUND. */
  approveReturn(returnId: string, origin?: CommandOrigin): Promise<ReturnView>;
  /** REQUESTED → REJECTED (ReturnRejected). */
  rejectReturn(returnId: string, input: { reason?: string }, origin?: CommandOrigin): Promise<ReturnView>;
  /** APPROVED → RECEIVED (ReturnReceived: restocked unless `restock` is false, then refunded). */
  receiveReturn(returnId: string, input: { restock: boolean }, origin?: CommandOrigin): Promise<ReturnView>;
  getReturn(returnId: string): Promise<ReturnView | undefined>;
  /** The order's returns, oldest first. */
  listReturns(orderId: string): Promise<ReturnView[]>;
  /**
   * An admin approves an order held for a stock review (OrderStockOverrideApplied): its shortfalls
   * wait for a restock as backorders. validation INVALID_OVERRIDE; not_found ORDER_NOT_FOUND;
   * conflict ORDER_NOT_WAITING (no longer PENDING) or ORDER_NOT_SHORT (not held for review).
   */
  overrideStock(orderId: string, input: StockOverrideInput, origin?: CommandOrigin): Promise<OrderView>;
  /** What the order was short of when held for review, and the override; undefined when it never was. */
  stockReviewOf(orderId: string): Promise<StockReviewView | undefined>;
  getOrder(orderId: string): Promise<OrderView | undefined>;
  listOrders(query?: ListOrdersQuery): Promise<OrderPage>;
  getSaga(sagaId: string): Promise<SagaView | undefined>;
  getSagaForOrder(orderId: string): Promise<SagaView | undefined>;
  countByStatus(): Promise<Record<OrderStatus, number>>;
}
