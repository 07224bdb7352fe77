import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import { EditOrderInputSchema, type EditOrderInput, type OrderView } from '../api.js';
import { decideEdit } from '../domain/order-edit.js';
import { lockOrderFlow, saveOrderFlow } from '../storage/order-store.js';
import type { OrdersTables } from '../storage/tables.js';
import { orderVersion, toOrderView } from '../views.js';
import { emitOrderEvents } from './order-events.js';
import { retryTransient } from './transient.js';

const checkInput = TypeCompiler.Compile(EditOrderInputSchema);

/**
 * Edits an order in one transaction, under its lock: refused when it is no longer at the
 * version the editor read (two concurrent edits: the second is refused), or when its status or
 * dispatch forbids the change; else the new address and OrderUpdated commit together. The saga
 * goes on as it was: an address edit is no step of it.
 */
export async function editOrder(runtime: ModuleRuntime, orderId: string, input: EditOrderInput, origin?: CommandOrigin): Promise<OrderView> {
  const error = checkInput.Check(input) ? undefined : checkInput.Errors(input).First();
  if (error) throw new AppError('validation', 'INVALID_EDIT', `${error.path || 'input'}: ${error.message}`, { details: { path: error.path, message: error.message } });
  return retryTransient(() =>
    runtime.unitOfWork.run<OrderView, OrdersTables>(
      'orders',
      async (tx) => {
        const before = await lockOrderFlow(tx.db, orderId);
        if (!before) throw new AppError('not_found', 'ORDER_NOT_FOUND', `no order ${orderId}`);
        const current = orderVersion(toOrderView(before.order));
        if (current !== input.expectedVersion) {
          throw new AppError('conflict', 'ORDER_CHANGED', `order ${orderId} changed since version ${input.expectedVersion}: read it again`, {
            details: { expectedVersion: input.expectedVersion, currentVersion: current, status: before.order.status },
          });
        }
        const decision = decideEdit(before.order, { shippingAddress: input.shippingAddress, reason: input.reason }, tx.now);
        if (!decision.ok) throw new AppError('conflict', 'ORDER_NOT_EDITABLE', decision.message, { details: { status: before.order.status } });
        if (decision.order !== before.order) await saveOrderFlow(tx.db, before, { order: decision.order, saga: before.saga });
        emitOrderEvents(tx, decision.order, decision.events);
        return toOrderView(decision.order);
      },
      origin,
    ),
  );
}
