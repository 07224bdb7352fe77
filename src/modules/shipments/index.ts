/** The shipments module: one shipment per paid order, with its dispatch and delivery. */
export {
  /** Builds the shipments module (consumer `shipments` and its tables). */
  createShipmentsModule,
  /** Options, API and module types of the shipments module. */
  type ShipmentsOptions,
  type ShipmentsApi,
  type ShipmentsModule,
} from './module.js';
export {
  /** A shipment as the API shows it, and its parts. */
  type ShipmentView,
  type ShipmentItem,
  type ShippingAddress,
} from './storage/shipment-repository.js';
export {
  /** The shipment statuses: CREATED, DISPATCHED, DELIVERED, CANCELLED. */
  type ShipmentStatus,
} from './domain/shipment.js';
export {
  /** Payloads of ShipmentCreated, ShipmentDispatched and ShipmentDelivered. */
  type ShipmentCreatedPayload,
  type ShipmentDispatchedPayload,
  type ShipmentDeliveredPayload,
  type ShipmentEvents,
} from './events.js';
export {
  /** The OrderPaid fields the shipments module needs (items, shippingAddress), as a schema and a type. */
  OrderPaidForShipping,
} from './handlers/on-order-paid.js';
