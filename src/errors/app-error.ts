/**
 * The error model (docs/ARCHITECTURE.md, "Errors"): a module raises its own AppError subclass with a
 * code from its own string enum; src/error-catalog.ts, the one map, gives each code its HTTP status,
 * type and public message; http/ writes the JSON body. Services never import http/.
 */

/** Stripe-like error categories clients can branch on. */
export type ErrorType =
  | 'invalid_request_error'
  | 'idempotency_error'
  | 'conflict_error'
  | 'not_found_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'service_unavailable_error'
  | 'api_error';

/** What the catalog says of one code. */
export interface ErrorSpec {
  status: number;
  type: ErrorType;
  /** The public message when the error carries no more specific one. */
  message: string;
}

/** One bad field, when a request has several. */
export interface FieldError {
  param: string;
  code: string;
  message: string;
}

export interface ErrorDetail {
  /** The request field or header at fault. */
  param?: string;
  /** Per-field detail when several fields are wrong at once. */
  errors?: FieldError[];
  /** Response headers that come with it (Retry-After, WWW-Authenticate, X-RateLimit-*). */
  headers?: Record<string, string>;
  /** Extra members of the body's `error` object (e.g. the paymentId an order already has). */
  extra?: Record<string, unknown>;
}

/** An error for the caller, named by a code of its module's enum. */
export class AppError<Code extends string = string> extends Error {
  /** The message given at the throw site, if any; the catalog's public message otherwise. */
  readonly specificMessage?: string;

  constructor(
    readonly code: Code,
    message?: string,
    readonly detail: ErrorDetail = {},
  ) {
    super(message ?? code);
    this.name = new.target.name;
    this.specificMessage = message;
  }
}

/** Retry-After for a 503 or 429: the caller may try again after this many seconds. */
export const retryAfter = (seconds: number): Record<string, string> => ({ 'Retry-After': String(seconds) });

/**
 * Runs a call to a store: an AppError it raises goes to the caller as it is; any other failure (the
 * store is away) is logged and becomes `unavailable`, the module's 503 with Retry-After: 1.
 */
export async function unavailableUnless<T>(call: () => Promise<T>, unavailable: (retry: ErrorDetail) => AppError, log: (message: string) => void): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof AppError) throw error;
    log((error as Error).message);
    throw unavailable({ headers: retryAfter(1) });
  }
}
