import type { ModuleRuntime } from '../../../platform/engine.js';
import { deliverShipment } from '../domain/shipment.js';
import { shipmentEvent } from '../events.js';
import { iso } from '../storage/shipment-repository.js';
import { advanceShipment } from './advance-shipment.js';

/** deliver: DISPATCHED → DELIVERED, emits ShipmentDelivered in the order's flow. */
export function createDeliverShipment(runtime: ModuleRuntime) {
  return advanceShipment(runtime, {
    decide: deliverShipment,
    refusedCode: 'SHIPMENT_NOT_DELIVERABLE',
    event: (s) =>
      shipmentEvent(
        'ShipmentDelivered',
        { shipmentId: s.shipment_id, orderId: s.order_id, deliveredAt: iso(s.delivered_at!), trackingNumber: s.tracking_number },
        s.correlation_id,
      ),
  });
}
