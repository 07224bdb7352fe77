import type { Kysely } from 'kysely';
import { AppError } from '../../kernel/errors.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import type { EngineModule, ModuleRuntime } from '../../platform/engine.js';
import type { CatalogPort, OrdersApi } from './api.js';
import { cancelOrder } from './handlers/cancel-order.js';
import { editOrder } from './handlers/edit-order.js';
import { onItemEditStep } from './handlers/item-edit-steps.js';
import { moveReturnCommand, onPaymentPartiallyRefunded, requestReturnCommand } from './handlers/returns.js';
import { onInventoryReleased } from './handlers/on-inventory-released.js';
import { onInventoryReservationFailed } from './handlers/on-inventory-reservation-failed.js';
import { onInventoryReserved } from './handlers/on-inventory-reserved.js';
import { onPaymentFailed } from './handlers/on-payment-failed.js';
import { onPaymentProcessed } from './handlers/on-payment-processed.js';
import { onPaymentRefunded } from './handlers/on-payment-refunded.js';
import { onSagaTimeout } from './handlers/on-saga-timeout.js';
import { onShipmentCreated } from './handlers/on-shipment-created.js';
import { onShipmentDelivered } from './handlers/on-shipment-delivered.js';
import { onShipmentDispatched } from './handlers/on-shipment-dispatched.js';
import { onBackorderFulfilled, onInventoryReservationShort, onOrderBackordered } from './handlers/on-stock-events.js';
import { overrideStock } from './handlers/override-stock.js';
import { findStockReview } from './storage/stock-review-store.js';
import { commitPlacement, placeOrder, pricePlacement } from './handlers/place-order.js';
import type { SagaObserver } from './handlers/apply-flow.js';
import { SAGA_TIMEOUT_TIMER } from './handlers/saga-timer.js';
import { getOrder, getSaga, listOrders } from './queries.js';
import { countOrdersByStatus } from './storage/order-queries.js';
import { preloadOrderFlows } from './storage/order-store.js';
import { ordersMigrations } from './storage/migrations.js';
import { toReturnView, toStockReviewView } from './views.js';
import { findReturn, returnsOfOrder } from './storage/return-store.js';

/** Returns are taken for 30 days after delivery unless RETURN_WINDOW_DAYS says otherwise. */
export const DEFAULT_RETURN_WINDOW_MS = 30 * 86_400_000;
/** An order waits for backordered stock at most 7 days unless BACKORDER_TIMEOUT_MS says otherwise. */
export const DEFAULT_BACKORDER_TIMEOUT_MS = 7 * 86_400_000;
import type { OrdersTables } from './storage/tables.js';

/** Why inventory could not hold an edit's units, with the shortages: `insufficient_stock: p-1 (3 asked, 1 available)`. */
function shortageReason(payload: { reason: string; shortages: { productId: string; requested: number; available: number }[] }): string {
  if (payload.shortages.length === 0) return payload.reason;
  return `${payload.reason}: ${payload.shortages.map((s) => `${s.productId} (${s.requested} asked, ${s.available} available)`).join(', ')}`;
}

export interface OrdersModuleOptions {
  /** Prices order lines; the inventory module implements it. */
  catalog: CatalogPort;
  /** Time from placement to PAID before the order is cancelled with reason `timeout` (SAGA_TIMEOUT_MS). */
  sagaTimeoutMs: number;
  /** How long after delivery a return may be requested (RETURN_WINDOW_DAYS; default 30 days). */
  returnWindowMs?: number;
  /** How long a short order is held for an admin's override before it is rejected (SHORT_ORDER_REVIEW_MS; default 0: not held). */
  shortOrderReviewMs?: number;
  /** How long an order may wait for backordered stock before it is cancelled (BACKORDER_TIMEOUT_MS; default 7 days). */
  backorderTimeoutMs?: number;
  /** Hears each saga's duration once it settles (the composition feeds a histogram). */
  onSagaSettled?: SagaObserver;
}

export interface OrdersModule extends EngineModule {
  /** The commands and queries, once the engine exists. Works whether or not this process runs the consumer. */
  connect(runtime: ModuleRuntime): OrdersApi;
}

/** The order an event is about: an order's own, or the order its payload names. */
function orderIdOf(event: EventEnvelope): string | undefined {
  if (event.aggregateType === 'Order') return event.aggregateId;
  const orderId = (event.payload as { orderId?: unknown }).orderId;
  return typeof orderId === 'string' ? orderId : undefined;
}

export function createOrdersModule(options: OrdersModuleOptions): OrdersModule {
  const { catalog, sagaTimeoutMs, onSagaSettled: observe, returnWindowMs = DEFAULT_RETURN_WINDOW_MS } = options;
  const waits = { reviewMs: options.shortOrderReviewMs ?? 0, backorderTimeoutMs: options.backorderTimeoutMs ?? DEFAULT_BACKORDER_TIMEOUT_MS };
  if (!Number.isSafeInteger(sagaTimeoutMs) || sagaTimeoutMs <= 0) {
    throw new AppError('validation', 'BAD_SAGA_TIMEOUT', `sagaTimeoutMs must be a positive integer of milliseconds, not ${sagaTimeoutMs}`);
  }
  const consumer = defineConsumer<OrdersTables>({
    name: 'orders',
    source: 'orders',
    // Rows, events and timers only (the saga-duration metric is observed after the commit).
    effectsInTransaction: true,
    // Every handler locks and reads the order its event names: one statement for the batch.
    prepareBatch: (events, ctx) => preloadOrderFlows(ctx.db, events.flatMap((event) => orderIdOf(event) ?? [])),
    handlers: {
      InventoryReserved: (event, ctx) => onInventoryReserved(event, ctx, observe, sagaTimeoutMs),
      InventoryReservationShort: (event, ctx) => onInventoryReservationShort(event, ctx, waits, observe),
      OrderBackordered: (event, ctx) => onOrderBackordered(event, ctx, waits, observe),
      BackorderFulfilled: (event, ctx) => onBackorderFulfilled(event, ctx, observe),
      InventoryReservationFailed: (event, ctx) => onInventoryReservationFailed(event, ctx, observe),
      InventoryReleased: (event, ctx) => onInventoryReleased(event, ctx, observe),
      PaymentProcessed: (event, ctx) => onPaymentProcessed(event, ctx, observe),
      PaymentFailed: (event, ctx) => onPaymentFailed(event, ctx, observe),
      PaymentRefunded: (event, ctx) => onPaymentRefunded(event, ctx, observe),
      ShipmentCreated: (event, ctx) => onShipmentCreated(event, ctx, observe),
      ShipmentDispatched: (event, ctx) => onShipmentDispatched(event, ctx, observe),
      ShipmentDelivered: (event, ctx) => onShipmentDelivered(event, ctx, observe),
      PaymentPartiallyRefunded: (event, ctx) => onPaymentPartiallyRefunded(event, ctx),
      InventoryEditReserved: (event, ctx) => onItemEditStep(event, ctx, { type: 'StockHeld', editId: event.payload.editId }),
      InventoryEditReservationFailed: (event, ctx) => onItemEditStep(event, ctx, { type: 'StockShort', editId: event.payload.editId, reason: shortageReason(event.payload) }),
      PaymentEditCharged: (event, ctx) => onItemEditStep(event, ctx, { type: 'Charged', editId: event.payload.editId }),
      PaymentEditChargeFailed: (event, ctx) => onItemEditStep(event, ctx, { type: 'ChargeFailed', editId: event.payload.editId, reason: event.payload.reason }),
    },
  });
  return {
    name: 'orders',
    migrations: ordersMigrations,
    consumers: [consumer],
    timers: { [SAGA_TIMEOUT_TIMER]: (timer, tx) => onSagaTimeout(timer, tx, observe) },
    connect(runtime) {
      const db = runtime.db as Kysely<OrdersTables>;
      const moveReturn = moveReturnCommand(runtime);
      return {
        placeOrder: (input, origin) => placeOrder({ runtime, catalog, sagaTimeoutMs }, input, origin),
        pricePlacement: (input) => pricePlacement({ catalog }, input),
        commitPlacement: (placement, origin) => commitPlacement({ runtime, catalog, sagaTimeoutMs }, placement, origin),
        cancelOrder: (orderId, input, origin) => cancelOrder(runtime, orderId, input, observe, origin),
        editOrder: (orderId, input, origin) => editOrder({ runtime, catalog }, orderId, input, origin),
        requestReturn: requestReturnCommand(runtime, returnWindowMs),
        approveReturn: (returnId, origin) => moveReturn(returnId, { type: 'approve' }, origin),
        rejectReturn: (returnId, input, origin) => moveReturn(returnId, { type: 'reject', reason: input.reason }, origin),
        receiveReturn: (returnId, input, origin) => moveReturn(returnId, { type: 'receive', restock: input.restock }, origin),
        getReturn: async (returnId) => {
          const found = await findReturn(db, returnId);
          return found ? toReturnView(found) : undefined;
        },
        listReturns: async (orderId) => (await returnsOfOrder(db, orderId)).map(toReturnView),
        overrideStock: (orderId, input, origin) => overrideStock(runtime, waits.backorderTimeoutMs, orderId, input, origin),
        stockReviewOf: async (orderId) => {
          const review = await findStockReview(db, orderId);
          return review ? toStockReviewView(review) : undefined;
        },
        getOrder: (orderId) => getOrder(db, orderId),
        listOrders: (query) => listOrders(db, query),
        getSaga: (sagaId) => getSaga(db, { sagaId }),
        getSagaForOrder: (orderId) => getSaga(db, { orderId }),
        countByStatus: () => countOrdersByStatus(db),
      };
    },
  };
}
