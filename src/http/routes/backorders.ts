import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { originOf, type HttpContext } from '../context.js';
import { StockOverrideBody, UpdateProductBody } from '../schemas/backorders.js';
import { IdParams, withProblems } from '../schemas/common.js';
import { OrderResponse } from '../schemas/orders.js';
import { ProductResponse } from '../schemas/products.js';
import { orderResponse, productResponse } from '../views.js';

type ById = { Params: Static<typeof IdParams> };

/** Backorders: a product's flag, and an admin's override of an order short of stock. */
export function backorderRoutes({ apis }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.post<ById & { Body: StockOverrideBody }>(
      '/orders/:id/override',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['orders'],
          summary: 'Approve an order held for a stock review (OrderStockOverrideApplied): its shortfalls wait for a restock as backorders',
          params: IdParams,
          body: StockOverrideBody,
          response: withProblems({ 200: OrderResponse }, 400, 401, 403, 404, 409, 422),
        },
      },
      async (request) => {
        const { reason, expectedRestockAt } = request.body;
        const order = await apis.orders.overrideStock(request.params.id, { reason, ...(expectedRestockAt === undefined ? {} : { expectedRestockAt }) }, originOf(request, reason));
        return orderResponse(order);
      },
    );

    app.patch<ById & { Body: UpdateProductBody }>(
      '/products/:id',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['products'],
          summary: 'Turn a product\u2019s backorders on or off (backorders already waiting stay queued)',
          params: IdParams,
          body: UpdateProductBody,
          response: withProblems({ 200: ProductResponse }, 400, 401, 403, 404, 422),
        },
      },
      async (request) => productResponse(await apis.inventory.setAllowBackorders(request.params.id, request.body.allowBackorders, originOf(request))),
    );
  };
}
