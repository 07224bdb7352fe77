import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AppError, type ErrorCode } from '../../../kernel/errors.js';
import type { KindOf } from '../../../kernel/error-catalogue.js';
import { duplicateProducts } from '../domain/placement.js';

/** An error code of the catalogue whose kind is `validation`. */
type ValidationCode = { [C in ErrorCode]: KindOf<C> extends 'validation' ? C : never }[ErrorCode];

/**
 * A check of a command's input against its schema, compiled once: the input typed, or a
 * validation error `code` naming the first field that is wrong (`subject` when the input itself is).
 */
export function inputCheck<T extends TSchema>(schema: T, code: ValidationCode, subject: string): (input: unknown) => Static<T> {
  const compiled = TypeCompiler.Compile(schema);
  return (input) => {
    const error = compiled.Check(input) ? undefined : compiled.Errors(input).First();
    if (error) throw new AppError('validation', code, `${error.path || subject}: ${error.message}`, { details: { path: error.path, message: error.message } });
    return input as Static<T>;
  };
}

/** Refuses lines that name one product twice (DUPLICATE_PRODUCT): a product is on one line of an order. */
export function refuseDuplicateProducts(items: readonly { productId: string }[]): void {
  const duplicates = duplicateProducts(items);
  if (duplicates.length > 0) throw new AppError('validation', 'DUPLICATE_PRODUCT', `each product may appear on one line only: ${duplicates.join(', ')}`, { details: { productIds: duplicates } });
}
