import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintToken } from '../../src/http/index.js';
import { spawnCli, type RunningCli } from '../cli/cli.js';

export const SECRET = 'webhooks-suite-secret-of-at-least-32-characters';
export const admin = mintToken(SECRET, { sub: 'admin-1', role: 'admin', expiresInSeconds: 3600 });
export const customer = mintToken(SECRET, { sub: 'customer-7', role: 'customer', expiresInSeconds: 3600 });

/** One request a receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The envelope sent (parsed body). */
  event: { eventId: string; eventType: string; correlationId: string; payload: { orderId?: string } };
  at: number;
}

/** What a receiver answers; may wait (return a promise) before answering. */
export type Responder = (request: Received, index: number) => Promise<{ status: number; headers?: Record<string, string>; body?: string }> | { status: number; headers?: Record<string, string>; body?: string };

/** A real HTTP receiver on an ephemeral port of 127.0.0.1, recording every request. */
export interface Receiver {
  url: string;
  received: Received[];
  respond: Responder;
  close(): Promise<void>;
}

export async function startReceiver(respond: Responder = () => ({ status: 200 })): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], respond, close: async () => undefined };
  const open = new Set<ServerResponse>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const received: Received = { headers: request.headers, body, event: JSON.parse(body) as Received['event'], at: Date.now() };
      const index = receiver.received.push(received) - 1;
      open.add(response);
      void Promise.resolve(receiver.respond(received, index)).then((answer) => {
        open.delete(response);
        if (response.destroyed) return;
        response.writeHead(answer.status, answer.headers ?? {});
        response.end(answer.body ?? '');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise((resolve) => {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** Settings for tests: local receivers allowed, short retries. */
export const LOCAL_WEBHOOKS = { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,400ms', WEBHOOK_TIMEOUT_MS: '5000' };

/** `orderflow start` on `databaseUrl` and a free port, with `env`; resolves once it listens. */
export async function startServer(databaseUrl: string, env: Record<string, string> = {}): Promise<{ server: RunningCli; url: string }> {
  const server = spawnCli(['start'], { DATABASE_URL: databaseUrl, JWT_SECRET: SECRET, PORT: '0', LOG_LEVEL: 'info', ORDER_RATE_LIMIT: '0', SAGA_TIMEOUT_MS: '600000', ...env });
  const [, url] = await server.waitFor(/"address":"(http:\/\/[^"]+)"/);
  return { server, url: url!.replace('0.0.0.0', '127.0.0.1') };
}

/** One JSON request with a bearer token; the status and the parsed body. */
export async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Registers an endpoint; returns its id and secret. */
export async function register(url: string, input: { url: string; eventTypes: string[]; description?: string }): Promise<{ webhookId: string; secret: string }> {
  const created = await call(url, 'POST', '/webhooks', admin, input);
  if (created.status !== 201) throw new Error(`POST /webhooks answered ${created.status}: ${JSON.stringify(created.body)}`);
  return { webhookId: created.body.webhookId as string, secret: created.body.secret as string };
}

export async function createProduct(url: string, productId: string, stock = 1000): Promise<void> {
  const created = await call(url, 'POST', '/products', admin, { productId, name: productId, price: 10, stock });
  if (created.status !== 201) throw new Error(`POST /products answered ${created.status}`);
}

/** Places an order paid with tok_visa (it runs to SHIPPED); its id and correlation id. */
export async function placeOrder(url: string, productId: string): Promise<{ orderId: string; correlationId: string }> {
  const placed = await call(url, 'POST', '/orders', customer, {
    items: [{ productId, quantity: 1 }],
    shippingAddress: { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
    paymentMethod: { token: 'tok_visa' },
  });
  if (placed.status !== 201) throw new Error(`POST /orders answered ${placed.status}: ${JSON.stringify(placed.body)}`);
  return { orderId: placed.body.orderId as string, correlationId: placed.body.correlationId as string };
}

/** The event types of a flow paid with tok_visa that reach SHIPPED, as a subscriber of these four sees them. */
export const ORDER_MILESTONES = ['OrderPlaced', 'OrderConfirmed', 'OrderPaid', 'OrderShipped'];

/** What one order's requests were, in arrival order. */
export function requestsOf(receiver: Receiver, orderId: string): Received[] {
  return receiver.received.filter((r) => r.event.payload.orderId === orderId);
}
