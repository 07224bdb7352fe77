import type { Kysely } from 'kysely';
import type { CommandOrigin } from '../../kernel/envelope.js';
import { uuidGenerator, type IdGenerator } from '../../kernel/ids.js';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import type { EngineModule, ModuleRuntime } from '../../platform/engine.js';
import { createDeliverShipment } from './handlers/deliver-shipment.js';
import { createDispatchShipment } from './handlers/dispatch-shipment.js';
import { onOrderCancelled } from './handlers/on-order-cancelled.js';
import { onOrderPaid } from './handlers/on-order-paid.js';
import { onOrderUpdated } from './handlers/on-order-updated.js';
import { shipmentMigrations } from './storage/migrations.js';
import { findShipment, findShipmentByOrder, toShipmentView, type ShipmentView } from './storage/shipment-repository.js';
import type { ShipmentRow, ShipmentsDb } from './storage/tables.js';

/** Configuration of the shipments module. */
export interface ShipmentsOptions {
  /** Ids of shipments, from which tracking numbers derive (default random UUIDs). */
  ids?: IdGenerator;
}

/** Commands and queries of the shipments module. */
export interface ShipmentsApi {
  getShipment(shipmentId: string): Promise<ShipmentView | undefined>;
  getShipmentForOrder(orderId: string): Promise<ShipmentView | undefined>;
  /** CREATED → DISPATCHED (ShipmentDispatched); else conflict SHIPMENT_NOT_DISPATCHABLE; unknown: not_found SHIPMENT_NOT_FOUND. */
  dispatch(shipmentId: string, origin?: CommandOrigin): Promise<ShipmentView>;
  /** DISPATCHED → DELIVERED (ShipmentDelivered); else conflict SHIPMENT_NOT_DELIVERABLE; unknown: not_found SHIPMENT_NOT_FOUND. */
  deliver(shipmentId: string, origin?: CommandOrigin): Promise<ShipmentView>;
}

/** The shipments module as the engine runs it, plus `connect` for its commands and queries. */
export interface ShipmentsModule extends EngineModule {
  connect(runtime: ModuleRuntime): ShipmentsApi;
}

/**
 * Builds the shipments module: consumer `shipments` (OrderPaid → ShipmentCreated; OrderCancelled →
 * a shipment not yet dispatched is cancelled; OrderUpdated → it is readdressed) and its tables; `connect` adds dispatch and deliver.
 */
export function createShipmentsModule(options: ShipmentsOptions = {}): ShipmentsModule {
  const consumer = defineConsumer<ShipmentsDb>({
    name: 'shipments',
    source: 'shipments',
    effectsInTransaction: true,
    handlers: {
      OrderPaid: onOrderPaid({ ids: options.ids ?? uuidGenerator }),
      OrderCancelled: onOrderCancelled(),
      OrderUpdated: onOrderUpdated(),
    },
  });
  return {
    name: 'shipments',
    migrations: shipmentMigrations,
    consumers: [consumer],
    connect(runtime) {
      const db = runtime.db as Kysely<ShipmentsDb>;
      return {
        getShipment: async (shipmentId) => view(await findShipment(db, shipmentId)),
        getShipmentForOrder: async (orderId) => view(await findShipmentByOrder(db, orderId)),
        dispatch: createDispatchShipment(runtime),
        deliver: createDeliverShipment(runtime),
      };
    },
  };
}

const view = (row: ShipmentRow | undefined): ShipmentView | undefined => (row ? toShipmentView(row) : undefined);
