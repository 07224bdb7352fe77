import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../kernel/errors.js';
import { toMinorUnits } from '../../kernel/money.js';
import { originOf, type HttpContext } from '../context.js';
import { IdParams, withProblems } from '../schemas/common.js';
import {
  AdjustStockBody,
  AlertsQuery,
  AlertsResponse,
  CreateProductBody,
  InventoryResponse,
  ListProductsQuery,
  ProductPageResponse,
  ProductResponse,
} from '../schemas/products.js';
import { productResponse } from '../views.js';

type ById = { Params: Static<typeof IdParams> };

const notFound = (productId: string) => new AppError('not_found', 'PRODUCT_NOT_FOUND', `no product ${productId}`);

/** The catalog and its stock: products, inventory levels, restocks and low-stock alerts. */
export function productRoutes({ apis }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Body: CreateProductBody }>(
      '/products',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['products'],
          summary: 'Add a product to the catalog with its initial stock',
          body: CreateProductBody,
          response: withProblems({ 201: ProductResponse }, 400, 401, 403, 409, 422),
        },
      },
      async (request, reply) => {
        const { price, currency = 'USD', ...rest } = request.body;
        const product = await apis.inventory.createProduct({ ...rest, currency, price: toMinorUnits(price, currency) }, originOf(request));
        return reply.code(201).header('location', `/products/${encodeURIComponent(product.productId)}`).send(productResponse(product));
      },
    );

    app.get<{ Querystring: ListProductsQuery }>(
      '/products',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['products'], summary: 'The catalog, in productId order', querystring: ListProductsQuery, response: withProblems({ 200: ProductPageResponse }, 400, 401, 422) },
      },
      async (request) => {
        const page = await apis.inventory.listProducts({ limit: request.query.limit, cursor: request.query.cursor ?? null });
        return { products: page.products.map(productResponse), nextCursor: page.nextCursor };
      },
    );

    app.get<ById>(
      '/products/:id',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['products'], summary: 'One product', params: IdParams, response: withProblems({ 200: ProductResponse }, 401, 404) },
      },
      async (request) => {
        const product = await apis.inventory.getProduct(request.params.id);
        if (!product) throw notFound(request.params.id);
        return productResponse(product);
      },
    );

    app.get<ById>(
      '/products/:id/inventory',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['products'], summary: 'A product\u2019s stock: onHand, reserved, available', params: IdParams, response: withProblems({ 200: InventoryResponse }, 401, 404) },
      },
      async (request) => {
        const level = await apis.inventory.getInventory(request.params.id);
        if (!level) throw notFound(request.params.id);
        return level;
      },
    );

    app.post<ById & { Body: AdjustStockBody }>(
      '/products/:id/stock',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['products'],
          summary: 'Restock (delta > 0) or correct (delta < 0) the units on hand; emits StockAdjusted',
          params: IdParams,
          body: AdjustStockBody,
          response: withProblems({ 200: InventoryResponse }, 400, 401, 403, 404, 409, 422),
        },
      },
      async (request) => apis.inventory.adjustStock(request.params.id, request.body, originOf(request, request.body.reason)),
    );

    app.get<{ Querystring: AlertsQuery }>(
      '/inventory/alerts',
      {
        config: { access: 'admin' },
        schema: { tags: ['products'], summary: 'Open low-stock alerts (resolved=true: the closed ones)', querystring: AlertsQuery, response: withProblems({ 200: AlertsResponse }, 401, 403) },
      },
      async (request) => ({ alerts: await apis.inventory.listAlerts({ resolved: request.query.resolved ?? false }) }),
    );
  };
}
