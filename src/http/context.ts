import type { FastifyRequest } from 'fastify';
import type { ModuleApis } from '../composition.js';
import type { CommandOrigin } from '../kernel/envelope.js';
import { AppError } from '../kernel/errors.js';
import type { Engine } from '../platform/engine.js';
import type { TraceSpan } from '../platform/observability/tracing.js';
import type { Principal } from './auth.js';
import type { Idempotency } from './idempotency.js';
import type { RateLimiter } from './rate-limit.js';

/** What the route plugins work with. */
export interface HttpContext {
  engine: Engine;
  apis: ModuleApis;
  idempotency: Idempotency;
  orderRateLimiter: RateLimiter;
  /** `OTEL_TRACE_URL`, for the links to traces. */
  traceUrl?: string | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Ids the request log line carries once the route knows them. */
    logContext: { orderId?: string; correlationId?: string } | null;
    /** The request's span, when tracing is on. */
    traceSpan: TraceSpan | null;
  }
}

/** The verified caller of an authenticated route. */
export function callerOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('unauthorized', 'UNAUTHENTICATED', 'this route needs a token');
  return request.principal;
}

// A user agent is recorded as sent, up to this many characters.
const MAX_USER_AGENT = 512;

/**
 * The origin of a command sent by this request, for the metadata of the events it appends: the
 * caller, the client's address (the socket's, or X-Forwarded-For's where TRUST_PROXY says so)
 * and user agent, and the reason given, if any.
 */
export function originOf(request: FastifyRequest, reason?: string): CommandOrigin {
  const { sub, role } = callerOf(request);
  const userAgent = request.headers['user-agent'];
  return {
    actor: { sub, role, ip: request.ip, ...(userAgent ? { userAgent: userAgent.slice(0, MAX_USER_AGENT) } : {}) },
    ...(reason === undefined ? {} : { reason }),
  };
}

/** Remembers the order's ids for the request log line. */
export function noteOrder(request: FastifyRequest, order: { orderId: string; correlationId: string }): void {
  request.logContext = { orderId: order.orderId, correlationId: order.correlationId };
}
