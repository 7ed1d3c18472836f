import { Controller, Delete, Get, HttpCode, HttpStatus, Inject, Post, Query, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Principal } from '../auth/api-keys.js';
import { AuthError, AuthErrorCode } from '../auth/auth-errors.js';
import { ConsoleSessions, sessionCookie, sessionTokenOf, type ConsoleSession } from '../auth/console-sessions.js';
import { AdminOnly, CurrentPrincipal } from '../auth/principal.js';
import { AppConfig } from '../config/app-config.js';
import { HttpErrorCode, RequestError } from '../http/http-errors.js';
import { ConsoleFeed, type FeedMessage } from './console-feed.js';
import { InvalidCursor, StreamTail } from './stream-tail.js';

/** A page's feed stays open; a comment line this often keeps proxies from closing it as idle. */
const KEEPALIVE_MS = 15_000;

/**
 * The operations console's own API under /ops/api (admin keys only; the page at /ops calls it and
 * the existing /api routes with its session cookie). Sign-in takes the key in the Authorization
 * header, never in the URL or a form field, and answers with the HttpOnly session cookie and the CSRF
 * token the page sends back on every change.
 */
@ApiExcludeController()
@AdminOnly()
@Controller('ops/api')
export class ConsoleController implements OnModuleDestroy {
  /** The open feeds' responses and the session each was opened with, ended on sign-out and at shutdown. */
  private readonly feeds = new Map<ServerResponse, string | undefined>();

  constructor(
    @Inject(ConsoleSessions) private readonly sessions: ConsoleSessions,
    private readonly feed: ConsoleFeed,
    private readonly tail: StreamTail,
    private readonly config: AppConfig,
  ) {}

  /** Signs in: the caller's key (Authorization: Bearer) becomes a session cookie for this browser. */
  @Post('session')
  @HttpCode(HttpStatus.CREATED)
  async signIn(@CurrentPrincipal() principal: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionAnswer> {
    if (principal.kind === 'merchant') throw new AuthError(AuthErrorCode.AdminKeyRequired);
    void reply.header('cache-control', 'no-store');
    // No key is configured at all: there is nothing to sign in with, and no session is kept (one
    // made now would outlive the open API once keys are set).
    if (principal.kind === 'open') return { principal: { kind: 'open' }, csrfToken: null };
    const previous = sessionTokenOf(request.headers.cookie);
    const opened = await this.sessions.open(principal).catch(() => {
      throw new AuthError(AuthErrorCode.SessionUnavailable);
    });
    // Signing in again replaces this browser's session rather than leaving the old one to its 8 hours.
    if (previous !== undefined) await this.endSession(previous).catch(() => undefined);
    void reply.header('set-cookie', sessionCookie(opened.token, this.secureCookies));
    return answerOf(opened.session);
  }

  /** The page's session after a reload: who is signed in and the CSRF token (which only this origin can read). */
  @Get('session')
  async session(@CurrentPrincipal() principal: Principal, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<SessionAnswer> {
    void reply.header('cache-control', 'no-store');
    const token = sessionTokenOf(request.headers.cookie);
    const session = token === undefined ? null : await this.sessions.find(token).catch(() => null);
    if (session) return answerOf(session);
    // Signed in by an Authorization header (or the API is open): nothing to protect from forgery.
    return { principal: principal.kind === 'admin' ? { kind: 'admin', keyId: principal.keyId } : { kind: 'open' }, csrfToken: null };
  }

  /** Signs out: the session is deleted (the cookie is worthless from now on) and the browser told to drop it. */
  @Delete('session')
  @HttpCode(HttpStatus.NO_CONTENT)
  async signOut(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const token = sessionTokenOf(request.headers.cookie);
    if (token !== undefined) await this.endSession(token);
    void reply.header('set-cookie', sessionCookie(null, this.secureCookies));
  }

  /** Deletes a session and ends the feeds it opened (another tab's too): nothing it opened goes on streaming. */
  private async endSession(token: string): Promise<void> {
    await this.sessions.close(token);
    for (const [raw, feedToken] of this.feeds) if (feedToken === token) raw.end();
  }

  /**
   * The live feed, as Server-Sent Events; a reconnecting page sends Last-Event-ID and gets the tail from
   * there. A page that opens a new feed after a refused one (an EventSource cannot set that header) sends
   * the same cursor as `after`.
   */
  @Get('feed')
  async liveFeed(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Query('after') after?: string): Promise<void> {
    const lastEventId = request.headers['last-event-id'];
    const resumeFrom = (typeof lastEventId === 'string' && lastEventId) || after || undefined;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    raw.write('retry: 2000\n\n');
    let congested = false;
    raw.on('drain', () => (congested = false));
    const send = (message: FeedMessage) => {
      // A page that cannot keep up misses tail batches and samples rather than growing this process's memory.
      if (congested || raw.destroyed) return;
      const id = 'id' in message ? `id: ${message.id}\n` : '';
      congested = !raw.write(`${id}event: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`);
    };
    // A feed opened with the session cookie lives as long as its session: checked at every keepalive,
    // so one that expired, or was signed out on another instance, stops streaming within 15 s.
    const sessionToken = request.headers.authorization ? undefined : sessionTokenOf(request.headers.cookie);
    const keepalive = setInterval(() => {
      raw.write(': keepalive\n\n');
      if (sessionToken !== undefined) void this.sessions.find(sessionToken).then((session) => session ?? raw.end(), () => undefined);
    }, KEEPALIVE_MS);
    let stop: (() => void) | undefined;
    let closed = false;
    this.feeds.set(raw, sessionToken);
    raw.on('close', () => {
      this.feeds.delete(raw);
      closed = true;
      clearInterval(keepalive);
      stop?.();
    });
    try {
      stop = await this.feed.open(send, resumeFrom && safeCursor(resumeFrom));
      if (closed) stop();
    } catch {
      // Redis away while the page connects: it reconnects by itself (retry above).
      raw.end();
    }
  }

  /** The global stream from a moment on (`from`, epoch ms), a page at a time (`after`: the previous page's cursor). */
  @Get('stream')
  async stream(@Query('from') from?: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    const fromMs = from === undefined ? 0 : Number(from);
    if (!Number.isSafeInteger(fromMs) || fromMs < 0) throw new RequestError(HttpErrorCode.ParameterInvalid, 'from must be a time in epoch milliseconds.', { param: 'from' });
    const count = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(count) || count < 1 || count > 500) throw new RequestError(HttpErrorCode.ParameterInvalid, 'limit must be an integer from 1 to 500.', { param: 'limit' });
    try {
      return await this.tail.page(fromMs, after, count);
    } catch (error) {
      if (error instanceof InvalidCursor) throw new RequestError(HttpErrorCode.ParameterInvalid, 'after must be a cursor this endpoint returned.', { param: 'after' });
      throw error;
    }
  }

  /**
   * A feed never ends by itself, and the HTTP server's close waits for open responses: ending them
   * first lets a rolling restart finish, and the pages reconnect (to another instance) by themselves.
   */
  onModuleDestroy(): void {
    for (const raw of this.feeds.keys()) raw.end();
  }

  private get secureCookies(): boolean {
    return this.config.env === 'production';
  }
}

interface SessionAnswer {
  principal: { kind: 'admin'; keyId: string } | { kind: 'open' };
  csrfToken: string | null;
}

function answerOf(session: ConsoleSession): SessionAnswer {
  const { principal } = session;
  return { principal: principal.kind === 'admin' ? { kind: 'admin', keyId: principal.keyId } : { kind: 'open' }, csrfToken: session.csrfToken };
}

/** A Last-Event-ID that is not one of ours starts the tail from the end instead of failing the feed. */
function safeCursor(token: string): string | undefined {
  return /^[\w-]{2,4096}$/.test(token) ? token : undefined;
}
