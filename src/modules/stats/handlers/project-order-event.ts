import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import type { Kysely } from 'kysely';
import { foldOrderStats, orderIdOf, type ProjectedEvent } from '../domain/order-stats.js';
import { addToCounters, loadOrders, saveOrders } from '../storage/stats-repository.js';
import type { StatsTables } from '../storage/tables.js';

/** Applies events, in log order, to the stats tables: reads the orders they touch, folds, writes back. */
export async function applyToStats(db: Kysely<StatsTables>, events: readonly ProjectedEvent[]): Promise<void> {
  const orderIds = events.map(orderIdOf).filter((id): id is string => id !== undefined);
  if (orderIds.length === 0) return;
  const { changed, deltas } = foldOrderStats(await loadOrders(db, orderIds), events);
  await saveOrders(db, changed.values());
  await addToCounters(db, deltas);
}

/** Handler of the `stats` consumer for every projected event type. */
export async function projectOrderEvent(event: EventEnvelope, ctx: HandlerContext<StatsTables>): Promise<void> {
  await applyToStats(ctx.db, [event]);
}
