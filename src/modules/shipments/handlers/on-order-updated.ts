import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { findShipmentByOrder, readdressShipment } from '../storage/shipment-repository.js';
import type { ShipmentsDb } from '../storage/tables.js';

/**
 * OrderUpdated with a new shipping address → the order's shipment, while still CREATED, goes
 * there instead. Before any shipment nothing is to do: OrderPaid, which comes after this event,
 * carries the new address. A shipment that left in the moment between its dispatch and the
 * order hearing of it keeps the old address: logged as a warning for an operator to act on.
 */
export function onOrderUpdated() {
  return async (event: EventEnvelope<PayloadOf<'OrderUpdated'>>, ctx: HandlerContext<ShipmentsDb>): Promise<void> => {
    const { orderId, changes } = event.payload;
    if (!changes.shippingAddress) return;
    const shipment = await findShipmentByOrder(ctx.db, orderId);
    if (!shipment) return;
    const destination = changes.shippingAddress.new;
    if (await readdressShipment(ctx.db, shipment.shipment_id, { street: destination.street, city: destination.city, postalCode: destination.postalCode, country: destination.country }, ctx.now)) {
      ctx.log.info({ orderId, shipmentId: shipment.shipment_id }, 'shipment readdressed with its order');
      return;
    }
    ctx.log.warn({ orderId, shipmentId: shipment.shipment_id, status: shipment.status }, 'the order\u2019s new shipping address came after its shipment left: the shipment keeps the old one');
  };
}
