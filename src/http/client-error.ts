import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiErrorBody } from './api-error.js';

/**
 * Answers requests that are not valid HTTP (Node's parser refused them before Fastify saw a request)
 * in the API's JSON error shape instead of Fastify's own, then closes the connection, as Fastify does.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request was not received in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers_too_large', 'The request headers are larger than the limit.']
        : [400, 'malformed_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ error: { type: 'invalid_request_error', code, message } } satisfies ApiErrorBody);
  // A route may already have answered this connection (a 400 or 401 sent before the body was read)
  // when the bytes after it turn out not to be valid HTTP: a second response would be taken as the
  // answer to the client's next request, and destroying the socket with unread bytes would reset it
  // (RST) under that request. Close it gracefully (FIN) once the answer is out, as a keep-alive
  // client expects of a server that ends a connection.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (inFlight?.headersSent) {
    if (inFlight.writableFinished) socket.end();
    else inFlight.once('finish', () => socket.end());
    setTimeout(() => socket.destroy(), 5_000).unref();
    return;
  }
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Fastify's own routing errors (a URL with broken percent-encoding, FST_ERR_BAD_URL) in the API's
 * JSON error shape; Fastify answers them before any hook or Nest filter runs.
 */
export function frameworkErrorHandler(error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const body: ApiErrorBody =
    error.code === 'FST_ERR_BAD_URL'
      ? { error: { type: 'invalid_request_error', code: 'invalid_url', message: 'The URL is not valid (malformed percent-encoding).' } }
      : { error: { type: 'invalid_request_error', code: 'bad_request', message: 'The request cannot be routed.' } };
  void reply.code(400).type('application/json; charset=utf-8').send(body);
}
