import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ModuleApis } from '../../composition.js';
import { AppError } from '../../kernel/errors.js';
import { orderVersion, type OrderView, type ReturnView } from '../../modules/orders/index.js';
import { canSee } from '../auth.js';
import { callerOf, noteOrder, originOf, type HttpContext } from '../context.js';
import { IdParams, withProblems } from '../schemas/common.js';
import {
  AuditResponse,
  CancelOrderBody,
  EditOrderBody,
  EditOrderHeaders,
  ReceiveReturnBody,
  RejectReturnBody,
  RequestReturnBody,
  ReturnListResponse,
  ReturnResponse,
  ListOrdersQuery,
  OrderPageResponse,
  OrderResponse,
  PlaceOrderBody,
  PlaceOrderHeaders,
  SagaParams,
  SagaResponse,
  TimelineResponse,
} from '../schemas/orders.js';
import { orderAudit } from '../audit.js';
import { orderTimeline } from '../timeline.js';
import { orderResponse, returnResponse } from '../views.js';
import { customerOf, inDecimals, placeOrderInput } from './order-input.js';

type ById = { Params: Static<typeof IdParams> };

/** The return, when the caller may see its order; another customer's is "not found", like a missing one. */
async function visibleReturn(apis: ModuleApis, request: FastifyRequest, returnId: string): Promise<ReturnView> {
  const found = await apis.orders.getReturn(returnId);
  const order = found ? await apis.orders.getOrder(found.orderId) : undefined;
  if (!found || !order || !canSee(callerOf(request), order.customerId)) throw new AppError('not_found', 'RETURN_NOT_FOUND', `no return ${returnId}`);
  noteOrder(request, order);
  return found;
}

/** The order, when the caller may see it; another customer's order is "not found", like a missing one. */
async function visibleOrder(apis: ModuleApis, request: FastifyRequest, orderId: string): Promise<OrderView> {
  const order = await apis.orders.getOrder(orderId);
  if (!order || !canSee(callerOf(request), order.customerId)) throw new AppError('not_found', 'ORDER_NOT_FOUND', `no order ${orderId}`);
  noteOrder(request, order);
  return order;
}

/** The order's ETag: its version, quoted. */
function etagOf(order: OrderView): string {
  return `"${orderVersion(order)}"`;
}

/** The version an If-Match names (one strong or weak entity tag); 428 without one. */
function versionIn(ifMatch: string | undefined): string {
  const tag = /^\s*(?:W\/)?"([^"]+)"\s*$/.exec(ifMatch ?? '')?.[1];
  if (!tag) {
    throw new AppError('validation', 'ORDER_VERSION_REQUIRED', ifMatch ? `If-Match must be one ETag of the order, as GET /orders/:id sends it, not ${ifMatch.slice(0, 100)}` : 'an edit needs If-Match: the ETag of the order it is based on');
  }
  return tag;
}

/** Orders: placement (idempotent, rate-limited), reading, listing, cancelling, the timeline, the audit trail and the saga. */
export function orderRoutes(context: HttpContext): FastifyPluginAsync {
  const { apis, engine, idempotency, orderRateLimiter } = context;
  return async (app) => {
    app.post<{ Body: PlaceOrderBody; Headers: Static<typeof PlaceOrderHeaders> }>(
      '/orders',
      {
        config: { access: 'authenticated' },
        // After authentication (a root hook), before the body is even parsed.
        onRequest: async (request) => orderRateLimiter.take(callerOf(request).sub),
        schema: {
          tags: ['orders'],
          summary: 'Place an order (starts its saga); replays the first response for a repeated Idempotency-Key',
          headers: PlaceOrderHeaders,
          body: PlaceOrderBody,
          response: withProblems({ 201: OrderResponse }, 400, 401, 403, 409, 413, 422, 429),
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const customerId = customerOf(request.body, caller);
        const place = async () => {
          try {
            const order = await apis.orders.placeOrder(await placeOrderInput(request.body, customerId, apis), originOf(request));
            return { status: 201, body: orderResponse(order) };
          } catch (error) {
            throw inDecimals(error);
          }
        };
        const key = request.headers['idempotency-key'];
        const result = key === undefined ? { ...(await place()), replayed: false } : await idempotency.run(caller.sub, key, request.body, place);
        const body = result.body as OrderResponse;
        noteOrder(request, body);
        if (result.replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(result.status).header('location', `/orders/${body.orderId}`).send(body);
      },
    );

    app.get<ById>(
      '/orders/:id',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['orders'], summary: 'An order with its payment and shipment; its ETag is what an edit names in If-Match', params: IdParams, response: withProblems({ 200: OrderResponse }, 401, 404) },
      },
      async (request, reply) => {
        const order = await visibleOrder(apis, request, request.params.id);
        const [payment, shipment, refunded, backorders, stockReview] = await Promise.all([
          apis.payments.getPaymentForOrder(order.orderId),
          apis.shipments.getShipmentForOrder(order.orderId),
          apis.payments.refundedAmountForOrder(order.orderId),
          apis.inventory.backordersOf(order.orderId),
          apis.orders.stockReviewOf(order.orderId),
        ]);
        return reply.header('etag', etagOf(order)).send(orderResponse(order, { payment, shipment, refunded, backorders, stockReview }));
      },
    );

    app.patch<ById & { Body: EditOrderBody; Headers: Static<typeof EditOrderHeaders> }>(
      '/orders/:id',
      {
        config: { access: 'authenticated' },
        schema: {
          tags: ['orders'],
          summary:
            'Edit an order: a new shipping address until the shipment is dispatched (OrderUpdated, 200), new lines once it is paid and until then (an item edit: 202, see pendingEdit and lastEdit); If-Match with the order\u2019s ETag is required',
          params: IdParams,
          headers: EditOrderHeaders,
          body: EditOrderBody,
          response: withProblems({ 200: OrderResponse, 202: OrderResponse }, 400, 401, 404, 409, 422, 428),
        },
      },
      async (request, reply) => {
        const order = await visibleOrder(apis, request, request.params.id);
        const expectedVersion = versionIn(request.headers['if-match']);
        const { shippingAddress, items, paymentMethod, reason } = request.body;
        if (!shippingAddress && !items) throw new AppError('validation', 'INVALID_EDIT', 'nothing to change: send shippingAddress, items or both');
        const edited = await apis.orders.editOrder(
          order.orderId,
          {
            expectedVersion,
            ...(shippingAddress === undefined ? {} : { shippingAddress }),
            ...(items === undefined ? {} : { items }),
            ...(paymentMethod === undefined ? {} : { paymentToken: paymentMethod.token }),
            ...(reason === undefined ? {} : { reason }),
          },
          originOf(request, reason),
        );
        // An item edit goes on after the answer: 202 while it is under way.
        return reply.code(edited.pendingEdit ? 202 : 200).header('etag', etagOf(edited)).send(orderResponse(edited));
      },
    );

    app.get<{ Querystring: ListOrdersQuery }>(
      '/orders',
      {
        config: { access: 'authenticated' },
        schema: {
          tags: ['orders'],
          summary: 'Orders, newest first (a customer sees only its own)',
          querystring: ListOrdersQuery,
          response: withProblems({ 200: OrderPageResponse }, 400, 401, 422),
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const customerId = caller.role === 'customer' ? caller.sub : request.query.customerId;
        const page = await apis.orders.listOrders({ ...request.query, customerId });
        return { orders: page.orders.map((o) => orderResponse(o)), nextCursor: page.nextCursor };
      },
    );

    app.post<ById & { Body: CancelOrderBody }>(
      '/orders/:id/cancel',
      {
        config: { access: 'authenticated' },
        schema: {
          tags: ['orders'],
          summary: 'Cancel an order (PENDING, CONFIRMED or PAID): stock is released and a payment refunded, asynchronously',
          params: IdParams,
          body: CancelOrderBody,
          response: withProblems({ 202: OrderResponse }, 400, 401, 404, 409),
        },
      },
      async (request, reply) => {
        const order = await visibleOrder(apis, request, request.params.id);
        const by = callerOf(request).role === 'admin' ? 'admin' : 'customer';
        const { reason } = request.body;
        const cancelled = await apis.orders.cancelOrder(order.orderId, { by, ...(reason === undefined ? {} : { reason }) }, originOf(request, reason));
        return reply.code(202).send(orderResponse(cancelled));
      },
    );

    app.get<ById>(
      '/orders/:id/timeline',
      {
        config: { access: 'authenticated' },
        schema: {
          tags: ['orders'],
          summary: 'Every event of the order\u2019s flow, in order, with each consumer\u2019s handling of it',
          params: IdParams,
          response: withProblems({ 200: TimelineResponse }, 401, 404),
        },
      },
      async (request) => orderTimeline(engine, await visibleOrder(apis, request, request.params.id), context.traceUrl),
    );

    app.get<ById>(
      '/orders/:id/audit',
      {
        config: { access: 'authenticated' },
        schema: {
          tags: ['orders'],
          summary: 'Who did what to the order and when: each event of its flow with its actor (caller, address, user agent; or the system) and reason',
          params: IdParams,
          response: withProblems({ 200: AuditResponse }, 401, 404),
        },
      },
      async (request) => orderAudit(engine, await visibleOrder(apis, request, request.params.id)),
    );

    app.post<ById & { Body: RequestReturnBody }>(
      '/orders/:id/returns',
      {
        config: { access: 'authenticated' },
        schema: {
          tags: ['returns'],
          summary: 'Ask to return delivered units within the return window (RETURN_WINDOW_DAYS); an admin approves or rejects it',
          params: IdParams,
          body: RequestReturnBody,
          response: withProblems({ 201: ReturnResponse }, 400, 401, 404, 409, 422),
        },
      },
      async (request, reply) => {
        const order = await visibleOrder(apis, request, request.params.id);
        const { lines, reason } = request.body;
        const created = await apis.orders.requestReturn(order.orderId, { lines, ...(reason === undefined ? {} : { reason }) }, originOf(request, reason));
        return reply.code(201).header('location', `/returns/${created.returnId}`).send(returnResponse(created));
      },
    );

    app.get<ById>(
      '/orders/:id/returns',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['returns'], summary: 'The order\u2019s returns, oldest first', params: IdParams, response: withProblems({ 200: ReturnListResponse }, 401, 404) },
      },
      async (request) => {
        const order = await visibleOrder(apis, request, request.params.id);
        return { returns: (await apis.orders.listReturns(order.orderId)).map(returnResponse) };
      },
    );

    app.get<ById>(
      '/returns/:id',
      {
        config: { access: 'authenticated' },
        schema: { tags: ['returns'], summary: 'A return: its lines, status, amount and refund', params: IdParams, response: withProblems({ 200: ReturnResponse }, 401, 404) },
      },
      async (request) => returnResponse(await visibleReturn(apis, request, request.params.id)),
    );

    for (const step of ['approve', 'reject', 'receive'] as const) {
      app.post<ById & { Body: RejectReturnBody & ReceiveReturnBody }>(
        `/returns/:id/${step}`,
        {
          config: { access: 'admin' },
          schema: {
            tags: ['returns'],
            summary:
              step === 'approve'
                ? 'Approve a requested return (ReturnApproved)'
                : step === 'reject'
                  ? 'Reject a requested return, with a reason (ReturnRejected)'
                  : 'Record the goods of an approved return as received (ReturnReceived): restocked unless restock is false, then refunded',
            params: IdParams,
            ...(step === 'approve' ? {} : { body: step === 'reject' ? RejectReturnBody : ReceiveReturnBody }),
            response: withProblems({ 200: ReturnResponse }, 400, 401, 403, 404, 409),
          },
        },
        async (request) => {
          const returnId = request.params.id;
          const body = request.body ?? {};
          const origin = originOf(request, step === 'reject' ? body.reason : undefined);
          const moved =
            step === 'approve'
              ? await apis.orders.approveReturn(returnId, origin)
              : step === 'reject'
                ? await apis.orders.rejectReturn(returnId, body.reason === undefined ? {} : { reason: body.reason }, origin)
                : await apis.orders.receiveReturn(returnId, { restock: body.restock ?? true }, origin);
          return returnResponse(moved);
        },
      );
    }

    app.get<{ Params: Static<typeof SagaParams> }>(
      '/sagas/:sagaId',
      {
        config: { access: 'admin' },
        schema: { tags: ['orders'], summary: 'An order\u2019s saga: state, steps, compensations, deadline', params: SagaParams, response: withProblems({ 200: SagaResponse }, 401, 403, 404) },
      },
      async (request) => {
        const saga = await apis.orders.getSaga(request.params.sagaId);
        if (!saga) throw new AppError('not_found', 'SAGA_NOT_FOUND', `no saga ${request.params.sagaId}`);
        return saga;
      },
    );
  };
}
