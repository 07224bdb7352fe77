import type { CommandOrigin } from '../../../kernel/envelope.js';
import { AppError } from '../../../kernel/errors.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import { EditOrderInputSchema, type CatalogPort, type EditOrderInput, type OrderView } from '../api.js';
import type { Order, OrderEvent, OrderLine } from '../domain/order.js';
import { decideEdit, requestItemEdit } from '../domain/order-edit.js';
import { saveOrderFlow } from '../storage/order-store.js';
import { orderVersion, toOrderView } from '../views.js';
import { inputCheck, refuseDuplicateProducts } from './input-check.js';
import { emitOrderEvents } from './order-events.js';
import { lockedOrderFlow, runOrderCommand } from './order-command.js';

const checkInput = inputCheck(EditOrderInputSchema, 'INVALID_EDIT', 'input');

export interface EditOrderDeps {
  runtime: ModuleRuntime;
  /** Prices products added by an item edit. */
  catalog: CatalogPort;
}

/**
 * Edits an order in one transaction, under its lock: refused when it is no longer at the
 * version the editor read (two concurrent edits: the second is refused), or when its status or
 * dispatch forbids the change. A new address and its OrderUpdated commit together; new lines
 * start an item edit (OrderEditRequested) that inventory and payments carry on, each in a
 * transaction of its own, until it applies or is rejected. The order's saga is not involved.
 */
export async function editOrder(deps: EditOrderDeps, orderId: string, input: EditOrderInput, origin?: CommandOrigin): Promise<OrderView> {
  checkInput(input);
  if (!input.shippingAddress && !input.items) throw new AppError('validation', 'INVALID_EDIT', 'nothing to change: send shippingAddress, items or both');
  if (input.items) refuseDuplicateProducts(input.items);
  const { runtime } = deps;
  const editId = runtime.ids.next();
  // Today's catalog prices, asked before the transaction (products the order has keep theirs).
  const catalogPrices = input.items ? await deps.catalog.quote(input.items.map(({ productId, quantity }) => ({ productId, quantity }))) : undefined;
  return runOrderCommand(runtime, origin, async (tx) => {
    const before = await lockedOrderFlow(tx, orderId);
    const version = orderVersion(toOrderView(before.order));
    if (version !== input.expectedVersion) {
      throw new AppError('conflict', 'ORDER_CHANGED', `order ${orderId} changed since version ${input.expectedVersion}: read it again`, {
        details: { expectedVersion: input.expectedVersion, currentVersion: version, status: before.order.status },
      });
    }
    let order: Order = before.order;
    const events: OrderEvent[] = [];
    if (input.shippingAddress) {
      const decision = decideEdit(order, { shippingAddress: input.shippingAddress, reason: input.reason }, tx.now);
      if (!decision.ok) throw new AppError('conflict', 'ORDER_NOT_EDITABLE', decision.message, { details: { status: order.status } });
      order = decision.order;
      events.push(...decision.events);
    }
    if (input.items && catalogPrices) {
      const items = priceLines(catalogPrices, order, input.items);
      const decision = requestItemEdit(order, { editId, items, reason: input.reason, paymentToken: input.paymentToken }, tx.now);
      if (!decision.ok) throw new AppError('conflict', decision.code, decision.message, { details: { status: order.status } });
      order = decision.order;
      events.push(...decision.events);
    }
    if (order !== before.order) await saveOrderFlow(tx.db, before, { order, saga: before.saga });
    emitOrderEvents(tx, order, events);
    return toOrderView(order);
  });
}

/** The edit's lines, priced: a product already on the order keeps its price and name; a new one takes the catalog's. */
function priceLines(catalogPrices: Awaited<ReturnType<CatalogPort['quote']>>, order: Order, wanted: readonly { productId: string; quantity: number }[]): OrderLine[] {
  const onOrder = new Map(order.items.map((l) => [l.productId, l]));
  if (wanted.some((l) => !onOrder.has(l.productId)) && catalogPrices.currency !== order.currency) {
    throw new AppError('validation', 'MIXED_CURRENCY', `order ${order.orderId} is in ${order.currency}; the products added are priced in ${catalogPrices.currency}`);
  }
  const quoted = new Map(catalogPrices.lines.map((l) => [l.productId, l]));
  return wanted.map(({ productId, quantity }) => {
    const known = onOrder.get(productId) ?? quoted.get(productId);
    if (!known) throw new AppError('validation', 'UNKNOWN_PRODUCT', `no product ${productId}`);
    return { productId, name: known.name, quantity, unitPrice: known.unitPrice };
  });
}
