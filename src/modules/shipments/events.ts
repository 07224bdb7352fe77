import type { EventDraft } from '../../kernel/envelope.js';

/** ShipmentCreated: the paid order has a shipment waiting in the warehouse. */
export type ShipmentCreatedPayload = {
  orderId: string;
  shipmentId: string;
  /** `TRK-` and 10 uppercase alphanumerics. */
  trackingNumber: string;
};

/** ShipmentDispatched: the shipment left the warehouse. */
export type ShipmentDispatchedPayload = {
  shipmentId: string;
  orderId: string;
  /** ISO-8601. */
  dispatchedAt: string;
  /** Extra field: the carrier's tracking number. */
  trackingNumber: string;
};

/** ShipmentDelivered: the shipment reached the customer. */
export type ShipmentDeliveredPayload = {
  shipmentId: string;
  orderId: string;
  /** ISO-8601. */
  deliveredAt: string;
  /** Extra field: the carrier's tracking number. */
  trackingNumber: string;
};

/** The events the shipments module publishes, by type. */
export type ShipmentEvents = {
  ShipmentCreated: ShipmentCreatedPayload;
  ShipmentDispatched: ShipmentDispatchedPayload;
  ShipmentDelivered: ShipmentDeliveredPayload;
};

/**
 * A draft of a shipments event on the Shipment aggregate. The correlation id is the order's
 * flow, stored on the shipment: commands (dispatch, deliver) have no causing event to copy it from.
 */
export function shipmentEvent<T extends keyof ShipmentEvents>(eventType: T, payload: ShipmentEvents[T], correlationId: string): EventDraft<ShipmentEvents[T]> {
  return { eventType, aggregateType: 'Shipment', aggregateId: payload.shipmentId, payload, correlationId };
}
