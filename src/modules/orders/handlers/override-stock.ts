import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError, appError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import { StockOverrideInputSchema, type OrderView, type StockOverrideInput } from '../api.js';
import { decideStockOverride } from '../domain/stock-override.js';
import { saveOrderFlow } from '../storage/order-store.js';
import { findStockReview, recordOverride } from '../storage/stock-review-store.js';
import { toOrderView } from '../views.js';
import { moveSagaTimer } from './apply-flow.js';
import { emitOrderEvents } from './order-events.js';
import { lockedOrderFlow, runOrderCommand } from './order-command.js';
import { inputCheck } from './input-check.js';

const checkInput = inputCheck(StockOverrideInputSchema, 'INVALID_OVERRIDE', 'input');

/**
 * An admin approves an order held for a stock review (OrderStockOverrideApplied), under the
 * order's lock: its shortfalls become backorders (inventory queues them by placement) and its
 * saga waits for stock, bounded by `backorderTimeoutMs`. Of an override and the end of the review
 * window, whichever takes the lock first wins; the other is refused or does nothing.
 */
export async function overrideStock(runtime: ModuleRuntime, backorderTimeoutMs: number, orderId: string, input: StockOverrideInput, origin?: CommandOrigin): Promise<OrderView> {
  checkInput(input);
  if (input.expectedRestockAt !== undefined && Number.isNaN(Date.parse(input.expectedRestockAt))) {
    throw appError('INVALID_OVERRIDE', `expectedRestockAt must be an ISO-8601 date, not ${input.expectedRestockAt.slice(0, 50)}`);
  }
  const approvedBy = origin?.actor?.sub ?? 'system';
  return runOrderCommand(runtime, origin, async (tx) => {
    const before = await lockedOrderFlow(tx, orderId);
    const review = await findStockReview(tx.db, orderId);
    const request = { reason: input.reason, approvedBy, ...(input.expectedRestockAt === undefined ? {} : { expectedRestockAt: input.expectedRestockAt }) };
    const decision = decideStockOverride(before, review, request, tx.now, tx.now + backorderTimeoutMs);
    if (!decision.ok) throw new AppError('conflict', decision.code, decision.message, { details: { status: before.order.status } });
    await saveOrderFlow(tx.db, before, decision.outcome);
    await recordOverride(tx.db, orderId, decision.override, tx.now);
    await moveSagaTimer(tx, before, decision.outcome);
    emitOrderEvents(tx, before.order, decision.outcome.events);
    return toOrderView(before.order);
  });
}
