import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { fromMinorUnits } from '../../kernel/money.js';
import { StatsViewSchema, type StatsView } from '../../modules/stats/index.js';
import type { HttpContext } from '../context.js';
import { Decimal, withProblems } from '../schemas/common.js';

/** GET /api/stats: the statistics with revenue as decimals of each currency (SPEC §2: the API shows decimals). */
export const StatsResponse = Type.Object(
  {
    ...StatsViewSchema.properties,
    revenue: Type.Record(
      Type.String(),
      Type.Object({
        paid: Decimal('sum of the totals of the orders that reached PAID'),
        refunded: Decimal('sum of the refunds of those orders'),
        net: Decimal('paid − refunded'),
      }),
      { description: 'revenue per ISO 4217 currency, decimals of the currency' },
    ),
  },
  { description: 'order statistics, a read model of the event log (rebuild it with `orderflow replay stats`)' },
);

/** Order statistics for operators: GET /api/stats, admin only. */
export function statsRoutes({ apis }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/api/stats',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['operations'],
          summary: 'Order statistics: orders by status, revenue per currency, items per order, orders per day',
          response: withProblems({ 200: StatsResponse }, 401, 403),
        },
      },
      async () => statsResponse(await apis.stats.getStats()),
    );
  };
}

/** The statistics with revenue converted from minor units to decimals. */
export function statsResponse(stats: StatsView) {
  const revenue = Object.fromEntries(
    Object.entries(stats.revenue).map(([currency, r]) => [
      currency,
      { paid: fromMinorUnits(r.paid, currency), refunded: fromMinorUnits(r.refunded, currency), net: fromMinorUnits(r.net, currency) },
    ]),
  );
  return { ...stats, revenue };
}
