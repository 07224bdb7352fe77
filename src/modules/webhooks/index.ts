/**
 * The webhooks module (issue 14): admin-managed endpoints that receive signed (Standard
 * Webhooks), retried, per-order ordered deliveries of the event log.
 */

/** The module factory, its options and type, and the event types an endpoint may subscribe to. */
export { createWebhooksModule, WEBHOOK_EVENT_TYPES, type WebhooksModule, type WebhooksOptions } from './module.js';
/** The endpoint and delivery commands and queries `connect(runtime)` returns, and what they answer with. */
export type { AttemptView, DeliveryView, EndpointChange, NewEndpoint, WebhooksApi } from './api.js';
/** An endpoint as the API shows it (never its secret). */
export type { EndpointView } from './storage/endpoint-store.js';
