import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { HttpContext } from '../context.js';
import { IdParams, withProblems } from '../schemas/common.js';
import {
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveryDetailResponse,
  DeliveryListResponse,
  DeliveryParams,
  DeliveryResponse,
  EventTypesResponse,
  RedriveResponse,
  RotateSecretBody,
  UpdateWebhookBody,
  WebhookListResponse,
  WebhookResponse,
  WebhookWithSecretResponse,
} from '../schemas/webhooks.js';
import { WEBHOOK_EVENT_TYPES } from '../../modules/webhooks/index.js';

type ById = { Params: Static<typeof IdParams> };
const DEFAULT_OVERLAP_SECONDS = 86_400;

/** Webhook endpoints (admin): register, read, change, delete, rotate the secret; their deliveries, re-send, re-drive. */
export function webhookRoutes({ apis }: HttpContext): FastifyPluginAsync {
  return async (app) => {
    const config = { access: 'admin' as const };
    const tags = ['webhooks'];
    app.post<{ Body: CreateWebhookBody }>(
      '/webhooks',
      { config, schema: { tags, summary: 'Register an endpoint; the answer carries its signing secret, shown only here', body: CreateWebhookBody, response: withProblems({ 201: WebhookWithSecretResponse }, 400, 401, 403, 422) } },
      async (request, reply) => reply.code(201).send(await apis.webhooks.createEndpoint(request.body)),
    );
    app.get('/webhooks', { config, schema: { tags, summary: 'Every endpoint (never their secrets)', response: withProblems({ 200: WebhookListResponse }, 401, 403) } }, async () => ({
      webhooks: await apis.webhooks.listEndpoints(),
    }));
    app.get('/webhooks/event-types', { config, schema: { tags, summary: 'The event types an endpoint may subscribe to', response: withProblems({ 200: EventTypesResponse }, 401, 403) } }, async () => ({
      eventTypes: [...WEBHOOK_EVENT_TYPES],
    }));
    app.get<ById>('/webhooks/:id', { config, schema: { tags, summary: 'One endpoint', params: IdParams, response: withProblems({ 200: WebhookResponse }, 401, 403, 404) } }, async (request) =>
      apis.webhooks.getEndpoint(request.params.id),
    );
    app.patch<ById & { Body: UpdateWebhookBody }>(
      '/webhooks/:id',
      { config, schema: { tags, summary: 'Change the URL, event types or description; disable or enable', params: IdParams, body: UpdateWebhookBody, response: withProblems({ 200: WebhookResponse }, 400, 401, 403, 404, 422) } },
      async (request) => apis.webhooks.updateEndpoint(request.params.id, request.body),
    );
    app.delete<ById>('/webhooks/:id', { config, schema: { tags, summary: 'Delete the endpoint and its deliveries', params: IdParams, response: withProblems({ 204: Type.Null({ description: 'deleted' }) }, 401, 403, 404) } }, async (request, reply) => {
      await apis.webhooks.deleteEndpoint(request.params.id);
      return reply.code(204).send();
    });
    app.post<ById & { Body: RotateSecretBody | undefined }>(
      '/webhooks/:id/rotate-secret',
      {
        config,
        schema: { tags, summary: 'A new signing secret, shown only here; the old one keeps signing beside it for overlapSeconds', params: IdParams, body: RotateSecretBody, response: withProblems({ 200: WebhookWithSecretResponse }, 400, 401, 403, 404) },
      },
      async (request) => apis.webhooks.rotateSecret(request.params.id, request.body?.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS),
    );
    app.get<ById & { Querystring: DeliveriesQuery }>(
      '/webhooks/:id/deliveries',
      { config, schema: { tags, summary: 'The endpoint’s deliveries, newest first: status, attempts, last response, next attempt', params: IdParams, querystring: DeliveriesQuery, response: withProblems({ 200: DeliveryListResponse }, 400, 401, 403, 404) } },
      async (request) => ({ deliveries: await apis.webhooks.listDeliveries(request.params.id, request.query) }),
    );
    app.get<{ Params: Static<typeof DeliveryParams> }>(
      '/webhooks/:id/deliveries/:deliveryId',
      { config, schema: { tags, summary: 'One delivery with every attempt: when, status code or error, the first 1 KiB of the answer, duration', params: DeliveryParams, response: withProblems({ 200: DeliveryDetailResponse }, 401, 403, 404) } },
      async (request) => apis.webhooks.getDelivery(request.params.id, request.params.deliveryId),
    );
    app.post<{ Params: Static<typeof DeliveryParams> }>(
      '/webhooks/:id/deliveries/:deliveryId/resend',
      { config, schema: { tags, summary: 'Send one delivery again with the same webhook-id (a dead one gets a new round of attempts)', params: DeliveryParams, response: withProblems({ 202: DeliveryResponse }, 401, 403, 404) } },
      async (request, reply) => reply.code(202).send(await apis.webhooks.resendDelivery(request.params.id, request.params.deliveryId)),
    );
    app.post<ById>(
      '/webhooks/:id/redrive',
      { config, schema: { tags, summary: 'Send every dead delivery of the endpoint again; the deliveries held behind them follow in order', params: IdParams, response: withProblems({ 202: RedriveResponse }, 401, 403, 404) } },
      async (request, reply) => reply.code(202).send(await apis.webhooks.redriveDead(request.params.id)),
    );
  };
}
