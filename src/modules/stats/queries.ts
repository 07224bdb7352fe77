import type { Kysely } from 'kysely';
import { STATUSES } from './domain/order-stats.js';
import type { StatsView } from './api.js';
import { readCounters } from './storage/stats-repository.js';
import type { StatsTables } from './storage/tables.js';

/** The statistics from the counters, and the position of the consumer that maintains them. */
export async function getStats(db: Kysely<StatsTables>, consumer: string): Promise<StatsView> {
  const counters = await readCounters(db);
  const total = (metric: string) => counters.filter((c) => c.metric === metric).reduce((sum, c) => sum + c.value, 0);
  const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  const revenue: StatsView['revenue'] = {};
  const perDay: StatsView['placedPerDay'] = [];
  for (const c of counters) {
    if (c.metric === 'status') byStatus[c.dimension] = c.value;
    else if (c.metric === 'paid' || c.metric === 'refunded') {
      const entry = (revenue[c.dimension] ??= { paid: 0, refunded: 0, net: 0 });
      entry[c.metric] = c.value;
      entry.net = entry.paid - entry.refunded;
    } else if (c.metric === 'placed_day' && c.value !== 0) perDay.push({ day: c.dimension, orders: c.value });
  }
  const placed = total('placed');
  const average = (metric: string) => (placed === 0 ? 0 : Math.round((total(metric) / placed) * 100) / 100);
  return {
    ordersPlaced: placed,
    byStatus,
    revenue: Object.fromEntries(Object.entries(revenue).sort(([a], [b]) => (a < b ? -1 : 1))),
    averageItemsPerOrder: average('units'),
    averageLinesPerOrder: average('lines'),
    placedPerDay: perDay.sort((a, b) => (a.day < b.day ? -1 : 1)),
    asOfSequence: await checkpointOf(db, consumer),
  };
}

async function checkpointOf(db: Kysely<StatsTables>, consumer: string): Promise<number> {
  // The consumer's own delivery checkpoint: how far into the log the counters are.
  const checkpoints = db as unknown as Kysely<{ consumer_checkpoints: { consumer: string; position: number } }>;
  const row = await checkpoints.selectFrom('consumer_checkpoints').select((eb) => eb.fn.min('position').as('position')).where('consumer', '=', consumer).executeTakeFirst();
  return Number(row?.position ?? 0);
}
