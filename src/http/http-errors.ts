import { AppError } from '../errors/app-error.js';

/** What is wrong with a request before any module looks at it: HTTP itself, the body, its fields. */
export enum HttpErrorCode {
  MalformedRequest = 'malformed_request',
  RequestTimeout = 'request_timeout',
  HeadersTooLarge = 'headers_too_large',
  InvalidUrl = 'invalid_url',
  BadRequest = 'bad_request',
  UnsupportedMediaType = 'unsupported_media_type',
  BodyTooLarge = 'body_too_large',
  InvalidJson = 'invalid_json',
  InvalidContentLength = 'invalid_content_length',
  BodyNotObject = 'body_not_object',
  ParameterMissing = 'parameter_missing',
  ParameterUnknown = 'parameter_unknown',
  ParameterInvalid = 'parameter_invalid',
  ResourceNotFound = 'resource_not_found',
  InternalError = 'internal_error',
}

export class RequestError extends AppError<HttpErrorCode> {}
