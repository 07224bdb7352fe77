import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ModuleApis } from '../composition.js';
import type { Config, TrustProxy } from '../config.js';
import type { Engine } from '../platform/engine.js';
import { traceIdOf, type TraceSpan, type Tracing } from '../platform/observability/tracing.js';
import { authorize, principalFrom, type Access } from './auth.js';
import { asyncApiDocument } from './asyncapi.js';
import type { HttpContext } from './context.js';
import { createIdempotency } from './idempotency.js';
import { errorCodeSchema, problem, sendProblem, toProblem } from './problem.js';
import { createRateLimiter } from './rate-limit.js';
import { backorderRoutes } from './routes/backorders.js';
import { healthRoutes } from './routes/health.js';
import { orderRoutes } from './routes/orders.js';
import { deadLetterRoutes, eventRoutes, shipmentRoutes } from './routes/operations.js';
import { problemRoutes } from './routes/problems.js';
import { productRoutes } from './routes/products.js';
import { statsRoutes } from './routes/stats.js';
import { streamRoutes, type StreamOptions } from './routes/stream.js';
import { throughputRoutes, type ThroughputOptions } from './routes/throughput.js';
import { consoleFallback, consoleRoutes } from './static.js';
import { typeboxValidatorCompiler } from './validation.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface AppDeps {
  engine: Engine;
  apis: ModuleApis;
  config: Pick<Config, 'jwtSecret' | 'orderRateLimit'> & Partial<Pick<Config, 'idempotencyTtlMs' | 'natsUrl' | 'natsStream' | 'natsSubjectPrefix' | 'trustProxy'>>;
  logger: Logger;
  /** The clock tokens and the rate limit are checked against (tests move it). */
  now?: () => number;
  /** Where the built console is (default web/dist). */
  webRoot?: string;
  /** How GET /api/stream follows the log (tests shorten the heartbeat). */
  stream?: StreamOptions;
  /** How GET /api/throughput samples. */
  throughput?: ThroughputOptions;
  /** A span per request, the parent of what the request appends (default off). */
  tracing?: Tracing;
  /** `OTEL_TRACE_URL`: where the console links a trace id (`{traceId}` is replaced). */
  traceUrl?: string;
}

export const BODY_LIMIT = 64 * 1024;

// Never in a log line: credentials, whatever path they come by.
const REDACT = ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token', 'jwtSecret', 'secret', '*.secret'];

/**
 * Builds the HTTP API of SPEC §4 (not listening): TypeBox schemas validate requests and write
 * the OpenAPI document, errors are RFC 9457 problem details, callers authenticate with HS256
 * JWTs. Needs the `http/` migrations (`httpMigrations`) applied.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { engine, apis, config } = deps;
  const now = deps.now ?? Date.now;
  const logger = deps.logger.child({ component: 'http' }, { redact: { paths: REDACT, censor: '[redacted]' } });
  const secret = config.jwtSecret ?? missingSecret(logger);
  // Fastify's own request lines are off: requestObserver writes one line per request with the order's ids.
  // TRUST_PROXY decides whether `request.ip` (the address the audit trail records) comes from X-Forwarded-For.
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: fastifyTrustProxy(config.trustProxy ?? false),
  });
  const context: HttpContext = {
    engine,
    apis,
    idempotency: createIdempotency(engine.storage.db, { now, ...(config.idempotencyTtlMs ? { ttlMs: config.idempotencyTtlMs } : {}) }),
    orderRateLimiter: createRateLimiter(config.orderRateLimit, { now }),
    traceUrl: deps.traceUrl,
  };

  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.decorateRequest('logContext', null);
  app.decorateRequest('traceSpan', null);
  if (deps.tracing?.enabled) traceRequests(app, deps.tracing);
  installProblemHandling(app, consoleFallback(deps.webRoot));
  installAuthentication(app, secret, now);
  app.addHook('onSend', async (request, reply) => {
    if (request.logContext?.correlationId) reply.header('x-correlation-id', request.logContext.correlationId);
  });
  endConnectionsWhenClosing(app);
  // Request lines carry a fixed set of fields (no header, no body), none of them a credential:
  // they are written without the redaction pass, which was 7% of the request thread's
  // allocations (one line per request; the lines of routes and errors keep it).
  const observe = requestObserver(engine.metrics.registry, deps.logger.child({ component: 'http' }));
  app.addHook('onResponse', async (request, reply) => observe(request, reply));

  await registerDocs(app, config);
  await app.register(healthRoutes(context));
  await app.register(problemRoutes());
  await app.register(productRoutes(context));
  await app.register(orderRoutes(context));
  await app.register(backorderRoutes(context));
  await app.register(shipmentRoutes(context));
  await app.register(eventRoutes(context));
  await app.register(deadLetterRoutes(context));
  await app.register(statsRoutes(context));
  await app.register(webhookRoutes(context));
  await app.register(streamRoutes(context, deps.stream));
  await app.register(throughputRoutes(context, deps.throughput));
  await app.register(consoleRoutes(deps.webRoot));
  return app;
}

/**
 * A server span per request (`POST /orders`), continuing the caller's trace when it sends a
 * `traceparent`. The route runs with it active, so the unit of work a request runs is its child.
 */
function traceRequests(app: FastifyInstance, tracing: Tracing): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    const incoming = request.headers.traceparent;
    request.traceSpan = tracing.startSpan(`${request.method}${route ? ` ${route}` : ''}`, {
      kind: 'server',
      parent: typeof incoming === 'string' && traceIdOf(incoming) ? incoming : null,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': request.url.split('?')[0],
        'client.address': request.ip,
        'user_agent.original': request.headers['user-agent'],
      },
    });
    done();
  });
  // The handler (and the hooks after this one) run inside the span's context.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.traceSpan) tracing.withSpan(request.traceSpan, done);
    else done();
  });
  const ended = new WeakSet<TraceSpan>();
  const end = (request: FastifyRequest, status: number | undefined) => {
    const span = request.traceSpan;
    if (!span || ended.has(span)) return;
    ended.add(span);
    span.setAttributes({ 'http.response.status_code': status, 'orderflow.order_id': request.logContext?.orderId, 'orderflow.correlation_id': request.logContext?.correlationId });
    if (status === undefined || status >= 500) span.fail(new Error(status === undefined ? 'the client went away' : `HTTP ${status}`));
    span.end();
  };
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    end(request, undefined);
    done();
  });
}

/** `traceId` and `spanId` for a log line. */
function idsOf(traceparent: string | undefined): { traceId?: string; spanId?: string } {
  const parts = traceparent?.split('-');
  return parts && parts.length === 4 ? { traceId: parts[1], spanId: parts[2] } : {};
}

/**
 * Fastify keeps a connection open for 72 s after its last response, and on close ends only the
 * connections idle at that moment; a connection whose request was in flight when closing began,
 * or one that was opened and has sent nothing (yet), kept `close()` — and so a SIGTERM — waiting
 * for 72 s or for ever. While closing, every response says `Connection: close`, and every
 * connection without a request in progress is ended (one whose request headers have not all
 * arrived loses nothing: no request of it was taken).
 */
function endConnectionsWhenClosing(app: FastifyInstance): void {
  let closing = false;
  const open = new Set<Socket>();
  // Sockets with requests in progress (headers received, response not finished), and how many.
  const busy = new Map<Socket, number>();
  app.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      busy.delete(socket);
    });
  });
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else busy.delete(socket);
    });
  });
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    const sweep = () => {
      for (const socket of open) if (!busy.has(socket)) socket.destroy();
    };
    sweep();
    sweeper = setInterval(sweep, 50).unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}

/**
 * Every error, and every unknown route, becomes a problem (a browser asking for a page gets
 * the console instead); server faults are logged with their stack.
 */
function installProblemHandling(app: FastifyInstance, pageFallback: ReturnType<typeof consoleFallback>): void {
  app.setErrorHandler((error, request, reply) => {
    const response = toProblem(error, request.url);
    if (response.serverFault) request.log.error({ err: error, code: response.problem.code, ...request.logContext }, 'request failed');
    else request.log.debug({ code: response.problem.code, status: response.problem.status }, 'request refused');
    return sendProblem(reply, response);
  });
  app.setNotFoundHandler(
    (request, reply) =>
      pageFallback(request, reply) ??
      sendProblem(reply, { problem: problem('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, { instance: request.url }), headers: {}, serverFault: false }),
  );
}

/** Routes say who may call them (`config.access`); one that does not is admin-only, except the docs UI's own. */
function installAuthentication(app: FastifyInstance, secret: string, now: () => number): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config = { ...route.config, access: 'public' };
  });
  app.addHook('onRequest', async (request) => {
    if (request.is404) return;
    const access: Access = request.routeOptions.config.access ?? 'admin';
    if (access === 'public') return;
    const principal = principalFrom(request, secret, now());
    authorize(access, principal);
    request.principal = principal;
  });
}

const RELEASE = '0.1.0';

/**
 * /openapi.json from the route schemas, the Swagger UI at /docs (assets bundled, no CDN), and
 * /asyncapi.json: the event catalog as an AsyncAPI 3 document, from the schemas that validate events.
 */
async function registerDocs(app: FastifyInstance, config: AppDeps['config']): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'orderflow',
        version: RELEASE,
        description:
          'The events orderflow publishes (channels, messages, payload schemas and versions) are described by the AsyncAPI document [/asyncapi.json](/asyncapi.json). ' +
          'Event-driven order engine. Amounts are decimals in the currency (99.99 USD); event payloads keep integer minor units. ' +
          'Errors are RFC 9457 problem details with a stable `code`, one HTTP status per code; each `type` is `/problems/<code>` on this server, ' +
          'a page saying what the code means and what to do. The codes are listed in components.schemas.ErrorCode (with `x-error-catalogue`) and at /problems.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }, schemas: { ErrorCode: errorCodeSchema() } },
      tags: ['products', 'orders', 'returns', 'shipments', 'operations', 'webhooks', 'health', 'problems', 'console'].map((name) => ({ name })),
    },
    // Every non-public route needs the bearer token.
    transform: ({ schema, url, route }) => {
      const access = (route.config as { access?: Access } | undefined)?.access ?? 'admin';
      if (!schema || access === 'public') return { schema, url };
      return { schema: { ...schema, security: [{ bearer: [] }] } as typeof schema, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'This OpenAPI document' } }, async () => app.swagger());
  const stream = config.natsStream ?? 'ORDERFLOW_EVENTS';
  const events = asyncApiDocument({ version: RELEASE, stream, subjectPrefix: config.natsSubjectPrefix ?? stream.toLowerCase(), natsUrl: config.natsUrl });
  app.get('/asyncapi.json', { config: { access: 'public' }, schema: { tags: ['health'], summary: 'The AsyncAPI 3 document of the events orderflow publishes' } }, async () => events);
}

/** Counts and times every response, and writes one log line per request with the ids it touched. */
function requestObserver(registry: Registry, lines: Logger): (request: FastifyRequest, reply: FastifyReply) => void {
  const requests =
    (registry.getSingleMetric('orderflow_http_requests_total') as Counter<'method' | 'route' | 'status'> | undefined) ??
    new Counter({ name: 'orderflow_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration =
    (registry.getSingleMetric('orderflow_http_request_duration_seconds') as Histogram<'method' | 'route'> | undefined) ??
    new Histogram({
      name: 'orderflow_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  return (request, reply) => {
    // Unmatched URLs share one label so a scanner cannot blow up the series count.
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const quiet = route === '/metrics' || route.startsWith('/health');
    lines[quiet ? 'debug' : 'info'](
      { reqId: request.id, method: request.method, url: request.url, route, statusCode: reply.statusCode, durationMs: Math.round(reply.elapsedTime), caller: request.principal?.sub, ...request.logContext, ...idsOf(request.traceSpan?.traceparent) },
      'request completed',
    );
  };
}

/** TRUST_PROXY as Fastify takes it: a number of hops is a function of the hop's position. */
function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

function missingSecret(logger: Logger): string {
  logger.warn('JWT_SECRET is not set: a random secret is used, so no token minted elsewhere is accepted');
  return randomBytes(32).toString('hex');
}
