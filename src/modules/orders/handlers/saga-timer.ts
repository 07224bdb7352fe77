/** Kind of the durable timer that enforces a saga's deadline. */
export const SAGA_TIMEOUT_TIMER = 'orders.saga-timeout';

/** The saga timer of an order (one per order; scheduling again would move it). */
export function sagaTimerKey(orderId: string): string {
  return `${SAGA_TIMEOUT_TIMER}:${orderId}`;
}
