import { HttpException, HttpStatus } from '@nestjs/common';

/** Stripe-like error categories clients can branch on. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'idempotency_error'
  | 'conflict_error'
  | 'not_found_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'service_unavailable_error'
  | 'api_error';

export interface ApiErrorBody {
  error: {
    type: ApiErrorType;
    code: string;
    message: string;
    param?: string;
    /** Per-field detail when several fields are wrong at once. */
    errors?: { param: string; code: string; message: string }[];
    [extra: string]: unknown;
  };
}

/** An error the API answers with as JSON `{"error": {...}}`; every 4xx and 5xx of the app has this shape. */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    readonly body: ApiErrorBody['error'],
    readonly headers: Record<string, string> = {},
  ) {
    super({ error: body }, status);
  }

  static invalidRequest(code: string, message: string, param?: string): ApiError {
    return new ApiError(HttpStatus.BAD_REQUEST, { type: 'invalid_request_error', code, message, param });
  }

  static notFound(code: string, message: string): ApiError {
    return new ApiError(HttpStatus.NOT_FOUND, { type: 'not_found_error', code, message });
  }

  static unavailable(code: string, message: string, retryAfterSeconds: number): ApiError {
    return new ApiError(
      HttpStatus.SERVICE_UNAVAILABLE,
      { type: 'service_unavailable_error', code, message },
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}
