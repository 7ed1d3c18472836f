import type { FastifyReply } from 'fastify';
import type { ErrorResponse } from '../errors/error-response.js';

/** Sends an error response (errors/error-response.ts): the exception filter and every Fastify hook use it. */
export function replyWithError(reply: FastifyReply, response: ErrorResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).type('application/json; charset=utf-8').send(response.body);
}
