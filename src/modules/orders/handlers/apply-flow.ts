import type { EventEnvelope } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import { runOrderFlow, type FlowCommand, type FlowOutcome, type OrderFlow } from '../domain/order-flow.js';
import { lockOrderFlow, saveOrderFlow } from '../storage/order-store.js';
import type { OrdersTables } from '../storage/tables.js';
import { emitOrderEvents } from './order-events.js';
import { SAGA_TIMEOUT_TIMER, sagaTimerKey } from './saga-timer.js';

/** Hears how long a saga took from placement until it settled (ms), and the state it settled in; called after the commit. */
export type SagaObserver = (durationMs: number, state: string) => void;

/**
 * Loads the order and its saga (locked), decides `command`, writes what changed, cancels the
 * saga timer once the saga no longer needs it (or moves it with the saga's deadline: an order
 * waiting for stock), and emits the order's events — all in `tx`. `command` may be chosen from
 * the locked order and saga. Undefined when the order does not exist.
 */
export async function applyFlow(
  tx: TxContext<OrdersTables>,
  orderId: string,
  command: FlowCommand | ((flow: OrderFlow) => FlowCommand),
  observe?: SagaObserver,
  causationId?: string,
): Promise<FlowOutcome | undefined> {
  const before = await lockOrderFlow(tx.db, orderId);
  if (!before) return undefined;
  const outcome = runOrderFlow(before, typeof command === 'function' ? command(before) : command, tx.now);
  await saveOrderFlow(tx.db, before, outcome);
  await moveSagaTimer(tx, before, outcome, causationId);
  if (outcome.sagaSettled) {
    await tx.cancelTimer(sagaTimerKey(orderId));
    const { saga } = outcome;
    if (observe) tx.afterCommit(() => observe((saga.completedAt ?? tx.now) - saga.startedAt, saga.state));
  }
  emitOrderEvents(tx, outcome.order, outcome.events, causationId);
  return outcome;
}

/**
 * A saga still STARTED whose deadline moved (a short order's review window, the bound of a
 * wait for stock, the payment's deadline restarted once the stock is there): its timer moves
 * with it. Scheduling the same key again replaces the timer.
 */
export async function moveSagaTimer(tx: TxContext<OrdersTables>, before: OrderFlow, after: { saga: OrderFlow['saga'] }, causationId?: string): Promise<void> {
  const { saga } = after;
  if (saga.state !== 'STARTED' || saga.deadline === before.saga.deadline) return;
  const payload = { orderId: saga.orderId, ...(causationId === undefined ? {} : { causationId }) };
  await tx.schedule({ key: sagaTimerKey(saga.orderId), kind: SAGA_TIMEOUT_TIMER, dueAt: saga.deadline, payload });
}

/**
 * What every event handler of the module does: apply the command to the order the event
 * names. An event the status machine refuses (late, or no longer applicable) is logged and
 * ignored; an event about an order this module never placed is a real fault (retried, then
 * dead-lettered).
 */
export async function handleOrderEvent(event: EventEnvelope, ctx: HandlerContext<OrdersTables>, orderId: string, command: FlowCommand, observe?: SagaObserver): Promise<void> {
  const outcome = await applyFlow(ctx, orderId, command, observe, event.eventId);
  if (!outcome) throw new AppError('not_found', 'ORDER_NOT_FOUND', `${event.eventType} ${event.eventId} names order ${orderId}, which does not exist`);
  if (outcome.refused) {
    ctx.log.info({ orderId, status: outcome.order.status, code: outcome.refused.code }, `${event.eventType} ignored: ${outcome.refused.message}`);
  }
  if (outcome.sagaNote) ctx.log.warn({ orderId, sagaId: outcome.saga.sagaId }, `saga not updated: ${outcome.sagaNote}`);
}
