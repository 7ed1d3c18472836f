import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { recordRequestException } from '../metrics/http-metrics.js';
import { ApiError, type ApiErrorBody, type ApiErrorType } from './api-error.js';

/** Fastify's own errors (body parsing, limits) that reach us before a route runs. */
const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Send the body as application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'The request body is larger than the limit.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'The request body is empty; send a JSON object.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', message: 'Content-Length does not match the body.' },
};

const TYPE_BY_STATUS: Record<number, ApiErrorType> = {
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
 * One place that turns every error into the API's JSON error shape. HTTP errors keep their status;
 * anything unexpected becomes a generic 500 with a correlation id, and its details go to the log only.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    recordRequestException(request, exception);
    const { status, body, headers } = this.toResponse(exception, request);
    void reply.status(status).headers(headers).type('application/json; charset=utf-8').send(body);
  }

  toResponse(
    exception: unknown,
    request?: FastifyRequest,
  ): { status: number; body: ApiErrorBody; headers: Record<string, string> } {
    if (exception instanceof ApiError) {
      return { status: exception.getStatus(), body: { error: exception.body }, headers: exception.headers };
    }
    // Nest wraps Fastify's client errors in an HttpException and keeps the original as its cause.
    const fastifyCode = fastifyErrorCode(exception) ?? fastifyErrorCode((exception as { cause?: unknown })?.cause);
    if (typeof fastifyCode === 'string' && FASTIFY_ERRORS[fastifyCode]) {
      const { status, code, message } = FASTIFY_ERRORS[fastifyCode];
      return { status, body: { error: { type: TYPE_BY_STATUS[status], code, message } }, headers: {} };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'string'
          ? response
          : String((response as { message?: unknown }).message ?? exception.message);
      const code = status === 404 ? 'resource_not_found' : (HttpStatus[status] ?? 'error').toLowerCase();
      return { status, body: { error: { type: TYPE_BY_STATUS[status] ?? 'api_error', code, message } }, headers: {} };
    }
    const statusCode = (exception as { statusCode?: unknown })?.statusCode;
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      const message = (exception as Error).message ?? 'Bad request';
      return { status: statusCode, body: { error: { type: TYPE_BY_STATUS[statusCode] ?? 'invalid_request_error', code: 'bad_request', message } }, headers: {} };
    }
    const correlationId = randomUUID();
    this.logger.error(
      `Unhandled error ${correlationId} on ${request?.method ?? '?'} ${request?.url ?? '?'}: ${(exception as Error)?.stack ?? String(exception)}`,
    );
    return {
      status: 500,
      body: { error: { type: 'api_error', code: 'internal_error', message: 'An unexpected error occurred.', correlationId } },
      headers: {},
    };
  }
}

function fastifyErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('FST_') ? code : undefined;
}
