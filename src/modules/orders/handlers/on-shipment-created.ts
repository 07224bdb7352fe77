import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** A shipment exists: PAID → SHIPPED, OrderShipped. */
export async function onShipmentCreated(event: EventEnvelope<PayloadOf<'ShipmentCreated'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const { orderId, shipmentId, trackingNumber } = event.payload;
  await handleOrderEvent(event, ctx, orderId, { type: 'RecordShipment', shipmentId, trackingNumber }, observe);
}
