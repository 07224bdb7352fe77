// The HTTP layer's public surface (SPEC §4).

/** Builds the Fastify app (not listening) over an engine and the module APIs. */
export { buildApp, BODY_LIMIT, type AppDeps } from './app.js';
/** Mints and verifies the HS256 API tokens (the CLI's `token` command and tests use mintToken). */
export { mintToken, verifyToken, type Principal, type Role } from './auth.js';
/** The HTTP layer's own tables (idempotency keys); run them with the engine's migrations. Their pruning task. */
export { DEFAULT_IDEMPOTENCY_TTL_MS, httpMigrations, idempotencyPruning } from './idempotency.js';
/** RFC 9457 problem details: the schema and the mapping from errors. */
export { ProblemSchema, toProblem, type Problem } from './problem.js';
