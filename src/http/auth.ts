import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError, appError } from '../kernel/errors.js';

/** The two roles of SPEC §4. */
export type Role = 'admin' | 'customer';

/** Who is calling, from a verified token. */
export interface Principal {
  sub: string;
  role: Role;
}

/** Who may call a route: anyone, any authenticated caller, or admins only. */
export type Access = 'public' | 'authenticated' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; a route that does not say is admin-only. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The verified caller; null on public routes. */
    principal: Principal | null;
  }
}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
// Tokens are small; a huge Authorization header is refused before any crypto.
const MAX_TOKEN_LENGTH = 4096;

/**
 * Mints an HS256 JWT with claims `sub`, `role`, `iat` and `exp` (for the CLI, the start-up
 * banner and tests).
 */
export function mintToken(secret: string, claims: { sub: string; role: Role; expiresInSeconds?: number }, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const payload = base64url(JSON.stringify({ sub: claims.sub, role: claims.role, iat, exp: iat + (claims.expiresInSeconds ?? 3600) }));
  return `${HEADER}.${payload}.${sign(secret, `${HEADER}.${payload}`)}`;
}

/**
 * Verifies an HS256 JWT: the header must say HS256 (any other alg, "none" included, is
 * refused), the signature must match in constant time, `exp` must be present and in the
 * future, `sub` non-empty and `role` admin or customer. Throws AppError unauthorized.
 */
export function verifyToken(secret: string, token: string, nowMs = Date.now()): Principal {
  const parts = token.length <= MAX_TOKEN_LENGTH ? token.split('.') : [];
  if (parts.length !== 3) throw unauthorized('TOKEN_INVALID', 'the token is not a JWT');
  const [header, payload, signature] = parts as [string, string, string];
  const alg = (decodeJson(header) as { alg?: unknown } | undefined)?.alg;
  if (alg !== 'HS256') throw unauthorized('TOKEN_INVALID', 'the token must be signed with HS256');
  const expected = Buffer.from(sign(secret, `${header}.${payload}`), 'base64url');
  const given = Buffer.from(signature, 'base64url');
  // The re-encoding check refuses non-canonical base64url that would decode to the same bytes.
  if (given.toString('base64url') !== signature || given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized('TOKEN_INVALID', 'the token signature is not valid');
  const claims = decodeJson(payload) as Record<string, unknown> | undefined;
  if (!claims || typeof claims !== 'object') throw unauthorized('TOKEN_INVALID', 'the token claims are not JSON');
  const { sub, role, exp, nbf } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw unauthorized('TOKEN_INVALID', 'the token has no exp claim');
  const now = nowMs / 1000;
  if (exp <= now) throw unauthorized('TOKEN_EXPIRED', 'the token has expired');
  if (typeof nbf === 'number' && nbf > now) throw unauthorized('TOKEN_INVALID', 'the token is not valid yet');
  if (typeof sub !== 'string' || sub === '' || sub.length > 200) throw unauthorized('TOKEN_INVALID', 'the token has no valid sub claim');
  if (role !== 'admin' && role !== 'customer') throw unauthorized('TOKEN_INVALID', 'the token role must be admin or customer');
  return { sub, role };
}

/** Reads `Authorization: Bearer <token>` and verifies it. */
export function principalFrom(request: FastifyRequest, secret: string, nowMs?: number): Principal {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('UNAUTHENTICATED', 'this route needs an Authorization: Bearer <token> header');
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header);
  if (!match) throw unauthorized('TOKEN_INVALID', 'the Authorization header must be Bearer <token>');
  return verifyToken(secret, match[1]!, nowMs);
}

/** Refuses a caller whose role the route does not allow. */
export function authorize(access: Access, principal: Principal): void {
  if (access === 'admin' && principal.role !== 'admin') throw new AppError('forbidden', 'ADMIN_ONLY', 'this route is for admins only');
}

/** Whether the caller may see a resource of `customerId` (admins see all). */
export function canSee(principal: Principal, customerId: string): boolean {
  return principal.role === 'admin' || principal.sub === customerId;
}

function sign(secret: string, input: string): string {
  return createHmac('sha256', secret).update(input).digest('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function unauthorized(code: 'UNAUTHENTICATED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED', message: string): AppError {
  return appError(code, message);
}
