import { applyDecorators, createParamDecorator, HttpStatus, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../http/api-error.js';
import type { Principal } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the security hook (src/auth/http-security.ts): the caller's key, or `open` when no keys exist. */
    principal: Principal | null;
  }
}

export function unauthorized(code: 'api_key_missing' | 'api_key_invalid', message: string): ApiError {
  const challenge = code === 'api_key_invalid' ? 'Bearer realm="payments", error="invalid_token"' : 'Bearer realm="payments"';
  return new ApiError(HttpStatus.UNAUTHORIZED, { type: 'authentication_error', code, message }, { 'WWW-Authenticate': challenge });
}

export function forbidden(code: string, message: string, param?: string): ApiError {
  return new ApiError(HttpStatus.FORBIDDEN, { type: 'permission_error', code, message, ...(param !== undefined && { param }) });
}

/** The request's principal; fails closed (401) if the security hook did not vouch for the request. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('api_key_missing', 'Send an API key as Authorization: Bearer <key>.');
  return request.principal;
}

/** Controller parameter: who is calling. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal =>
  principalOf(context.switchToHttp().getRequest<FastifyRequest>()),
);

/** Refuses merchant keys (403); admin keys pass, and everyone does while the API is open. */
export class AdminOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const principal = principalOf(context.switchToHttp().getRequest<FastifyRequest>());
    if (principal.kind === 'merchant') throw forbidden('admin_key_required', 'This endpoint needs an admin API key.');
    return true;
  }
}

/** Marks a controller or route as an operator action. */
export const AdminOnly = (): ClassDecorator & MethodDecorator => applyDecorators(UseGuards(AdminOnlyGuard), ApiBearerAuth());
