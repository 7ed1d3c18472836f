import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { errorResponse, type ErrorCatalog } from '../errors/error-response.js';
import { replyWithError } from '../http/error-reply.js';
import type { RedisClient } from '../redis/redis.module.js';
import { AuthError, AuthErrorCode, rateLimited } from './auth-errors.js';
import { ConsoleSessions, CSRF_HEADER, csrfMatches, sessionCookie, sessionTokenOf } from './console-sessions.js';
import { ApiKeyRegistry, bearerToken, type Principal } from './api-keys.js';
import { unauthorized } from './principal.js';

/**
 * Refuses to run a production deployment without keys: an open payment API is a configuration
 * mistake there, not a choice. Called before anything connects anywhere.
 */
export function assertApiKeysConfigured(config: AppConfig, servesApi: boolean): void {
  // A worker-only instance serves no API (its /api answers 404), so it needs no keys.
  if (config.env !== 'production' || !servesApi) return;
  if (new ApiKeyRegistry(config.security).open) {
    throw new Error(
      'Refusing to start: NODE_ENV=production but no API keys are configured (API_KEYS, ADMIN_API_KEYS). ' +
        'Mint one with `npm run apikey -- <merchantId>` and set its hash, or run with another NODE_ENV.',
    );
  }
  if (config.security.openApi) throw new Error('Refusing to start: NODE_ENV=production with OPEN_API=true would answer /api without a key. Unset OPEN_API.');
}

/**
 * The HTTP front line, in this order on every request: security headers (helmet), then for /api/*
 * (except the OpenAPI docs) the API key (401 before the body is even read), then the caller's rate
 * limit (429 + Retry-After), counted in Redis so that it holds across instances. Health and metrics
 * stay open. Authorization per route (admin-only, per-merchant visibility) is the controllers' part.
 */
export async function installHttpSecurity(app: NestFastifyApplication, config: AppConfig, redis: RedisClient, errors: ErrorCatalog): Promise<void> {
  const registry = new ApiKeyRegistry(config.security);
  const authenticate = authenticatorOf(registry, new ConsoleSessions(redis), config.env === 'production');
  const logger = new Logger('Security');
  if (registry.open) {
    logger.warn(
      '*** NO API KEYS CONFIGURED: /api/* is OPEN to anyone who can reach this port. Set API_KEYS / ADMIN_API_KEYS ' +
        '(npm run apikey -- <merchantId>) before exposing it. Production refuses to start like this. ***',
    );
  } else if (registry.anonymous !== null) {
    logger.warn(
      '*** OPEN_API=true: /api/* is OPEN to anyone who can reach this port, although keys are configured; only the ' +
        'operations console needs a key. Production refuses to start like this. ***',
    );
  }

  // A JSON API serves no HTML of its own, but the OpenAPI page at /api/docs does: helmet's default
  // policy (scripts and styles from self) fits it, and every other header is the strict default.
  await app.register(helmet, { global: true });

  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorateRequest('principal', null);

  const { enabled, max, windowMs } = config.security.rateLimit;
  let limit: ReturnType<typeof fastify.createRateLimit> | undefined;
  if (enabled) {
    await app.register(rateLimit, {
      global: false, // applied by the hook below, after authentication, so that it can count per key
      redis,
      nameSpace: 'ratelimit:',
      max,
      timeWindow: windowMs,
      // Redis away: serve rather than fail; the intake answers 503 on its own and status queries fall back to PostgreSQL.
      skipOnError: true,
      keyGenerator: (request: FastifyRequest) => limitKeyOf(request.principal, request.ip),
    });
    limit = fastify.createRateLimit();
  }

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (registry.open) request.principal = { kind: 'open' };
    if (!isProtected(request)) return;
    if (!registry.open) {
      const principal = await authenticate(request);
      if (principal instanceof AuthError) return replyWithError(reply, errorResponse(principal, errors));
      request.principal = principal;
    }
    // The intake counts the limit itself, in the same script as its claims (one Redis round trip).
    if (limit && !limitedInHandler(request)) {
      const state = await limit(request);
      if (state.isAllowed) return;
      void reply.header('X-RateLimit-Limit', state.max).header('X-RateLimit-Remaining', state.remaining);
      if (state.isExceeded) {
        const retryAfter = Math.max(1, state.ttlInSeconds);
        return replyWithError(reply, errorResponse(rateLimited(retryAfter), errors));
      }
    }
  });
}

/** The matched route's pattern (the raw URL's path when none matched): what the guards below decide on. */
function routePath(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?', 1)[0];
}

/** /api/* and the console's /ops/api/* are guarded, except the OpenAPI docs. */
function isProtected(request: FastifyRequest): boolean {
  const path = routePath(request);
  return (path.startsWith('/api/') && !path.startsWith('/api/docs')) || isConsoleApi(request);
}

function isConsoleApi(request: FastifyRequest): boolean {
  return routePath(request).startsWith('/ops/api/');
}

/** Methods that change something: a request made with the console's cookie must carry its CSRF token for them. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Who is calling, when some key is configured: an `Authorization: Bearer` key; else the console's
 * session cookie (an admin key signed in at /ops, with the CSRF token for unsafe methods); else
 * nobody, which /api accepts with OPEN_API and the console never does. The error to answer otherwise.
 */
function authenticatorOf(registry: ApiKeyRegistry, sessions: ConsoleSessions, secure: boolean): (request: FastifyRequest) => Promise<Principal | AuthError> {
  return async (request) => {
    const header = request.headers.authorization;
    if (header) {
      const token = bearerToken(header);
      return (token === undefined ? null : registry.authenticate(token)) ?? unauthorized(AuthErrorCode.ApiKeyInvalid);
    }
    const anonymous = isConsoleApi(request) ? null : registry.anonymous;
    const sessionToken = sessionTokenOf(request.headers.cookie);
    if (sessionToken === undefined) return anonymous ?? unauthorized(AuthErrorCode.ApiKeyMissing);
    let session;
    try {
      session = await sessions.find(sessionToken);
    } catch {
      return new AuthError(AuthErrorCode.SessionUnavailable);
    }
    // Only admin keys sign in; a session of a key removed from the configuration since has ended with it.
    if (session === null || session.principal.kind !== 'admin' || !registry.hasAdmin(session.principal.keyId)) {
      // The browser is told to drop the cookie, so that a sign-out of an ended session still clears it.
      return anonymous ?? new AuthError(AuthErrorCode.SessionInvalid, undefined, { headers: { 'Set-Cookie': sessionCookie(null, secure) } });
    }
    if (UNSAFE_METHODS.has(request.method) && !csrfMatches(request.headers[CSRF_HEADER], session)) return new AuthError(AuthErrorCode.CsrfTokenInvalid);
    return session.principal;
  };
}

/** Route config of a handler that counts the caller's rate limit itself (with rateLimitKeyOf). */
export const LIMITED_IN_HANDLER = { rateLimitedInHandler: true } as const;

function limitedInHandler(request: FastifyRequest): boolean {
  return (request.routeOptions.config as Partial<typeof LIMITED_IN_HANDLER> | undefined)?.rateLimitedInHandler === true;
}

/** The caller's rate-limit bucket (under `ratelimit:`): its API key, or its IP while the API is open. */
export function rateLimitKeyOf(request: FastifyRequest): string {
  return limitKeyOf(request.principal, request.ip);
}

function limitKeyOf(principal: Principal | null, ip: string): string {
  if (principal === null || principal.kind === 'open') return `ip:${ip}`;
  return `key:${principal.keyId}`;
}

