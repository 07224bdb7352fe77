/**
 * The stats module: order statistics (orders placed, count per current status, revenue per
 * currency, items per order, orders per day) as a read model projected from the event log,
 * and its replay.
 */

/** The module factory and its type. */
export { createStatsModule, type StatsModule } from './module.js';
/** The queries and replay `connect(runtime)` returns, and what they answer with. */
export type { CurrencyRevenue, ReplayResult, StatsApi, StatsView } from './api.js';
/** Schemas of the statistics view, for the HTTP layer's response schema. */
export { CurrencyRevenueSchema, StatsViewSchema } from './api.js';
