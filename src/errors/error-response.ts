import type { AppError, ErrorSpec, ErrorType, FieldError } from './app-error.js';

/** The JSON body of every 4xx and 5xx of the app. */
export interface ErrorBody {
  error: {
    type: ErrorType;
    code: string;
    message: string;
    param?: string;
    errors?: FieldError[];
    [extra: string]: unknown;
  };
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

/** Every code of the app to its spec (src/error-catalog.ts). */
export type ErrorCatalog = Readonly<Record<string, ErrorSpec>>;

/**
 * The one translation of an AppError into status, headers and body, for the filter and the Fastify
 * hooks alike. `override`: for framework errors that bring their own status (a Nest HttpException).
 */
export function errorResponse(error: AppError, catalog: ErrorCatalog, override?: ErrorSpec): ErrorResponse {
  const spec = override ?? catalog[error.code];
  if (!spec) throw new Error(`Error code ${error.code} is not in the error catalog`, { cause: error });
  const { param, errors, headers = {}, extra } = error.detail;
  return {
    status: spec.status,
    headers,
    body: {
      error: {
        type: spec.type,
        code: error.code,
        message: error.specificMessage ?? spec.message,
        ...(param !== undefined && { param }),
        ...(errors && { errors }),
        ...extra,
      },
    },
  };
}
