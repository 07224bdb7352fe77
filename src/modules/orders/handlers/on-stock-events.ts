import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { insertStockReview } from '../storage/stock-review-store.js';
import type { OrdersTables } from '../storage/tables.js';
import { handleOrderEvent, type SagaObserver } from './apply-flow.js';

/** How long a short order waits: for an admin's review, and for stock. */
export interface StockWaits {
  /** SHORT_ORDER_REVIEW_MS. */
  reviewMs: number;
  /** BACKORDER_TIMEOUT_MS. */
  backorderTimeoutMs: number;
}

/**
 * InventoryReservationShort → the order (still PENDING) records what it is short of, and its saga
 * waits for an admin's override until the review window closes (then the order is rejected).
 */
export async function onInventoryReservationShort(
  event: EventEnvelope<PayloadOf<'InventoryReservationShort'>>,
  ctx: HandlerContext<OrdersTables>,
  waits: StockWaits,
  observe?: SagaObserver,
): Promise<void> {
  const { orderId, shortages } = event.payload;
  await insertStockReview(ctx.db, orderId, shortages, ctx.now);
  const detail = shortages.map((s) => `${s.productId}: ${s.requested} requested, ${s.available} available`).join('; ');
  await handleOrderEvent(event, ctx, orderId, { type: 'RecordShortage', detail, reviewUntil: ctx.now + waits.reviewMs }, observe);
}

/**
 * OrderBackordered → the order (still PENDING) waits for stock: its saga records the step and its
 * deadline becomes the bound of the wait (BACKORDER_TIMEOUT_MS from the first backorder).
 */
export async function onOrderBackordered(event: EventEnvelope<PayloadOf<'OrderBackordered'>>, ctx: HandlerContext<OrdersTables>, waits: StockWaits, observe?: SagaObserver): Promise<void> {
  const { orderId, productId, quantity } = event.payload;
  await handleOrderEvent(event, ctx, orderId, { type: 'RecordBackorder', detail: `${productId} × ${quantity}`, waitUntil: ctx.now + waits.backorderTimeoutMs }, observe);
}

/** BackorderFulfilled → the saga records it; the order goes on when inventory reports every line reserved. */
export async function onBackorderFulfilled(event: EventEnvelope<PayloadOf<'BackorderFulfilled'>>, ctx: HandlerContext<OrdersTables>, observe?: SagaObserver): Promise<void> {
  const { orderId, productId, quantity } = event.payload;
  await handleOrderEvent(event, ctx, orderId, { type: 'RecordBackorderFulfilled', detail: `${productId} × ${quantity}` }, observe);
}
