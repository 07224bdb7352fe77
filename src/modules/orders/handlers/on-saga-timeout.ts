import type { Timer } from '../../../platform/delivery/timers.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import type { OrdersTables } from '../storage/tables.js';
import { applyFlow, type SagaObserver } from './apply-flow.js';

/**
 * The saga deadline passed: a PENDING or CONFIRMED order is cancelled with reason `timeout`
 * (OrderCancelled{refundRequired:false}) and its saga is TIMED_OUT. Any other status means
 * the order was paid or ended meanwhile: nothing happens. The cancellation names the
 * OrderPlaced that set the deadline as its cause (absent from timers scheduled before it was kept).
 */
export async function onSagaTimeout(timer: Timer, tx: TxContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const orderId = timer.payload.orderId;
  if (typeof orderId !== 'string') return;
  const { causationId } = timer.payload;
  await applyFlow(tx, orderId, { type: 'TimeOut' }, observe, typeof causationId === 'string' ? causationId : undefined);
}
