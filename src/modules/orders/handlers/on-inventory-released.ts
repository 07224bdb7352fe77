import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** The reservation was released: recorded as the saga compensation `stock released`. */
export async function onInventoryReleased(event: EventEnvelope<PayloadOf<'InventoryReleased'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const detail = event.payload.items.map((i) => `${i.productId} × ${i.quantity}`).join(', ');
  await handleOrderEvent(event, ctx, event.payload.orderId, { type: 'RecordStockRelease', detail: detail || 'nothing held' }, observe);
}
