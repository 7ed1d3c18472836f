import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Inject, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/api-keys.js';
import { LIMITED_IN_HANDLER, rateLimitKeyOf } from '../auth/http-security.js';
import { AuthError, AuthErrorCode } from '../auth/auth-errors.js';
import { CurrentPrincipal, visibleTo } from '../auth/principal.js';
import { INTAKE_SETTINGS, type IntakeSettings } from './intake-settings.js';
import { PaymentError, PaymentErrorCode } from './payment-errors.js';
import { correlationIdOf } from '../http/correlation-id.js';
import { currentLogContext } from '../logging/log-context.js';
import type { CurrentState, HistoryEntry } from '../pipeline/payment-view.js';
import { CreatePaymentRequest } from './dto/create-payment.request.js';
import { AcceptedPaymentDoc, ApiErrorDoc, HistoryEntryDoc, PaymentStateDoc } from './dto/payment.docs.js';
import { PaymentQueryService } from './payment-query.service.js';
import { PaymentsService } from './payments.service.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiTags('payments')
@ApiUnauthorizedResponse({ type: ApiErrorDoc, description: 'No API key, or an unknown one (when keys are configured)' })
@Controller('api/payments')
export class PaymentsController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly queries: PaymentQueryService,
    @Inject(INTAKE_SETTINGS) private readonly settings: IntakeSettings,
  ) {}

  @Post()
  @RouteConfig(LIMITED_IN_HANDLER)
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Take a payment: answered 202 once Kafka durably holds it' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 255 printable characters; it decides the paymentId, so a retry with the same key and body replays the first answer (also after a cache loss), and one after a 503 pays' })
  @ApiAcceptedResponse({ type: AcceptedPaymentDoc, headers: { Location: { description: '/api/payments/{paymentId}', schema: { type: 'string' } } } })
  @ApiBadRequestResponse({ type: ApiErrorDoc, description: 'Malformed JSON or invalid fields (each named)' })
  @ApiConflictResponse({ type: ApiErrorDoc, description: 'The order already has a pending or completed payment (its paymentId is in the body)' })
  @ApiPayloadTooLargeResponse({ type: ApiErrorDoc })
  @ApiUnsupportedMediaTypeResponse({ type: ApiErrorDoc })
  @ApiUnprocessableEntityResponse({ type: ApiErrorDoc, description: 'Idempotency-Key reused with another body' })
  @ApiServiceUnavailableResponse({ type: ApiErrorDoc, description: 'Kafka or Redis could not take the payment in time; retry after Retry-After' })
  @ApiForbiddenResponse({ type: ApiErrorDoc, description: "merchantId differs from the API key's merchant" })
  async create(
    @Body() body: CreatePaymentRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    checkedIdempotencyKey(idempotencyKey);
    // A merchant key pays only to its own merchant; naming another one is refused, not silently corrected.
    if (principal.kind === 'merchant') {
      if (body.merchantId !== undefined && body.merchantId !== principal.merchantId) {
        throw new AuthError(AuthErrorCode.MerchantMismatch, undefined, { param: 'merchantId' });
      }
      body.merchantId = principal.merchantId;
    }
    const correlationId = currentLogContext()?.correlationId ?? correlationIdOf(request.headers);
    const rateLimitKey = this.settings.rateLimit.enabled ? rateLimitKeyOf(request) : undefined;
    const { response, replayed, rate } = await this.payments.create(body, idempotencyKey, correlationId, rateLimitKey);
    void reply.status(response.statusCode).headers(response.headers);
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    if (rate) void reply.header('X-RateLimit-Limit', rate.limit).header('X-RateLimit-Remaining', rate.remaining);
    return response.body;
  }

  @Get(':paymentId')
  @ApiOperation({ summary: "A payment's current state" })
  @ApiOkResponse({ type: PaymentStateDoc })
  @ApiNotFoundResponse({ type: ApiErrorDoc })
  current(@Param('paymentId') paymentId: string, @CurrentPrincipal() principal: Principal): Promise<CurrentState> {
    return this.queries.current(paymentId, visibleTo(principal));
  }

  @Get(':paymentId/events')
  @ApiOperation({ summary: "A payment's state history, replayed from its Redis stream" })
  @ApiOkResponse({ type: [HistoryEntryDoc] })
  @ApiNotFoundResponse({ type: ApiErrorDoc })
  history(@Param('paymentId') paymentId: string, @CurrentPrincipal() principal: Principal): Promise<HistoryEntry[]> {
    return this.queries.history(paymentId, visibleTo(principal));
  }
}

/** The Idempotency-Key header, if sent and well-formed; 400 otherwise. */
export function checkedIdempotencyKey(idempotencyKey: string | undefined): string | undefined {
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new PaymentError(PaymentErrorCode.IdempotencyKeyInvalid, undefined, { param: 'Idempotency-Key' });
  }
  return idempotencyKey;
}
