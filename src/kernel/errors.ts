import { ERROR_CATALOGUE, type ErrorCode, type ErrorKind, type KindOf } from './error-catalogue.js';

export { ERROR_CATALOGUE, isErrorCode, type ErrorCode, type ErrorDefinition, type ErrorKind } from './error-catalogue.js';

/**
 * The one error type of orderflow. `code` is stable and machine-readable (`ORDER_NOT_FOUND`)
 * and one of the catalogue's (error-catalogue.ts), which defines its kind, HTTP status and
 * title; the kind written at a throw site must be the catalogue's (the compiler checks it).
 * `cause` keeps what an adapter threw.
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: NoInfer<KindOf<C>>, code: C, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = ERROR_CATALOGUE[code].kind;
    this.code = code;
    this.details = options.details;
    // Written by hand at ~80 places: a kind that disagrees with the catalogue is a defect.
    if (kind !== this.kind) throw new TypeError(`${code} is a ${this.kind} error, not ${kind}`);
  }
}

/** Throws by code alone: the kind comes from the catalogue. */
export function appError<C extends ErrorCode>(code: C, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}): AppError<C> {
  return new AppError<C>(ERROR_CATALOGUE[code].kind as KindOf<C>, code, message, options);
}

/** Wraps anything thrown by an adapter so callers see one error type and keep the cause. */
export function toAppError(error: unknown, code: ErrorCode = 'INTERNAL'): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return appError(code, message, { cause: error });
}

/** A readable one-line description of any thrown value, for dead letters and logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
