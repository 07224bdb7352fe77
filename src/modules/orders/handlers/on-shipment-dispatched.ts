import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** The shipment left: recorded on the order (dispatchedAt) and as a saga step; the status stays SHIPPED. */
export async function onShipmentDispatched(event: EventEnvelope<PayloadOf<'ShipmentDispatched'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const { orderId, shipmentId, dispatchedAt } = event.payload;
  await handleOrderEvent(event, ctx, orderId, { type: 'RecordDispatch', shipmentId, dispatchedAt: epochMs(dispatchedAt, ctx.now) }, observe);
}

function epochMs(iso: string, fallback: number): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? fallback : ms;
}
