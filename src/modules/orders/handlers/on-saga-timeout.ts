import type { Timer } from '../../../platform/delivery/timers.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import type { OrdersTables } from '../storage/tables.js';
import { timeoutCommand } from '../domain/order-flow.js';
import { applyFlow, type SagaObserver } from './apply-flow.js';

/**
 * The saga deadline passed: a PENDING or CONFIRMED order is cancelled with reason `timeout`
 * (OrderCancelled{refundRequired:false}) and its saga is TIMED_OUT. Any other status means
 * the order was paid or ended meanwhile: nothing happens. A PENDING order short of stock: held for
 * review, it is rejected (no override came in time); waiting for stock, it is cancelled with reason
 * `backorder timeout` (timeoutCommand). The cancellation names the
 * OrderPlaced that set the deadline as its cause (absent from timers scheduled before it was kept).
 */
export async function onSagaTimeout(timer: Timer, tx: TxContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const orderId = timer.payload.orderId;
  if (typeof orderId !== 'string') return;
  const { causationId } = timer.payload;
  await applyFlow(tx, orderId, (flow) => timeoutCommand(flow.saga), observe, typeof causationId === 'string' ? causationId : undefined);
}
