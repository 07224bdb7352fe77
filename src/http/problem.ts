import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { AppError, ERROR_CATALOGUE, type ErrorCode } from '../kernel/errors.js';

/** Where the problem types live: each code's `type` is `/problems/<CODE>`, a page this server answers (routes/problems.ts). */
export const PROBLEM_TYPE_BASE = '/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The codes an HTTP response can carry, in catalogue order. */
export const API_ERROR_CODES = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((code) => ERROR_CATALOGUE[code].api);

/** An RFC 9457 problem detail with a stable machine-readable `code`; extra members vary by code. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'the problem type: `/problems/<code>`, relative to this server, a page explaining the code and what to do' }),
    title: Type.String({ description: 'short summary of the problem type (the same for every problem of a code)' }),
    status: Type.Integer({ description: 'the HTTP status code (one per code)' }),
    detail: Type.String({ description: 'what went wrong with this request' }),
    code: Type.String({ description: 'stable machine-readable code, one of components.schemas.ErrorCode; each has one status and a page at /problems/<code>' }),
    instance: Type.Optional(Type.String({ description: 'the request path' })),
    errors: Type.Optional(
      Type.Array(Type.Object({ in: Type.String(), field: Type.String(), message: Type.String() }), { description: 'field errors of a VALIDATION_FAILED problem' }),
    ),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof ProblemSchema> & Record<string, unknown>;

/** A problem together with the headers that go with it (Retry-After, WWW-Authenticate). */
export interface ProblemResponse {
  problem: Problem;
  headers: Record<string, string>;
  /** Whether the server is at fault (log at error level, with the stack). */
  serverFault: boolean;
}

/**
 * The API's codes as the OpenAPI document lists them (components.schemas.ErrorCode): an enum,
 * and in `x-error-catalogue` each code's status, title and what to do.
 */
export function errorCodeSchema() {
  const table = Object.fromEntries(API_ERROR_CODES.map((code) => [code, { status: ERROR_CATALOGUE[code].status, title: ERROR_CATALOGUE[code].title, action: ERROR_CATALOGUE[code].action }]));
  return { type: 'string' as const, enum: API_ERROR_CODES, description: 'The `code` of a problem; its page is /problems/<code>.', 'x-error-catalogue': table };
}

const RESERVED_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'code']);

/** Builds a problem of a catalogue code; `extras` become extension members (never overriding the standard ones). */
export function problem(code: ErrorCode, detail: string, extras: Record<string, unknown> = {}): Problem {
  const { status, title } = ERROR_CATALOGUE[code];
  const extensions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(extras)) {
    if (value === undefined) continue;
    // A resource's own status (e.g. the order's) must not shadow the HTTP status member.
    if (key === 'status') extensions.currentStatus = value;
    else if (!RESERVED_MEMBERS.has(key)) extensions[key] = value;
  }
  return {
    type: PROBLEM_TYPE_BASE + code,
    title,
    status,
    detail,
    code,
    ...extensions,
  };
}

/** Sends a problem with the problem+json content type (pre-serialised: no response schema applies). */
export function sendProblem(reply: FastifyReply, response: ProblemResponse): FastifyReply {
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  return reply.code(response.problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(response.problem));
}

interface FastifyishError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: { instancePath?: string; message?: string }[];
  validationContext?: string;
}

/**
 * Maps anything thrown while serving a request to a problem: Fastify's own errors (schema
 * validation, malformed JSON, body limit), AppError by kind, storage outages, and the rest
 * as an opaque 500 (the caller logs the original).
 */
export function toProblem(error: unknown, instance?: string): ProblemResponse {
  const base = { instance };
  if (error instanceof AppError) return fromAppError(error, base);
  const e = (error ?? {}) as FastifyishError;
  if (Array.isArray(e.validation)) {
    const where = e.validationContext ?? 'body';
    const errors = e.validation.slice(0, 20).map((v) => ({ in: where, field: v.instancePath || '/', message: v.message ?? 'is invalid' }));
    const detail = `the request ${where} is invalid: ${errors.map((v) => `${v.field} ${v.message}`).join('; ')}`;
    return client(problem('VALIDATION_FAILED', detail, { ...base, errors }));
  }
  if (isStorageFull(error)) {
    return { problem: problem('STORAGE_FULL', 'the disk of the database is full; try again once space is freed', base), headers: { 'retry-after': '5' }, serverFault: true };
  }
  if (isStorageUnavailable(error)) {
    return { problem: problem('STORAGE_UNAVAILABLE', 'the database is not reachable; try again shortly', base), headers: { 'retry-after': '5' }, serverFault: true };
  }
  const fromFastify = fastifyProblem(e, base);
  if (fromFastify) return client(fromFastify);
  return internal(base);
}

function internal(base: Record<string, unknown>): ProblemResponse {
  return { problem: problem('INTERNAL', 'an unexpected error occurred; it has been logged', base), headers: {}, serverFault: true };
}

function client(p: Problem, headers: Record<string, string> = {}): ProblemResponse {
  return { problem: p, headers, serverFault: false };
}

function fromAppError(error: AppError, base: Record<string, unknown>): ProblemResponse {
  const definition = ERROR_CATALOGUE[error.code];
  // A process's own codes (start-up, deliveries) never reach a caller as they are.
  if (error.kind === 'internal' || (!definition.api && error.kind !== 'unavailable')) return internal(base);
  if (!definition.api) return { problem: problem('NOT_READY', 'a dependency does not answer; try again shortly', base), headers: { 'retry-after': '5' }, serverFault: true };
  const status = definition.status;
  const headers: Record<string, string> = {};
  const details = { ...(error.details ?? {}) };
  if (typeof details.retryAfterSeconds === 'number') headers['retry-after'] = String(details.retryAfterSeconds);
  if (error.kind === 'unauthorized') headers['www-authenticate'] = `Bearer error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`;
  if (error.kind === 'unavailable' && !headers['retry-after']) headers['retry-after'] = '5';
  return { problem: problem(error.code, error.message, { ...details, ...base }), headers, serverFault: status >= 500 };
}

const FASTIFY_CODES: Record<string, { code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_JSON', detail: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_JSON', detail: 'the body is empty but its content-type is application/json' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'BODY_TOO_LARGE', detail: 'the body is larger than the 64 KiB this API accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'send JSON with content-type application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'BAD_CONTENT_LENGTH', detail: 'the content-length does not match the body' },
};

function fastifyProblem(e: FastifyishError, base: Record<string, unknown>): Problem | undefined {
  const known = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (known) return problem(known.code, known.detail, base);
  // secure-json-parse refuses __proto__ / constructor.prototype keys with a SyntaxError.
  if (e instanceof SyntaxError && (e as FastifyishError).statusCode === 400) return problem('MALFORMED_JSON', 'the body is not acceptable JSON', base);
  // Any other request Fastify refuses: one code, one status, Fastify's words as the detail.
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return problem('BAD_REQUEST', e.message ?? 'bad request', base);
  return undefined;
}

// Errors a database driver raises when it cannot reach the server or was closed: the request
// may succeed later, so they are 503, not 500.
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);
const CONNECTION_ERROR_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|driver has already been destroyed|database connection is not open|connection error|Cannot use a pool after calling end|SQLITE_BUSY|database is locked/i;

/** Whether an error (or its cause chain) says the database's disk is full (SQLite's SQLITE_FULL, PostgreSQL's 53100). */
export function isStorageFull(error: unknown, depth = 0): boolean {
  if (depth > 6 || error === null || typeof error !== 'object') return false;
  const e = error as { code?: unknown; cause?: unknown };
  return e.code === 'SQLITE_FULL' || e.code === '53100' || isStorageFull(e.cause, depth + 1);
}

/** Whether an error (or its cause chain) says the database is unreachable. */
export function isStorageUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 6 || error === null || typeof error !== 'object') return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (CONNECTION_ERROR_CODES.has(code) || /^08/.test(code)) return true;
  if (typeof e.message === 'string' && CONNECTION_ERROR_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isStorageUnavailable(inner, depth + 1))) return true;
  return isStorageUnavailable(e.cause, depth + 1);
}
