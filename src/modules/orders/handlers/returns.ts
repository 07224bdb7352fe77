import type { PayloadOf } from '../../../kernel/catalog.js';
import type { CommandOrigin, EventEnvelope } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import { RequestReturnInputSchema, type RequestReturnInput, type ReturnView } from '../api.js';
import type { OrderEvent } from '../domain/order.js';
import { moveReturn, requestReturn, type OrderReturn, type ReturnRefusal } from '../domain/returns.js';
import { findReturn, insertReturn, returnsOfOrder, saveReturn } from '../storage/return-store.js';
import type { OrdersTables } from '../storage/tables.js';
import { emitOrderEvents } from './order-events.js';
import { toReturnView } from '../views.js';
import { lockedOrderFlow, runOrderCommand } from './order-command.js';
import { inputCheck } from './input-check.js';

const checkRequest = inputCheck(RequestReturnInputSchema, 'VALIDATION_FAILED', 'return');

function refused(refusal: ReturnRefusal): AppError {
  const options = refusal.details ? { details: refusal.details } : {};
  if (refusal.code === 'RETURN_TOO_LARGE') return new AppError('validation', refusal.code, refusal.message, options);
  return new AppError('conflict', refusal.code, refusal.message, options);
}

function payloadOf(r: OrderReturn, reason: string | null) {
  return { returnId: r.returnId, orderId: r.orderId, lines: r.lines, ...(reason === null ? {} : { reason }) };
}

/** A customer (or an admin for them) asks to return delivered lines: ReturnRequested. */
export function requestReturnCommand(runtime: ModuleRuntime, returnWindowMs: number) {
  return (orderId: string, input: RequestReturnInput, origin?: CommandOrigin): Promise<ReturnView> => {
    checkRequest(input);
    return runOrderCommand(runtime, origin, async (tx) => {
      const { order } = await lockedOrderFlow(tx, orderId);
      const decision = requestReturn(order, await returnsOfOrder(tx.db, orderId), { returnId: runtime.ids.next(), ...input }, tx.now, returnWindowMs);
      if (!decision.ok) throw refused(decision);
      const created = decision.value;
      await insertReturn(tx.db, created);
      emitOrderEvents(tx, order, [{ type: 'ReturnRequested', payload: { ...payloadOf(created, created.reason), amount: created.amount, currency: created.currency } }]);
      return toReturnView(created);
    });
  };
}

type AdminStep = { type: 'approve' } | { type: 'reject'; reason?: string | undefined } | { type: 'receive'; restock: boolean };

/**
 * An admin's step on a return: approve or reject a requested one (ReturnApproved /
 * ReturnRejected), or record the receipt of an approved one's goods (ReturnReceived: inventory
 * restocks them unless `restock` is false, payments refunds the amount).
 */
export function moveReturnCommand(runtime: ModuleRuntime) {
  return (returnId: string, step: AdminStep, origin?: CommandOrigin): Promise<ReturnView> =>
    runOrderCommand(runtime, origin, async (tx) => {
      const found = await findReturn(tx.db, returnId);
      if (!found) throw new AppError('not_found', 'RETURN_NOT_FOUND', `no return ${returnId}`);
      const { order } = await lockedOrderFlow(tx, found.orderId);
      // Read again under the order's lock: a step that committed meanwhile is seen.
      const current = (await findReturn(tx.db, returnId))!;
      const decision = moveReturn(current, step, tx.now);
      if (!decision.ok) throw refused(decision);
      const next = decision.value;
      if (!(await saveReturn(tx.db, current.status, next))) throw new AppError('conflict', 'RETURN_NOT_PENDING', `return ${returnId} changed meanwhile; read it again`);
      const event: OrderEvent =
        step.type === 'approve'
          ? { type: 'ReturnApproved', payload: payloadOf(next, null) }
          : step.type === 'reject'
            ? { type: 'ReturnRejected', payload: payloadOf(next, next.rejectionReason) }
            : { type: 'ReturnReceived', payload: { ...payloadOf(next, null), restock: step.restock, amount: next.amount, currency: next.currency } };
      emitOrderEvents(tx, order, [event]);
      return toReturnView(next);
    });
}

/** PaymentPartiallyRefunded of a return → the return is REFUNDED, with what was refunded. */
export async function onPaymentPartiallyRefunded(event: EventEnvelope<PayloadOf<'PaymentPartiallyRefunded'>>, ctx: HandlerContext<OrdersTables>): Promise<void> {
  const { returnId, amount } = event.payload;
  if (returnId === undefined) return;
  const current = await findReturn(ctx.db, returnId);
  if (!current) throw new AppError('not_found', 'RETURN_NOT_FOUND', `PaymentPartiallyRefunded ${event.eventId} names return ${returnId}, which does not exist`);
  const decision = moveReturn(current, { type: 'refund', amount }, ctx.now);
  if (!decision.ok) {
    ctx.log.info({ returnId, status: current.status }, `PaymentPartiallyRefunded ignored: ${decision.message}`);
    return;
  }
  await saveReturn(ctx.db, current.status, decision.value);
}
