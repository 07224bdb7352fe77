import { Type, type Static } from '@sinclair/typebox';
import { MAX_LINES, MAX_QUANTITY, ORDER_STATUSES, SAGA_STATES } from '../../modules/orders/index.js';
import { BackorderSummary, StockReviewSummary } from './backorders.js';
import { AddressSchema, AddressView, Currency, Decimal, Id, Nullable, Text, Timestamp } from './common.js';

const OrderStatus = Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)));
const SourceChannel = Type.Union([Type.Literal('web'), Type.Literal('mobile'), Type.Literal('chat'), Type.Literal('admin')]);

/** POST /orders. Amounts are decimals in the currency; when sent they must match the catalog. */
export const PlaceOrderBody = Type.Object(
  {
    customerId: Type.Optional(Id('admins must say whose order it is; a customer\u2019s comes from its token (a different one is refused 403)')),
    items: Type.Array(
      Type.Object(
        {
          productId: Id('a catalog product'),
          quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }),
          unitPrice: Type.Optional(Decimal('the price the client saw; refused (422) when it differs from the catalog')),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_LINES },
    ),
    currency: Type.Optional(Currency),
    totalAmount: Type.Optional(Decimal('the total the client saw; refused (422) when it differs')),
    shippingAddress: AddressSchema,
    billingAddress: Type.Optional(AddressSchema),
    paymentMethod: Type.Optional(Type.Object({ token: Type.Optional(Text(200, { examples: ['tok_visa'] })) }, { additionalProperties: false })),
    sourceChannel: Type.Optional(SourceChannel),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const PlaceOrderHeaders = Type.Object({
  'idempotency-key': Type.Optional(Text(255, { description: 'a retry with the same key returns the first response and creates nothing' })),
});

const PaymentSummary = Type.Object({
  paymentId: Type.String(),
  status: Type.String(),
  amount: Type.Number({ description: 'decimal' }),
  currency: Type.String(),
  reason: Nullable(Type.String()),
  refundedAt: Nullable(Timestamp),
  refundedAmount: Type.Number({ description: 'decimal: what has been refunded of it so far (a cancellation, returns)' }),
});

const ShipmentSummary = Type.Object({
  shipmentId: Type.String(),
  status: Type.String(),
  trackingNumber: Type.String(),
  createdAt: Timestamp,
  dispatchedAt: Nullable(Timestamp),
  deliveredAt: Nullable(Timestamp),
});

/** An order; amounts are decimals in `currency`. */
export const OrderResponse = Type.Object({
  orderId: Type.String(),
  orderNumber: Type.String(),
  customerId: Type.String(),
  status: OrderStatus,
  items: Type.Array(Type.Object({ productId: Type.String(), name: Type.String(), quantity: Type.Integer(), unitPrice: Type.Number() })),
  totalAmount: Type.Number(),
  currency: Type.String(),
  shippingAddress: AddressView,
  billingAddress: Nullable(AddressView),
  sourceChannel: Nullable(Type.String()),
  paymentMethod: Type.Object({ type: Type.String() }),
  correlationId: Type.String({ description: 'the flow id every event of this order carries' }),
  sagaId: Type.String(),
  cancellationReason: Nullable(Type.String()),
  cancelledBy: Nullable(Type.String()),
  rejectionReason: Nullable(Type.String()),
  paymentFailureReason: Nullable(Type.String()),
  paymentId: Nullable(Type.String()),
  shipmentId: Nullable(Type.String()),
  trackingNumber: Nullable(Type.String()),
  dispatchedAt: Nullable(Timestamp),
  deliveredAt: Nullable(Timestamp),
  statusHistory: Type.Array(Type.Object({ status: OrderStatus, at: Timestamp })),
  pendingEdit: Type.Optional(
    Nullable(
      Type.Object(
        {
          editId: Type.String(),
          stage: Type.Union([Type.Literal('stock'), Type.Literal('payment')], { description: 'what the edit waits for: inventory to hold the units added, or payments to charge the rise' }),
          items: Type.Array(Type.Object({ productId: Type.String(), name: Type.String(), quantity: Type.Integer(), unitPrice: Type.Number() })),
          totalAmount: Type.Number(),
          reason: Nullable(Type.String()),
          requestedAt: Timestamp,
        },
        { description: 'the item edit under way: the lines and total it leads to' },
      ),
    ),
  ),
  lastEdit: Type.Optional(
    Nullable(
      Type.Object(
        { editId: Type.String(), outcome: Type.Union([Type.Literal('applied'), Type.Literal('rejected')]), reason: Nullable(Type.String()), at: Timestamp },
        { description: 'how the last item edit ended' },
      ),
    ),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  payment: Type.Optional(Nullable(PaymentSummary)),
  shipment: Type.Optional(Nullable(ShipmentSummary)),
  backorders: Type.Optional(Type.Array(BackorderSummary, { description: 'what the order waits for, product by product (GET /orders/:id)' })),
  stockReview: Type.Optional(Nullable(StockReviewSummary)),
});
export type OrderResponse = Static<typeof OrderResponse>;

export const ListOrdersQuery = Type.Object({
  status: Type.Optional(OrderStatus),
  customerId: Type.Optional(Id('admins only; a customer always sees its own orders')),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'page size, default 50' })),
  cursor: Type.Optional(Text(500, { description: 'nextCursor of the previous page' })),
});
export type ListOrdersQuery = Static<typeof ListOrdersQuery>;

export const OrderPageResponse = Type.Object({ orders: Type.Array(OrderResponse), nextCursor: Nullable(Type.String()) });

/** POST /orders/:id/cancel; the body may be left out. */
export const CancelOrderBody = Type.Object({ reason: Type.Optional(Text(500)) }, { additionalProperties: false });
export type CancelOrderBody = Static<typeof CancelOrderBody>;

export const EditOrderBody = Type.Object(
  {
    shippingAddress: Type.Optional(AddressSchema),
    items: Type.Optional(
      Type.Array(
        Type.Object(
          { productId: Text(200), quantity: Type.Integer({ minimum: 1, maximum: 1000 }) },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 100, description: 'the order\u2019s lines after the edit, one per product (a PAID or SHIPPED order not dispatched); products already on it keep their price' },
      ),
    ),
    paymentMethod: Type.Optional(
      Type.Object({ token: Text(200) }, { additionalProperties: false, description: 'the card to charge a rise of the total with; the order\u2019s own when left out' }),
    ),
    reason: Type.Optional(Text(500, { description: 'why: kept with the OrderUpdated event and shown in the audit trail' })),
  },
  { additionalProperties: false },
);
export type EditOrderBody = Static<typeof EditOrderBody>;

export const EditOrderHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'the ETag of GET /orders/:id the edit is based on (required: 428 without it)' })),
});

const ConsumerOutcome = Type.Union(['handled', 'retrying', 'dead-lettered', 'discarded', 'parked', 'pending'].map((o) => Type.Literal(o)));

export const TimelineResponse = Type.Object({
  orderId: Type.String(),
  correlationId: Type.String(),
  trace: Nullable(
    Type.Object({
      traceId: Type.String({ description: 'the trace of the order\u2019s placement (tracing on)' }),
      url: Nullable(Type.String({ description: 'its page in the tracing tool (OTEL_TRACE_URL)' })),
    }),
  ),
  events: Type.Array(
    Type.Object({
      sequence: Type.Integer(),
      eventId: Type.String(),
      eventType: Type.String(),
      occurredAt: Timestamp,
      source: Type.String(),
      causationId: Nullable(Type.String()),
      payload: Type.Object({}, { additionalProperties: true, description: 'as published (amounts in minor units)' }),
      consumers: Type.Array(
        Type.Object({ consumer: Type.String(), outcome: ConsumerOutcome, attempts: Type.Integer(), error: Type.Optional(Type.String()) }),
      ),
    }),
  ),
});
export type TimelineResponse = Static<typeof TimelineResponse>;

export const AuditResponse = Type.Object({
  entries: Type.Array(
    Type.Object({
      at: Timestamp,
      action: Type.String({ description: 'what happened: the event type (OrderPlaced, OrderCancelled, ...)' }),
      actor: Type.Object({
        sub: Type.String({ description: 'the caller\u2019s subject; for orderflow itself, system:<module>' }),
        role: Type.Union([Type.Literal('admin'), Type.Literal('customer'), Type.Literal('system')]),
        ip: Type.Optional(Type.String({ description: 'the client\u2019s address (X-Forwarded-For only from a trusted proxy, TRUST_PROXY)' })),
        userAgent: Type.Optional(Type.String()),
      }),
      changes: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'what an edit changed' })),
      reason: Type.Optional(Type.String()),
      eventId: Type.String(),
    }),
  ),
});
export type AuditResponse = Static<typeof AuditResponse>;

export const RequestReturnBody = Type.Object(
  {
    lines: Type.Array(Type.Object({ productId: Text(200), quantity: Type.Integer({ minimum: 1, maximum: 10_000 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 100 }),
    reason: Type.Optional(Text(500)),
  },
  { additionalProperties: false },
);
export type RequestReturnBody = Static<typeof RequestReturnBody>;
export const RejectReturnBody = Type.Object({ reason: Type.Optional(Text(500)) }, { additionalProperties: false });
export type RejectReturnBody = Static<typeof RejectReturnBody>;
export const ReceiveReturnBody = Type.Object(
  { restock: Type.Optional(Type.Boolean({ description: 'false for damaged goods: they do not go back into stock (default true)' })) },
  { additionalProperties: false },
);
export type ReceiveReturnBody = Static<typeof ReceiveReturnBody>;

/** A return of delivered lines; amounts are decimals in `currency`. */
export const ReturnResponse = Type.Object({
  returnId: Type.String(),
  orderId: Type.String(),
  status: Type.Union(['REQUESTED', 'APPROVED', 'REJECTED', 'RECEIVED', 'REFUNDED'].map((s) => Type.Literal(s))),
  lines: Type.Array(Type.Object({ productId: Type.String(), quantity: Type.Integer() })),
  amount: Type.Number({ description: 'decimal: what the lines cost on the order, refunded once the goods are back' }),
  currency: Type.String(),
  reason: Nullable(Type.String()),
  rejectionReason: Nullable(Type.String()),
  restocked: Nullable(Type.Boolean()),
  refundedAmount: Nullable(Type.Number({ description: 'decimal, once refunded' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ReturnResponse = Static<typeof ReturnResponse>;
export const ReturnListResponse = Type.Object({ returns: Type.Array(ReturnResponse) });

export const SagaParams = Type.Object({ sagaId: Id('the saga id (an order\u2019s sagaId)') });

export const SagaResponse = Type.Object({
  sagaId: Type.String(),
  orderId: Type.String(),
  state: Type.Union(SAGA_STATES.map((s) => Type.Literal(s))),
  steps: Type.Array(Type.Object({ name: Type.String(), status: Type.String(), at: Timestamp, detail: Type.Optional(Type.String()) })),
  compensations: Type.Array(Type.Object({ name: Type.String(), at: Timestamp, detail: Type.String() })),
  pendingCompensations: Type.Array(Type.String()),
  deadline: Timestamp,
  startedAt: Timestamp,
  completedAt: Nullable(Timestamp),
  durationMs: Nullable(Type.Integer()),
});
