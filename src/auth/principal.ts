import { applyDecorators, createParamDecorator, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AuthError, AuthErrorCode } from './auth-errors.js';
import type { Principal } from './api-keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the security hook (src/auth/http-security.ts): the caller's key, or `open` when no keys exist. */
    principal: Principal | null;
  }
}

/** 401 with the Bearer challenge (RFC 6750); the catalog has the message. */
export function unauthorized(code: AuthErrorCode.ApiKeyMissing | AuthErrorCode.ApiKeyInvalid): AuthError {
  const challenge = code === AuthErrorCode.ApiKeyInvalid ? 'Bearer realm="payments", error="invalid_token"' : 'Bearer realm="payments"';
  return new AuthError(code, undefined, { headers: { 'WWW-Authenticate': challenge } });
}

/** The request's principal; fails closed (401) if the security hook did not vouch for the request. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized(AuthErrorCode.ApiKeyMissing);
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
    if (principal.kind === 'merchant') throw new AuthError(AuthErrorCode.AdminKeyRequired);
    return true;
  }
}

/** Marks a controller or route as an operator action. */
export const AdminOnly = (): ClassDecorator & MethodDecorator => applyDecorators(UseGuards(AdminOnlyGuard), ApiBearerAuth());

/** A merchant key sees its merchant's payments, refunds and events only; admin keys and the open API see all. */
export function visibleTo(principal: Principal): string | undefined {
  return principal.kind === 'merchant' ? principal.merchantId : undefined;
}
