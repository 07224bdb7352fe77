import type { Metric } from '../domain/order-stats.js';

/** One order as the projection knows it (amounts in minor units of `currency`). */
export interface StatsOrderRow {
  order_id: string;
  status: string;
  currency: string;
  total_amount: number;
  paid_amount: number;
  refunded_amount: number;
}

/** A counter: `value` of `metric` for `dimension` ('' when the metric has none). */
export interface StatsCounterRow {
  metric: Metric;
  dimension: string;
  value: number;
}

/** The tables the stats module owns. */
export interface StatsTables {
  stats_orders: StatsOrderRow;
  stats_counters: StatsCounterRow;
}
