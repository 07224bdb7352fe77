import type { CommandOrigin } from '../../../kernel/envelope.js';
import type { ModuleRuntime } from '../../../platform/engine.js';
import { PlaceOrderInputSchema, type CatalogPort, type OrderView, type PlaceOrderInput, type PricedPlacement } from '../api.js';
import { createOrder, formatOrderNumber, orderPlacedPayload, priceOrder, type PricedOrder } from '../domain/placement.js';
import { startSaga } from '../domain/saga.js';
import { insertOrderFlow, nextOrderNumber, nextOrderNumberFromSequence } from '../storage/order-store.js';
import type { OrdersTables } from '../storage/tables.js';
import { toOrderView } from '../views.js';
import { inputCheck, refuseDuplicateProducts } from './input-check.js';
import { emitOrderEvents } from './order-events.js';
import { SAGA_TIMEOUT_TIMER, sagaTimerKey } from './saga-timer.js';

const checkInput = inputCheck(PlaceOrderInputSchema, 'INVALID_ORDER', 'order');

export interface PlaceOrderDeps {
  runtime: ModuleRuntime;
  catalog: CatalogPort;
  sagaTimeoutMs: number;
}

/**
 * Validates the request, prices it from the catalog (refusing client prices, totals or a
 * currency that disagree), then in one transaction: the order (PENDING) and its lines, its
 * number, its saga, the saga's deadline timer and OrderPlaced under a new correlationId.
 * Nothing is written when anything is refused.
 */
export async function placeOrder(deps: PlaceOrderDeps, input: PlaceOrderInput, origin?: CommandOrigin): Promise<OrderView> {
  return commitPlacement(deps, await pricePlacement(deps, input), origin);
}

/** The part of a placement that only reads: the request checked and priced from the catalog. */
export async function pricePlacement(deps: Pick<PlaceOrderDeps, 'catalog'>, input: PlaceOrderInput): Promise<PricedPlacement> {
  const request = validatePlaceOrder(input);
  const quote = await deps.catalog.quote(request.items.map(({ productId, quantity }) => ({ productId, quantity })));
  return { request, priced: priceOrder(request.items, request, quote) };
}

/**
 * The part of a placement that writes. On SQLite it hands its work to the unit of work's group
 * before it returns (nothing awaited first), so a writer that collects waiting placements into
 * its open transaction finds it there at once (the embedded delivery thread's rounds).
 */
export function commitPlacement(deps: PlaceOrderDeps, placement: PricedPlacement, origin?: CommandOrigin): Promise<OrderView> {
  const { runtime } = deps;
  // PostgreSQL runs placements side by side: their numbers come from a sequence, drawn before
  // the transaction. SQLite commits one writer at a time: the counter row, gapless.
  if (runtime.dialect !== 'postgres') return insertPlacement(deps, placement, undefined, origin);
  const drawnYear = new Date(runtime.clock.now()).getUTCFullYear();
  return nextOrderNumberFromSequence(runtime.db, drawnYear).then((number) => insertPlacement(deps, placement, { year: drawnYear, number }, origin));
}

function insertPlacement(deps: PlaceOrderDeps, { request, priced }: PricedPlacement, drawn: { year: number; number: number } | undefined, origin: CommandOrigin | undefined): Promise<OrderView> {
  return deps.runtime.unitOfWork.runGrouped<OrderView, OrdersTables>('orders', async (tx) => {
    const year = drawn?.year ?? new Date(tx.now).getUTCFullYear();
    const orderNumber = formatOrderNumber(year, drawn?.number ?? (await nextOrderNumber(tx.db, year)));
    const { order, saga } = newOrderFlow(deps, request, priced, orderNumber, tx.now);
    await insertOrderFlow(tx.db, { order, saga });
    const [placed] = emitOrderEvents(tx, order, [{ type: 'OrderPlaced', payload: orderPlacedPayload(order) }]);
    // The deadline's cancellation, if it comes, is caused by this placement.
    await tx.schedule({ key: sagaTimerKey(order.orderId), kind: SAGA_TIMEOUT_TIMER, dueAt: saga.deadline, payload: { orderId: order.orderId, causationId: placed!.eventId } });
    return toOrderView(order);
  }, origin);
}

function newOrderFlow(deps: PlaceOrderDeps, request: PlaceOrderInput, priced: PricedOrder, orderNumber: string, at: number) {
  const { ids } = deps.runtime;
  const orderId = ids.next();
  const sagaId = ids.next();
  const fields = {
    orderId,
    orderNumber,
    sagaId,
    // The flow's id: every event caused by this order carries it.
    correlationId: ids.next(),
    customerId: request.customerId,
    shippingAddress: request.shippingAddress,
    billingAddress: request.billingAddress ?? null,
    sourceChannel: request.sourceChannel ?? null,
    paymentToken: request.paymentMethod?.token ?? null,
  };
  return { order: createOrder(fields, priced, at), saga: startSaga({ sagaId, orderId }, at, deps.sagaTimeoutMs) };
}

/** Checks the shape and limits of a request; each product may appear on one line only. */
export function validatePlaceOrder(input: unknown): PlaceOrderInput {
  const request = checkInput(input);
  refuseDuplicateProducts(request.items);
  return request;
}
