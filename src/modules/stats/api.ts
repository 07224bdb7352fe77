import { Type, type Static } from '@sinclair/typebox';

const Count = Type.Integer({ minimum: 0 });
const Minor = Type.Integer({ description: 'integer minor units of the currency (cents for USD)' });

/** Revenue of one currency, in minor units. */
export const CurrencyRevenueSchema = Type.Object({
  /** Sum of the totals of the orders that reached PAID. */
  paid: Minor,
  /** Sum of the refunds of those orders. */
  refunded: Minor,
  /** paid − refunded. */
  net: Minor,
});

export type CurrencyRevenue = Static<typeof CurrencyRevenueSchema>;

/** The order statistics: what `getStats` answers and GET /api/stats shows. */
export const StatsViewSchema = Type.Object(
  {
    /** Orders placed since the beginning of the log. */
    ordersPlaced: Count,
    /** How many orders are in each status now (every status is present, 0 when none). */
    byStatus: Type.Record(Type.String(), Count, { description: 'order count per current status' }),
    /** Revenue per ISO 4217 currency code. */
    revenue: Type.Record(Type.String(), CurrencyRevenueSchema, { description: 'revenue per currency, minor units' }),
    /** Units ordered (summed quantities) per order placed, two decimals; 0 when none. */
    averageItemsPerOrder: Type.Number({ minimum: 0 }),
    /** Order lines per order placed, two decimals; 0 when none. */
    averageLinesPerOrder: Type.Number({ minimum: 0 }),
    /** Orders placed per UTC day, oldest first. */
    placedPerDay: Type.Array(Type.Object({ day: Type.String({ description: 'YYYY-MM-DD (UTC)' }), orders: Count })),
    /** The log position the statistics include events up to (the `stats` consumer's checkpoint). */
    asOfSequence: Count,
  },
  { description: 'order statistics, a read model projected from the event log' },
);
export type StatsView = Static<typeof StatsViewSchema>;

/** What a replay did. */
export interface ReplayResult {
  /** Order and refund events applied. */
  eventsApplied: number;
  /** Events left out because they fail their schema (delivery dead-letters those). */
  eventsSkipped: { eventId: string; eventType: string; reason: string }[];
  /** The log position the rebuilt statistics are at. */
  position: number;
  /** The statistics after the rebuild. */
  stats: StatsView;
}

/** The stats module's queries and its replay. */
export interface StatsApi {
  /** The current statistics, JSON-ready. */
  getStats(): Promise<StatsView>;
  /**
   * Rebuilds the statistics from the whole event log in one transaction (the `stats`
   * consumer's checkpoint moves to the last event read), then returns them.
   */
  replay(): Promise<ReplayResult>;
}
