import { Type, type Static, type TObject } from '@sinclair/typebox';

// Payload schemas of SPEC §3. Money is in integer minor units (cents for USD); payloads may
// carry more fields than listed, never fewer.
const Id = Type.String({ minLength: 1 });
const Quantity = Type.Integer({ minimum: 1 });
const Minor = Type.Integer({ minimum: 0, description: 'amount in integer minor units of `currency`' });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const Open = { additionalProperties: true } as const;

const Address = Type.Object(
  { street: Type.String(), city: Type.String(), postalCode: Type.String(), country: Type.String() },
  Open,
);

const OrderPlacedV1Fields = {
  orderId: Id,
  orderNumber: Id,
  customerId: Id,
  items: Type.Array(Type.Object({ productId: Id, quantity: Quantity, unitPrice: Minor }, Open), { minItems: 1 }),
  totalAmount: Minor,
  currency: Currency,
  shippingAddress: Address,
};
/** OrderPlaced as written until version 2: events of it stay in the log and are read through `upcasters`. */
export const OrderPlacedV1 = Type.Object(OrderPlacedV1Fields, Open);
/** Version 2 adds `itemCount`, the units ordered (the sum of the lines' quantities). */
export const OrderPlaced = Type.Object(
  { ...OrderPlacedV1Fields, itemCount: Type.Integer({ minimum: 1, description: 'units ordered: the sum of the quantities of `items`' }) },
  Open,
);
export const OrderConfirmed = Type.Object({ orderId: Id, totalAmount: Minor, currency: Currency }, Open);
export const OrderRejected = Type.Object({ orderId: Id, reason: Type.String() }, Open);
export const OrderPaid = Type.Object({ orderId: Id, paymentId: Id }, Open);
export const OrderPaymentFailed = Type.Object({ orderId: Id, reason: Type.String() }, Open);
export const OrderShipped = Type.Object({ orderId: Id, shipmentId: Id, trackingNumber: Id }, Open);
export const OrderDelivered = Type.Object({ orderId: Id, shipmentId: Id }, Open);
export const OrderCancelled = Type.Object({ orderId: Id, reason: Type.String(), refundRequired: Type.Boolean() }, Open);
const OldNewAmount = Type.Object({ old: Minor, new: Minor }, Open);
/** An edit of a placed order (SPEC §8): what changed, the totals before and after, and why. */
export const OrderUpdated = Type.Object(
  {
    orderId: Id,
    changes: Type.Object(
      {
        items: Type.Object(
          {
            added: Type.Array(Type.Object({ productId: Id, quantity: Quantity }, Open)),
            removed: Type.Array(Type.Object({ productId: Id, quantity: Quantity }, Open)),
            modified: Type.Array(Type.Object({ productId: Id, oldQuantity: Quantity, newQuantity: Quantity }, Open)),
          },
          Open,
        ),
        shippingAddress: Type.Optional(Type.Object({ old: Address, new: Address }, Open)),
        totalAmount: OldNewAmount,
      },
      Open,
    ),
    reason: Type.Optional(Type.String()),
    editId: Type.Optional(Id),
  },
  Open,
);

// An item edit of a placed order (SPEC §8) is a saga of its own: the stock it adds is held by
// inventory, the difference in price is charged by payments, then OrderUpdated applies it; a
// failed step ends it with OrderEditRejected and what was done is undone.
const SignedLine = Type.Object({ productId: Id, quantity: Type.Integer({ description: 'units added (positive) or taken off (negative)' }) }, Open);
export const OrderEditRequested = Type.Object(
  {
    orderId: Id,
    editId: Id,
    /** Units each product changes by; inventory holds the increases. */
    stock: Type.Array(SignedLine),
    totalAmount: OldNewAmount,
    currency: Currency,
    reason: Type.Optional(Type.String()),
  },
  Open,
);
/** Stock for the edit is held: payments should charge `amount` (the rise of the total). */
export const OrderEditPaymentRequested = Type.Object(
  { orderId: Id, editId: Id, amount: Type.Integer({ minimum: 1, description: 'minor units to charge' }), currency: Currency, paymentToken: Type.Union([Type.String(), Type.Null()]) },
  Open,
);
/** The edit did not happen: inventory gives back what it held; payments refunds `refundCharge` when the edit was charged. */
export const OrderEditRejected = Type.Object({ orderId: Id, editId: Id, reason: Type.String(), refundCharge: Type.Boolean() }, Open);

const Line = Type.Object({ productId: Id, quantity: Quantity }, Open);
// Returns of delivered lines (SPEC §8), events of the order they belong to.
const ReturnFields = { returnId: Id, orderId: Id, lines: Type.Array(Line, { minItems: 1 }), reason: Type.Optional(Type.String()) };
export const ReturnRequested = Type.Object({ ...ReturnFields, amount: Minor, currency: Currency }, Open);
export const ReturnApproved = Type.Object(ReturnFields, Open);
export const ReturnRejected = Type.Object(ReturnFields, Open);
/** The goods are back: `restock` says whether they go back into stock; payments refunds `amount`. */
export const ReturnReceived = Type.Object({ ...ReturnFields, restock: Type.Boolean(), amount: Minor, currency: Currency }, Open);
export const InventoryReserved = Type.Object({ orderId: Id, reservations: Type.Array(Line) }, Open);
export const InventoryReservationFailed = Type.Object(
  {
    orderId: Id,
    reason: Type.String(),
    shortages: Type.Array(Type.Object({ productId: Id, requested: Quantity, available: Type.Integer() }, Open)),
  },
  Open,
);
export const InventoryEditReserved = Type.Object({ orderId: Id, editId: Id, reservations: Type.Array(Line) }, Open);
export const InventoryEditReservationFailed = Type.Object(
  {
    orderId: Id,
    editId: Id,
    reason: Type.String(),
    shortages: Type.Array(Type.Object({ productId: Id, requested: Quantity, available: Type.Integer() }, Open)),
  },
  Open,
);
const Shortage = Type.Object({ productId: Id, requested: Quantity, available: Type.Integer({ minimum: 0 }) }, Open);
/** An order short of a product without backorders, held for an admin's review (SHORT_ORDER_REVIEW_MS > 0). */
export const InventoryReservationShort = Type.Object({ orderId: Id, shortages: Type.Array(Shortage, { minItems: 1 }) }, Open);
/** An order waits for `quantity` units of a product (SPEC §8). */
export const OrderBackordered = Type.Object({ orderId: Id, productId: Id, quantity: Quantity }, Open);
/** A waiting backorder got its units (SPEC §8). */
export const BackorderFulfilled = Type.Object({ orderId: Id, productId: Id, quantity: Quantity }, Open);
/** An admin approved an order short of stock: its shortfalls wait for a restock as backorders (SPEC §8). */
export const OrderStockOverrideApplied = Type.Object(
  {
    orderId: Id,
    items: Type.Array(Type.Object({ productId: Id, requested: Quantity, available: Type.Integer({ minimum: 0 }), overridden: Quantity }, Open), { minItems: 1 }),
    reason: Type.String({ minLength: 1 }),
    expectedRestockAt: Type.Optional(Type.String({ description: 'ISO-8601 date the admin expects the stock' })),
    approvedBy: Id,
  },
  Open,
);
export const InventoryReleased = Type.Object({ orderId: Id, items: Type.Array(Line) }, Open);
export const StockAdjusted = Type.Object(
  {
    productId: Id,
    quantityAdjusted: Type.Integer(),
    newQuantity: Type.Integer(),
    reason: Type.String(),
    orderId: Type.Optional(Id),
  },
  Open,
);
export const LowStockDetected = Type.Object({ productId: Id, available: Type.Integer(), reorderPoint: Type.Integer() }, Open);

export const PaymentProcessed = Type.Object({ orderId: Id, paymentId: Id, amount: Minor, currency: Currency }, Open);
export const PaymentFailed = Type.Object({ orderId: Id, reason: Type.String() }, Open);
export const PaymentRefunded = Type.Object({ orderId: Id, paymentId: Id, amount: Minor }, Open);
/** Part of a charge refunded (a return): `refundedTotal` is every refund of the payment so far, at most its amount. */
export const PaymentPartiallyRefunded = Type.Object(
  { orderId: Id, paymentId: Id, amount: Minor, refundedTotal: Minor, returnId: Type.Optional(Id), editId: Type.Optional(Id) },
  Open,
);
/** The rise of an edited order's total was charged (a charge of its own, the edit's id as idempotency key). */
export const PaymentEditCharged = Type.Object({ orderId: Id, paymentId: Id, editId: Id, amount: Minor, currency: Currency, chargedTotal: Minor }, Open);
export const PaymentEditChargeFailed = Type.Object({ orderId: Id, paymentId: Id, editId: Id, reason: Type.String() }, Open);

export const ShipmentCreated = Type.Object({ orderId: Id, shipmentId: Id, trackingNumber: Id }, Open);
export const ShipmentDispatched = Type.Object({ shipmentId: Id, orderId: Id, dispatchedAt: Type.String() }, Open);
export const ShipmentDelivered = Type.Object({ shipmentId: Id, orderId: Id, deliveredAt: Type.String() }, Open);

// Webhooks (SPEC §8): a delivery that used up its attempts, an endpoint disabled after repeated failures.
export const WebhookDeliveryFailed = Type.Object(
  { endpointId: Id, reason: Type.String(), deliveryId: Id, eventId: Id, eventType: Id, attempts: Type.Integer({ minimum: 1 }) },
  Open,
);
export const WebhookEndpointDisabled = Type.Object({ endpointId: Id, reason: Type.String() }, Open);

/** Every event of SPEC §3 and §8 by name, in its current version (`eventVersions` has them all). */
export const eventCatalog = {
  OrderPlaced,
  OrderConfirmed,
  OrderRejected,
  OrderPaid,
  OrderPaymentFailed,
  OrderShipped,
  OrderDelivered,
  OrderCancelled,
  OrderUpdated,
  OrderEditRequested,
  OrderEditPaymentRequested,
  OrderEditRejected,
  ReturnRequested,
  ReturnApproved,
  ReturnRejected,
  ReturnReceived,
  OrderStockOverrideApplied,
  InventoryReserved,
  InventoryReservationFailed,
  InventoryEditReserved,
  InventoryEditReservationFailed,
  InventoryReservationShort,
  OrderBackordered,
  BackorderFulfilled,
  InventoryReleased,
  StockAdjusted,
  LowStockDetected,
  PaymentProcessed,
  PaymentFailed,
  PaymentRefunded,
  PaymentPartiallyRefunded,
  PaymentEditCharged,
  PaymentEditChargeFailed,
  ShipmentCreated,
  ShipmentDispatched,
  ShipmentDelivered,
  WebhookDeliveryFailed,
  WebhookEndpointDisabled,
} satisfies Record<string, TObject>;

/** The name of an event in the catalog. */
export type EventType = keyof typeof eventCatalog;
/** The payload type of a catalog event. */
export type PayloadOf<T extends EventType> = Static<(typeof eventCatalog)[T]>;

/** The earlier schema versions of the catalog's events, kept: the log holds events written with them. */
const earlierVersions: Record<string, Record<number, TObject>> = { OrderPlaced: { 1: OrderPlacedV1 } };

/** The current schema version of each event type of the catalog: the one new events are written with. */
export const currentVersions: Readonly<Record<string, number>> = Object.fromEntries(
  Object.keys(eventCatalog).map((type) => [type, 1 + Object.keys(earlierVersions[type] ?? {}).length]),
);

/** Every schema version of every event type, by type and version; none is ever dropped. */
export const eventVersions: Readonly<Record<string, Record<number, TObject>>> = Object.fromEntries(
  Object.entries(eventCatalog).map(([type, schema]) => [type, { ...earlierVersions[type], [currentVersions[type]!]: schema }]),
);

/** A payload of version N made into version N + 1. Pure: a replay runs it again on the same event. */
export type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>;

/**
 * The upcasters, by `Type@N` (from version N to N + 1), next to the schemas they join. A
 * consumer is written for the current version of an event; an event written with an older one
 * reaches it through these, one version at a time.
 */
export const upcasters: Record<string, Upcaster> = {
  'OrderPlaced@1': (payload) => {
    const items = (payload as Static<typeof OrderPlacedV1>).items;
    return { ...payload, itemCount: items.reduce((units, line) => units + line.quantity, 0) };
  },
};
