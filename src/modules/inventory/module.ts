import type { Kysely } from 'kysely';
import { uuidGenerator, type IdGenerator } from '../../kernel/ids.js';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import type { EngineModule, ModuleRuntime } from '../../platform/engine.js';
import type { InventoryApi } from './api.js';
import { adjustStock } from './handlers/adjust-stock.js';
import { createProduct } from './handlers/create-product.js';
import { applyEditStock, holdEditStock, releaseEditHoldsOfOrder, releaseEditStock } from './handlers/item-edits.js';
import { releaseOnOrderCancelled } from './handlers/release-on-order-cancelled.js';
import { releaseOnPaymentFailed } from './handlers/release-on-payment-failed.js';
import { reserveOrder } from './handlers/reserve-order.js';
import { restockReturn } from './handlers/restock-return.js';
import { shipReservedStock } from './handlers/ship-reserved-stock.js';
import { createInventoryQueries } from './queries.js';
import { inventoryMigrations } from './storage/migrations.js';
import type { InventoryTables } from './storage/tables.js';

const NAME = 'inventory';

/** Options of the inventory module; every dependency has a default. */
export interface InventoryOptions {
  /** Ids of the alerts the consumer opens (commands use the runtime's generator). */
  ids?: IdGenerator;
}

/** The inventory engine module; `connect` gives its commands and queries. */
export interface InventoryModule extends EngineModule {
  connect(runtime: ModuleRuntime): InventoryApi;
}

/**
 * Products, stock, reservations and low-stock alerts. Its consumer `inventory` reserves stock
 * on OrderPlaced, releases it on OrderPaymentFailed / OrderCancelled and ships it on
 * ShipmentCreated; restocks returned goods on ReturnReceived; holds the units an item edit
 * adds (OrderEditRequested), moves them onto the order when it applies (OrderUpdated) or gives
 * them back (OrderEditRejected, OrderCancelled).
 */
export function createInventoryModule(options: InventoryOptions = {}): InventoryModule {
  const ids = options.ids ?? uuidGenerator;
  const consumer = defineConsumer<InventoryTables>({
    name: NAME,
    source: NAME,
    handlers: {
      OrderPlaced: reserveOrder(ids),
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
      };
    },
  };
}
