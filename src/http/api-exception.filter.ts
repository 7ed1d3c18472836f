import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { AppError, type ErrorType } from '../errors/app-error.js';
import { errorResponse, type ErrorCatalog, type ErrorResponse } from '../errors/error-response.js';
import { recordRequestException } from '../metrics/http-metrics.js';
import { replyWithError } from './error-reply.js';
import { HttpErrorCode, RequestError } from './http-errors.js';

/** Fastify's own errors (body parsing, limits) that reach us before a route runs. */
const FASTIFY_ERRORS: Record<string, RequestError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new RequestError(HttpErrorCode.UnsupportedMediaType),
  FST_ERR_CTP_BODY_TOO_LARGE: new RequestError(HttpErrorCode.BodyTooLarge),
  FST_ERR_CTP_EMPTY_JSON_BODY: new RequestError(HttpErrorCode.InvalidJson, 'The request body is empty; send a JSON object.'),
  FST_ERR_CTP_INVALID_JSON_BODY: new RequestError(HttpErrorCode.InvalidJson),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new RequestError(HttpErrorCode.InvalidContentLength),
};

/** For framework errors that bring only a status (Nest's HttpExceptions, Fastify's 4xx). */
const TYPE_BY_STATUS: Record<number, ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'conflict_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'service_unavailable_error',
};

/**
 * One place that turns every error into the API's JSON error shape: an AppError as the error catalog
 * says; framework errors keep their status; anything unexpected becomes a generic 500 with a
 * correlation id, and its details go to the log only.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  constructor(private readonly catalog: ErrorCatalog) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    recordRequestException(request, exception);
    void replyWithError(reply, this.toResponse(exception, request));
  }

  toResponse(exception: unknown, request?: FastifyRequest): ErrorResponse {
    if (exception instanceof AppError) {
      if (exception.code in this.catalog) return errorResponse(exception, this.catalog);
      // A code nobody put in the catalog is a bug of ours: still the API's 500, and the log says which.
      return this.internalError(request, new Error(`Error code ${exception.code} is not in the error catalog`, { cause: exception }));
    }
    // Nest wraps Fastify's client errors in an HttpException and keeps the original as its cause.
    const fastifyCode = fastifyErrorCode(exception) ?? fastifyErrorCode((exception as { cause?: unknown })?.cause);
    if (fastifyCode && FASTIFY_ERRORS[fastifyCode]) return errorResponse(FASTIFY_ERRORS[fastifyCode], this.catalog);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
      if (status === 404) return errorResponse(new RequestError(HttpErrorCode.ResourceNotFound, message), this.catalog);
      const code = (HttpStatus[status] ?? 'error').toLowerCase();
      return errorResponse(new AppError(code, message), this.catalog, { status, type: TYPE_BY_STATUS[status] ?? 'api_error', message });
    }
    const statusCode = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const message = (exception as Error).message ?? 'Bad request';
      const spec = { status: statusCode, type: TYPE_BY_STATUS[statusCode] ?? 'invalid_request_error', message } as const;
      return errorResponse(new RequestError(HttpErrorCode.BadRequest, message), this.catalog, spec);
    }
    return this.internalError(request, exception);
  }

  /** A generic 500 with a correlation id; the details go to the log only. */
  private internalError(request: FastifyRequest | undefined, exception: unknown): ErrorResponse {
    const correlationId = randomUUID();
    this.logger.error(
      `Unhandled error ${correlationId} on ${request?.method ?? '?'} ${request?.url ?? '?'}: ${(exception as Error)?.stack ?? String(exception)}`,
    );
    return errorResponse(new RequestError(HttpErrorCode.InternalError, undefined, { extra: { correlationId } }), this.catalog);
  }
}

function fastifyErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('FST_') ? code : undefined;
}
