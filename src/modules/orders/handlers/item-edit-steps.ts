import type { EventEnvelope } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { advanceItemEdit, type EditStep } from '../domain/order-edit.js';
import { lockOrderFlow, saveOrderFlow } from '../storage/order-store.js';
import type { OrdersTables } from '../storage/tables.js';
import { emitOrderEvents } from './order-events.js';

/**
 * What inventory (InventoryEditReserved / InventoryEditReservationFailed) or payments
 * (PaymentEditCharged / PaymentEditChargeFailed) reported about an item edit moves it on, under
 * the order's lock: the next step is asked for, or the edit applies (OrderUpdated) or ends
 * (OrderEditRejected). A report of an edit that is no longer under way (the order was cancelled,
 * or a redelivery) is logged and ignored.
 */
export async function onItemEditStep(event: EventEnvelope<{ orderId: string }>, ctx: HandlerContext<OrdersTables>, step: EditStep): Promise<void> {
  const { orderId } = event.payload;
  const before = await lockOrderFlow(ctx.db, orderId);
  if (!before) throw new AppError('not_found', 'ORDER_NOT_FOUND', `${event.eventType} ${event.eventId} names order ${orderId}, which does not exist`);
  const decision = advanceItemEdit(before.order, step, ctx.now);
  if (!decision.ok) {
    ctx.log.info({ orderId, editId: step.editId, status: before.order.status }, `${event.eventType} ignored: ${decision.message}`);
    return;
  }
  await saveOrderFlow(ctx.db, before, { order: decision.order, saga: before.saga });
  emitOrderEvents(ctx, decision.order, decision.events);
}
