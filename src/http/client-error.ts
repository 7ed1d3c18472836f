import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorResponse, type ErrorCatalog } from '../errors/error-response.js';
import { replyWithError } from './error-reply.js';
import { HttpErrorCode, RequestError } from './http-errors.js';

/**
 * Answers requests that are not valid HTTP (Node's parser refused them before Fastify saw a request)
 * in the API's JSON error shape instead of Fastify's own, then closes the connection, as Fastify does.
 */
export const clientErrorHandler = (catalog: ErrorCatalog) => (error: Error & { code?: string }, socket: Socket): void => {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? HttpErrorCode.RequestTimeout
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? HttpErrorCode.HeadersTooLarge
        : HttpErrorCode.MalformedRequest;
  const { status, body: errorBody } = errorResponse(new RequestError(code), catalog);
  const body = JSON.stringify(errorBody);
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
};

/**
 * Fastify's own routing errors (a URL with broken percent-encoding, FST_ERR_BAD_URL) in the API's
 * JSON error shape; Fastify answers them before any hook or Nest filter runs.
 */
export const frameworkErrorHandler =
  (catalog: ErrorCatalog) =>
  (error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply): void => {
    const code = error.code === 'FST_ERR_BAD_URL' ? HttpErrorCode.InvalidUrl : HttpErrorCode.BadRequest;
    void replyWithError(reply, errorResponse(new RequestError(code), catalog));
  };
