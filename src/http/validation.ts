import { Kind, Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';

/** A field error in the shape Fastify's error formatter expects (`instancePath`, `message`). */
interface FieldError {
  instancePath: string;
  message: string;
  keyword: string;
  params: Record<string, unknown>;
}

const MAX_ERRORS = 20;

/**
 * Validates requests with the route's TypeBox schemas (the same objects @fastify/swagger
 * documents). Bodies are checked as sent, without coercion or stripping: an unknown field
 * or a "2" where an integer belongs is refused. Query strings and path parameters are text,
 * so they are converted to the schema's types first ("10" → 10, "true" → true).
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const typed = asTypeBox(schema);
  const check = TypeCompiler.Compile(typed);
  return (data: unknown) => {
    // A request without a body is validated as an empty object, so it fails on the required fields.
    const input = httpPart === 'body' ? (data ?? {}) : Value.Convert(typed, data ?? {});
    if (check.Check(input)) return { value: input };
    return { error: fieldErrors(check, input) as unknown as Error };
  };
};

function fieldErrors(check: TypeCheck<TSchema>, input: unknown): FieldError[] {
  const errors: FieldError[] = [];
  for (const error of check.Errors(input)) {
    errors.push({ instancePath: error.path, message: error.message, keyword: String(error.type), params: {} });
    if (errors.length >= MAX_ERRORS) break;
  }
  return errors;
}

/**
 * Fastify copies a headers schema to lowercase its property names, which drops TypeBox's
 * symbols; the property schemas themselves are still TypeBox, so the object is rebuilt.
 */
function asTypeBox(schema: TSchema): TSchema {
  if (Kind in schema) return schema;
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  const required = new Set((schema as { required?: string[] }).required ?? []);
  return Type.Object(
    Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, required.has(name) ? property : Type.Optional(property)])),
  );
}
