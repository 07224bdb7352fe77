import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import type { TxContext } from '../../../platform/log/tx-context.js';
import type { OrderFlow } from '../domain/order-flow.js';
import { lockOrderFlow } from '../storage/order-store.js';
import type { OrdersTables } from '../storage/tables.js';

// PostgreSQL aborts one of two transactions that wait on each other (deadlock, 40P01) or
// conflict under serializable isolation (40001); running the command again is the fix.
const TRANSIENT_CODES = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/**
 * Runs a command of the orders module in one transaction of its own, again (up to 3 times in
 * all) when the database aborted it as a transient conflict.
 */
export async function runOrderCommand<T>(runtime: ModuleRuntime, origin: CommandOrigin | undefined, work: (tx: TxContext<OrdersTables>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runtime.unitOfWork.run<T, OrdersTables>('orders', work, origin);
    } catch (error) {
      if (attempt >= ATTEMPTS || !isTransient(error)) throw error;
    }
  }
}

/** The order and its saga, locked until the transaction ends: a command's steps and the order's own run one after another. */
export async function lockedOrderFlow(tx: TxContext<OrdersTables>, orderId: string): Promise<OrderFlow> {
  const flow = await lockOrderFlow(tx.db, orderId);
  if (!flow) throw new AppError('not_found', 'ORDER_NOT_FOUND', `no order ${orderId}`);
  return flow;
}
