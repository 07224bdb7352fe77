import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** The shipment arrived: SHIPPED → DELIVERED, OrderDelivered. */
export async function onShipmentDelivered(event: EventEnvelope<PayloadOf<'ShipmentDelivered'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const { orderId, shipmentId, deliveredAt } = event.payload;
  const at = Date.parse(deliveredAt);
  await handleOrderEvent(event, ctx, orderId, { type: 'RecordDelivery', shipmentId, deliveredAt: Number.isNaN(at) ? ctx.now : at }, observe);
}
