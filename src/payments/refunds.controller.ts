import { Body, Controller, Get, Headers, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/api-keys.js';
import { CurrentPrincipal, visibleTo } from '../auth/principal.js';
import { correlationIdOf } from '../http/correlation-id.js';
import { currentLogContext } from '../logging/log-context.js';
import { CreateRefundRequest } from './dto/create-refund.request.js';
import { ApiErrorDoc, RefundDoc } from './dto/payment.docs.js';
import { checkedIdempotencyKey } from './payments.controller.js';
import { RefundsIntake, type RefundView } from './refunds.service.js';

@ApiTags('refunds')
@ApiUnauthorizedResponse({ type: ApiErrorDoc, description: 'No API key, or an unknown one (when keys are configured)' })
@Controller('api')
export class RefundsController {
  constructor(private readonly refunds: RefundsIntake) {}

  @Post('payments/:paymentId/refunds')
  @ApiOperation({ summary: 'Refund a completed payment, in full or in part: answered 202 once Kafka durably holds the request' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'As for payments: a retry with the same key and body replays the first answer; it decides the refundId' })
  @ApiAcceptedResponse({ type: RefundDoc, description: 'Accepted (PENDING), or the replay of a keyed request', headers: { Location: { description: '/api/refunds/{refundId}', schema: { type: 'string' } } } })
  @ApiBadRequestResponse({ type: ApiErrorDoc })
  @ApiNotFoundResponse({ type: ApiErrorDoc, description: 'No such payment (or another merchant’s)' })
  @ApiConflictResponse({ type: ApiErrorDoc, description: 'The payment is not COMPLETED' })
  @ApiUnprocessableEntityResponse({ type: ApiErrorDoc, description: 'refund_exceeds_payment, or an Idempotency-Key reused with another body' })
  @ApiServiceUnavailableResponse({ type: ApiErrorDoc, description: 'Kafka, Redis or PostgreSQL could not take the refund in time; retry after Retry-After' })
  async create(
    @Param('paymentId') paymentId: string,
    @Body() body: CreateRefundRequest,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const key = checkedIdempotencyKey(idempotencyKey);
    const correlationId = currentLogContext()?.correlationId ?? correlationIdOf(request.headers);
    const { response, replayed } = await this.refunds.create(paymentId, body, key, correlationId, visibleTo(principal));
    void reply.status(response.statusCode).headers(response.headers);
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    return response.body;
  }

  @Get('payments/:paymentId/refunds')
  @ApiOperation({ summary: "A payment's refunds, newest first" })
  @ApiOkResponse({ type: [RefundDoc], description: 'The refunds' })
  @ApiNotFoundResponse({ type: ApiErrorDoc })
  ofPayment(@Param('paymentId') paymentId: string, @CurrentPrincipal() principal: Principal): Promise<RefundView[]> {
    return this.refunds.ofPayment(paymentId, visibleTo(principal));
  }

  @Get('refunds/:refundId')
  @ApiOperation({ summary: 'A refund: PENDING, then SUCCEEDED, DECLINED or FAILED' })
  @ApiOkResponse({ type: RefundDoc, description: 'The refund' })
  @ApiNotFoundResponse({ type: ApiErrorDoc })
  find(@Param('refundId') refundId: string, @CurrentPrincipal() principal: Principal): Promise<RefundView> {
    return this.refunds.find(refundId, visibleTo(principal));
  }
}

