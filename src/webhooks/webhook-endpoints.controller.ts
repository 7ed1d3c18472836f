import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../auth/api-keys.js';
import { AuthError, AuthErrorCode } from '../auth/auth-errors.js';
import { CurrentPrincipal, visibleTo } from '../auth/principal.js';
import { AppConfig } from '../config/app-config.js';
import { CreateWebhookEndpointRequest } from './dto/create-webhook-endpoint.request.js';
import type { DeliveryView, WebhookEndpoint } from './webhook-endpoints.repository.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';

/** A merchant's webhook endpoints (a merchant key sees its own; admin keys and the open API see all). */
@ApiTags('webhooks')
@Controller('api/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(
    private readonly endpoints: WebhookEndpointsService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an endpoint; the answer carries its signing secret (whsec_…), shown only here' })
  @ApiCreatedResponse({ description: 'The endpoint with its secret' })
  create(@Body() body: CreateWebhookEndpointRequest, @CurrentPrincipal() principal: Principal): Promise<WebhookEndpoint & { secret: string }> {
    if (principal.kind === 'merchant' && body.merchantId !== undefined && body.merchantId !== principal.merchantId) {
      throw new AuthError(AuthErrorCode.MerchantMismatch, undefined, { param: 'merchantId' });
    }
    const merchantId = principal.kind === 'merchant' ? principal.merchantId : (body.merchantId ?? this.config.payments.defaultMerchantId);
    return this.endpoints.create(merchantId, body);
  }

  @Get()
  @ApiOperation({ summary: 'The endpoints, newest first, without their secrets' })
  @ApiOkResponse({ description: 'The endpoints' })
  async list(@CurrentPrincipal() principal: Principal): Promise<{ data: WebhookEndpoint[] }> {
    return { data: await this.endpoints.list(visibleTo(principal)) };
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete an endpoint: it gets nothing more, deliveries still due are cancelled' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async delete(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.endpoints.delete(id, visibleTo(principal));
  }

  @Post(':id/rotate-secret')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Replace the signing secret; the answer carries the new one, shown only here' })
  rotateSecret(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<WebhookEndpoint & { secret: string }> {
    return this.endpoints.rotateSecret(id, visibleTo(principal));
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "The endpoint's deliveries, newest first, each with every attempt (time, status code, duration, error)" })
  async deliveries(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<{ data: DeliveryView[] }> {
    return { data: await this.endpoints.deliveries(id, visibleTo(principal)) };
  }
}
