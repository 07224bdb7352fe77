import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import { CancelOrderInputSchema, type CancelOrderInput, type OrderView } from '../api.js';
import { defaultCancelReason } from '../domain/order.js';
import { toOrderView } from '../views.js';
import { applyFlow, type SagaObserver } from './apply-flow.js';
import { runOrderCommand } from './order-command.js';
import { inputCheck } from './input-check.js';

const checkInput = inputCheck(CancelOrderInputSchema, 'INVALID_CANCEL', 'input');

/**
 * Cancels a PENDING, CONFIRMED or PAID order: CANCELLED, OrderCancelled{refundRequired:
 * wasPaid}, saga compensating, deadline timer cancelled. Otherwise 409 ORDER_NOT_CANCELLABLE.
 */
export async function cancelOrder(runtime: ModuleRuntime, orderId: string, input: CancelOrderInput, observe?: SagaObserver, origin?: CommandOrigin): Promise<OrderView> {
  checkInput(input);
  const reason = input.reason ?? defaultCancelReason(input.by);
  return runOrderCommand(runtime, origin, async (tx) => {
    const outcome = await applyFlow(tx, orderId, { type: 'Cancel', reason, by: input.by }, observe);
    if (!outcome) throw new AppError('not_found', 'ORDER_NOT_FOUND', `no order ${orderId}`);
    if (outcome.refused) {
      throw new AppError('conflict', 'ORDER_NOT_CANCELLABLE', `order ${orderId} is ${outcome.order.status} and can no longer be cancelled`, {
        details: { status: outcome.order.status },
      });
    }
    return toOrderView(outcome.order);
  });
}
