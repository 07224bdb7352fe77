/** What went wrong, in terms the HTTP layer maps to a status. */
export type ErrorKind =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthorized'
  | 'unavailable'
  | 'internal';

/**
 * The one error type of orderflow. `code` is stable and machine-readable
 * (`ORDER_NOT_FOUND`); `kind` decides the HTTP status; `cause` keeps what an adapter threw.
 */
export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.details = options.details;
  }
}

/** Wraps anything thrown by an adapter so callers see one error type and keep the cause. */
export function toAppError(error: unknown, code = 'INTERNAL', kind: ErrorKind = 'internal'): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError(kind, code, message, { cause: error });
}

/** A readable one-line description of any thrown value, for dead letters and logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
