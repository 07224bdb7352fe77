import type { ModuleRuntime } from '../../../platform/engine.js';
import { dispatchShipment } from '../domain/shipment.js';
import { shipmentEvent } from '../events.js';
import { iso } from '../storage/shipment-repository.js';
import { advanceShipment } from './advance-shipment.js';

/** dispatch: CREATED → DISPATCHED, emits ShipmentDispatched in the order's flow. */
export function createDispatchShipment(runtime: ModuleRuntime) {
  return advanceShipment(runtime, {
    decide: dispatchShipment,
    refusedCode: 'SHIPMENT_NOT_DISPATCHABLE',
    event: (s) =>
      shipmentEvent(
        'ShipmentDispatched',
        { shipmentId: s.shipment_id, orderId: s.order_id, dispatchedAt: iso(s.dispatched_at!), trackingNumber: s.tracking_number },
        s.correlation_id,
      ),
  });
}
