import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../kernel/errors.js';
import { originOf, type HttpContext } from '../context.js';
import { IdParams, withProblems } from '../schemas/common.js';
import {
  DeadLetterActionResponse,
  DeadLetterDetailResponse,
  DeadLetterListResponse,
  DeadLettersQuery,
  EventPageResponse,
  EventParams,
  EventResponse,
  EventsQuery,
  ShipmentResponse,
} from '../schemas/operations.js';
import { shipmentResponse } from '../views.js';

type ById = { Params: Static<typeof IdParams> };

/** Shipment lifecycle for operators: look one up, dispatch it, deliver it. */
export function shipmentRoutes({ apis }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    const admin = { access: 'admin' as const };
    app.get<ById>(
      '/shipments/:id',
      { config: admin, schema: { tags: ['shipments'], summary: 'One shipment', params: IdParams, response: withProblems({ 200: ShipmentResponse }, 401, 403, 404) } },
      async (request) => {
        const shipment = await apis.shipments.getShipment(request.params.id);
        if (!shipment) throw new AppError('not_found', 'SHIPMENT_NOT_FOUND', `no shipment ${request.params.id}`);
        return shipmentResponse(shipment);
      },
    );
    for (const action of ['dispatch', 'deliver'] as const) {
      app.post<ById>(
        `/shipments/:id/${action}`,
        {
          config: admin,
          schema: {
            tags: ['shipments'],
            summary: action === 'dispatch' ? 'Hand the shipment to the carrier (ShipmentDispatched)' : 'Record the delivery (ShipmentDelivered → order DELIVERED)',
            params: IdParams,
            response: withProblems({ 200: ShipmentResponse }, 401, 403, 404, 409),
          },
        },
        async (request) => shipmentResponse(await apis.shipments[action](request.params.id, originOf(request))),
      );
    }
  };
}

/** The event store, read-only: query by type, aggregate or flow, and fetch one event. */
export function eventRoutes({ engine }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: EventsQuery }>(
      '/api/events',
      {
        config: { access: 'admin' },
        schema: { tags: ['operations'], summary: 'Events in log order, filtered; page with nextCursor', querystring: EventsQuery, response: withProblems({ 200: EventPageResponse }, 400, 401, 403) },
      },
      async (request) => engine.log.query(request.query),
    );
    app.get<{ Params: Static<typeof EventParams> }>(
      '/api/events/:eventId',
      { config: { access: 'admin' }, schema: { tags: ['operations'], summary: 'One event', params: EventParams, response: withProblems({ 200: EventResponse }, 401, 403, 404) } },
      async (request) => {
        const event = await engine.log.get(request.params.eventId);
        if (!event) throw new AppError('not_found', 'EVENT_NOT_FOUND', `no event ${request.params.eventId}`);
        return event;
      },
    );
  };
}

/** Dead letters: inspect, re-drive, discard. */
export function deadLetterRoutes({ engine }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    const admin = { access: 'admin' as const };
    app.get<{ Querystring: DeadLettersQuery }>(
      '/api/dead-letters',
      {
        config: admin,
        schema: {
          tags: ['operations'],
          summary: 'Failed deliveries (default: retrying and dead)',
          querystring: DeadLettersQuery,
          response: withProblems({ 200: DeadLetterListResponse }, 400, 401, 403),
        },
      },
      async (request) => ({ deadLetters: await engine.deadLetters.list(request.query) }),
    );
    app.get<ById>(
      '/api/dead-letters/:id',
      {
        config: admin,
        schema: { tags: ['operations'], summary: 'One dead letter with its event and the events parked behind it', params: IdParams, response: withProblems({ 200: DeadLetterDetailResponse }, 401, 403, 404) },
      },
      async (request) => {
        const detail = await engine.deadLetters.get(request.params.id);
        return { ...detail, event: detail.event ?? null };
      },
    );
    app.post<ById>(
      '/api/dead-letters/:id/retry',
      {
        config: admin,
        schema: { tags: ['operations'], summary: 'Deliver it again (a fresh round of attempts); parked events follow', params: IdParams, response: withProblems({ 202: DeadLetterActionResponse }, 401, 403, 404, 409) },
      },
      async (request, reply) => {
        await engine.deadLetters.retry(request.params.id);
        return reply.code(202).send({ id: request.params.id, action: 'retry', status: 'retrying' });
      },
    );
    app.post<ById>(
      '/api/dead-letters/:id/discard',
      {
        config: admin,
        schema: { tags: ['operations'], summary: 'Give up on it; the events parked behind it are delivered', params: IdParams, response: withProblems({ 200: DeadLetterActionResponse }, 401, 403, 404, 409) },
      },
      async (request) => {
        await engine.deadLetters.discard(request.params.id);
        return { id: request.params.id, action: 'discard', status: 'discarded' };
      },
    );
  };
}
