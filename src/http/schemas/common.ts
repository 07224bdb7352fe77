import { Type, type TSchema } from '@sinclair/typebox';
import { ProblemSchema } from '../problem.js';

// Building blocks shared by the route schemas. Request schemas are strict (no unknown
// fields); strings refuse NUL, which PostgreSQL text cannot store.

/** A non-empty string of at most `maxLength` characters without NUL. */
export const Text = (maxLength: number, options: { description?: string; examples?: unknown[] } = {}) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000]*$', ...options });

/** An identifier in a path or a body. */
export const Id = (description: string) => Text(200, { description });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A decimal amount as the API shows it (99.99 USD): the currency's exponent, never more. */
export const Decimal = (description: string) => Type.Number({ minimum: 0, description });

/** An ISO 4217 currency code. */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. USD', examples: ['USD'] });

/** ISO-8601 timestamp. */
export const Timestamp = Type.String({ description: 'ISO-8601 timestamp' });

/** A postal address; every field required. */
export const AddressSchema = Type.Object(
  { street: Text(200), city: Text(100), postalCode: Text(20), country: Text(100) },
  { additionalProperties: false },
);

/** Addresses as responses show them (stored data may carry more fields than requests allow). */
export const AddressView = Type.Object(
  { street: Type.String(), city: Type.String(), postalCode: Type.String(), country: Type.String() },
  { additionalProperties: true },
);

export const IdParams = Type.Object({ id: Id('the resource id') });

/** A route's responses plus the problem responses it may give (and 500, 503), as application/problem+json. */
export function withProblems<R extends Record<number, TSchema>>(responses: R, ...statuses: number[]): R & Record<number, unknown> {
  const problems = Object.fromEntries(
    [...new Set([...statuses, 500, 503])].map((s) => [s, { description: problemDescription(s), content: { 'application/problem+json': { schema: ProblemSchema } } }]),
  );
  return { ...problems, ...responses };
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid request (VALIDATION_FAILED, MALFORMED_JSON)',
  401: 'no, invalid or expired token',
  403: 'the caller may not use this route',
  404: 'not found (or not the caller\u2019s)',
  409: 'the resource is in a state that refuses this',
  413: 'body over 64 KiB',
  422: 'business validation failed',
  428: 'a precondition is required (an edit without If-Match)',
  429: 'rate limited (see Retry-After)',
  500: 'unexpected error (logged; no details in the body)',
  503: 'a dependency (the database) is unavailable; retry later',
};

function problemDescription(status: number): string {
  return PROBLEM_DESCRIPTIONS[status] ?? 'problem details';
}
