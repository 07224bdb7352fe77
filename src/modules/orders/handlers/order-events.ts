import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import type { Order, OrderEvent } from '../domain/order.js';

/**
 * Queues an order's events for the log: aggregate Order/orderId, and always the order's own
 * correlationId, so every event of the flow carries the id set at placement. `causationId`
 * names the cause when the transaction handles no event (a timer); else it is the event handled.
 */
export function emitOrderEvents(tx: Pick<TxContext, 'emit'>, order: Order, events: readonly OrderEvent[], causationId?: string): EventEnvelope[] {
  return events.map((event) =>
    tx.emit({
      eventType: event.type,
      aggregateType: 'Order',
      aggregateId: order.orderId,
      correlationId: order.correlationId,
      payload: { ...event.payload },
      ...(causationId === undefined ? {} : { causationId }),
    }),
  );
}
