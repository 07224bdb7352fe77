import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { findShipmentByOrder, readdressShipment, repackShipment } from '../storage/shipment-repository.js';
import type { ShipmentsDb } from '../storage/tables.js';

/**
 * OrderUpdated of an item edit → the order's shipment, while still CREATED, carries the new
 * lines (inventory moves the stock: see its item-edit handlers).
 * OrderUpdated with a new shipping address → the order's shipment, while still CREATED, goes
 * there instead. Before any shipment nothing is to do: OrderPaid, which comes after this event,
 * carries the new address. A shipment that left in the moment between its dispatch and the
 * order hearing of it keeps the old address: logged as a warning for an operator to act on.
 */
export function onOrderUpdated() {
  return async (event: EventEnvelope<PayloadOf<'OrderUpdated'>>, ctx: HandlerContext<ShipmentsDb>): Promise<void> => {
    const { orderId, changes } = event.payload;
    const shipment = await findShipmentByOrder(ctx.db, orderId);
    if (!shipment) return;
    if (event.payload.editId !== undefined) await repackItems(ctx, shipment, changes.items);
    if (!changes.shippingAddress) return;
    const destination = changes.shippingAddress.new;
    if (await readdressShipment(ctx.db, shipment.shipment_id, { street: destination.street, city: destination.city, postalCode: destination.postalCode, country: destination.country }, ctx.now)) {
      ctx.log.info({ orderId, shipmentId: shipment.shipment_id }, 'shipment readdressed with its order');
      return;
    }
    ctx.log.warn({ orderId, shipmentId: shipment.shipment_id, status: shipment.status }, 'the order\u2019s new shipping address came after its shipment left: the shipment keeps the old one');
  };
}

type ItemChanges = PayloadOf<'OrderUpdated'>['changes']['items'];

async function repackItems(ctx: HandlerContext<ShipmentsDb>, shipment: { shipment_id: string; order_id: string; items: string; status: string }, changes: ItemChanges): Promise<void> {
  const lines = new Map((JSON.parse(shipment.items) as { productId: string; quantity: number }[]).map((l) => [l.productId, l.quantity]));
  for (const l of changes.added) lines.set(l.productId, l.quantity);
  for (const l of changes.removed) lines.delete(l.productId);
  for (const l of changes.modified) lines.set(l.productId, l.newQuantity);
  const items = [...lines].map(([productId, quantity]) => ({ productId, quantity }));
  if (await repackShipment(ctx.db, shipment.shipment_id, items, ctx.now)) {
    ctx.log.info({ orderId: shipment.order_id, shipmentId: shipment.shipment_id }, 'shipment repacked with its order\u2019s edited lines');
    return;
  }
  // Orders applies an item edit only before dispatch; a shipment that left in the same moment is for an operator.
  ctx.log.warn({ orderId: shipment.order_id, shipmentId: shipment.shipment_id, status: shipment.status }, 'the order\u2019s edited lines came after its shipment left: the shipment keeps the old ones');
}
