import type { Kysely } from 'kysely';
import { uuidGenerator, type IdGenerator } from '../../kernel/ids.js';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import type { EngineModule, ModuleRuntime } from '../../platform/engine.js';
import type { InventoryApi } from './api.js';
import { adjustStock } from './handlers/adjust-stock.js';
import { applyOverride } from './handlers/apply-override.js';
import { createProduct } from './handlers/create-product.js';
import { applyEditStock, holdEditStock, releaseEditHoldsOfOrder, releaseEditStock } from './handlers/item-edits.js';
import { releaseOnOrderCancelled } from './handlers/release-on-order-cancelled.js';
import { releaseOnOrderRejected } from './handlers/release-on-order-rejected.js';
import { releaseOnPaymentFailed } from './handlers/release-on-payment-failed.js';
import { reserveOrder } from './handlers/reserve-order.js';
import { restockReturn } from './handlers/restock-return.js';
import { setAllowBackorders } from './handlers/set-allow-backorders.js';
import { shipReservedStock } from './handlers/ship-reserved-stock.js';
import { createInventoryQueries } from './queries.js';
import { inventoryMigrations } from './storage/migrations.js';
import type { InventoryTables } from './storage/tables.js';

const NAME = 'inventory';

/** Options of the inventory module; every dependency has a default. */
export interface InventoryOptions {
  /** Ids of the alerts the consumer opens (commands use the runtime's generator). */
  ids?: IdGenerator;
  /**
   * SHORT_ORDER_REVIEW_MS > 0: an order short of a product that takes no backorders keeps what is
   * available and holds its shortfalls for an admin's override (InventoryReservationShort)
   * instead of being refused at once. Default false.
   */
  holdShortOrdersForReview?: boolean;
}

/** The inventory engine module; `connect` gives its commands and queries. */
export interface InventoryModule extends EngineModule {
  connect(runtime: ModuleRuntime): InventoryApi;
}

/**
 * Products, stock, reservations, backorders and low-stock alerts. Its consumer `inventory`
 * reserves stock on OrderPlaced (or backorders it), releases it on OrderPaymentFailed /
 * OrderCancelled / OrderRejected and ships it on ShipmentCreated; restocks returned goods on
 * ReturnReceived; turns shortfalls an admin approved into backorders on OrderStockOverrideApplied;
 * holds the units an item edit adds (OrderEditRequested), moves them onto the order when it
 * applies (OrderUpdated) or gives them back (OrderEditRejected, OrderCancelled).
 */
export function createInventoryModule(options: InventoryOptions = {}): InventoryModule {
  const ids = options.ids ?? uuidGenerator;
  const consumer = defineConsumer<InventoryTables>({
    name: NAME,
    source: NAME,
    effectsInTransaction: true,
    handlers: {
      OrderPlaced: reserveOrder(ids, { holdForReview: options.holdShortOrdersForReview ?? false }),
      OrderStockOverrideApplied: applyOverride(ids),
      OrderRejected: releaseOnOrderRejected(ids),
      OrderPaymentFailed: releaseOnPaymentFailed(ids),
      OrderCancelled: async (event, ctx) => {
        await releaseOnOrderCancelled(ids)(event, ctx);
        await releaseEditHoldsOfOrder(ctx, ids, event.payload.orderId, `order cancelled: ${event.payload.reason}`);
      },
      OrderEditRequested: holdEditStock(ids),
      OrderEditRejected: releaseEditStock(ids),
      OrderUpdated: applyEditStock(ids),
      ShipmentCreated: shipReservedStock(ids),
      ReturnReceived: restockReturn(ids),
    },
    // Orders of different partitions reserve the same products: one partition at a time per process.
    sharedRows: true,
  });
  return {
    name: NAME,
    migrations: inventoryMigrations,
    consumers: [consumer],
    connect(runtime) {
      const queries = createInventoryQueries(runtime.db as Kysely<InventoryTables>);
      return {
        ...queries,
        createProduct: createProduct(runtime, NAME),
        adjustStock: adjustStock(runtime, NAME),
        setAllowBackorders: setAllowBackorders(runtime, NAME),
      };
    },
  };
}
