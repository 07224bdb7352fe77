import type { TxContext } from '../../../platform/log/tx-context.js';
import type { Order, OrderEvent } from '../domain/order.js';

/**
 * Queues an order's events for the log: aggregate Order/orderId, and always the order's own
 * correlationId, so every event of the flow carries the id set at placement.
 */
export function emitOrderEvents(tx: Pick<TxContext, 'emit'>, order: Order, events: readonly OrderEvent[]): void {
  for (const event of events) {
    tx.emit({ eventType: event.type, aggregateType: 'Order', aggregateId: order.orderId, correlationId: order.correlationId, payload: { ...event.payload } });
  }
}
