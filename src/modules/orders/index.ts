// The orders module's public surface: the factory, its API types and the events it publishes.

/** Creates the orders module (tables, the `orders` consumer, the saga-timeout timer); `connect` gives its API. */
export { createOrdersModule } from './module.js';
/** The factory's options and the module type. */
export type { OrdersModule, OrdersModuleOptions } from './module.js';
/** Commands and queries, their inputs and views, and the catalog port inventory implements. */
export type { CancelOrderInput, CatalogPort, EditOrderInput, RequestReturnInput, ReturnView, ListOrdersQuery, OrderPage, OrdersApi, OrderView, PlaceOrderInput, PricedPlacement, SagaView, StockOverrideInput, StockReviewView } from './api.js';
/** Schemas of the command inputs (amounts in minor units), for reuse by the HTTP layer. */
export { AddressSchema, CancelOrderInputSchema, EditOrderInputSchema, PlaceOrderInputSchema, StockOverrideInputSchema, MAX_LINES, MAX_QUANTITY, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from './api.js';
/** The order statuses and the pure status machine of SPEC §2. */
export { ORDER_STATUSES, TERMINAL_STATUSES, canTransition, isTerminal } from './domain/order-status.js';
export type { OrderStatus } from './domain/order-status.js';
/** The saga states and the names of its steps and compensations. */
export { SAGA_STATES } from './domain/saga.js';
export type { SagaState, SagaStepName, CompensationName } from './domain/saga.js';
/** Kind of the durable timer that enforces the saga deadline. */
export { SAGA_TIMEOUT_TIMER } from './handlers/saga-timer.js';
/** Typed payloads of the events the module publishes. */
export type {
  Address,
  CancelledBy,
  OrderCancelledPayload,
  OrderConfirmedPayload,
  OrderDeliveredPayload,
  OrderEventPayloads,
  OrderEventType,
  OrderPaidPayload,
  OrderPaymentFailedPayload,
  OrderPlacedLine,
  OrderPlacedPayload,
  OrderRejectedPayload,
  OrderShippedPayload,
  OrderStockOverrideAppliedPayload,
  OverriddenLine,
  SourceChannel,
} from './events.js';

// The version an edit names (HTTP: the order's ETag).
export { orderVersion } from './views.js';
