import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Principal } from '../auth/api-keys.js';
import { CurrentPrincipal, visibleTo } from '../auth/principal.js';
import { HttpErrorCode, RequestError } from '../http/http-errors.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEvent } from './webhook-events.js';
import { WebhookEventsService, type EventPage } from './webhook-events.service.js';

/** The events API: every outcome of the merchant's payments and refunds, as its webhooks carry them. */
@ApiTags('webhooks')
@Controller('api/events')
export class WebhookEventsController {
  constructor(private readonly events: WebhookEventsService) {}

  @Get()
  @ApiOperation({ summary: 'Events, newest first; page on with starting_after=<the last id> while hasMore' })
  @ApiQuery({ name: 'type', required: false, enum: WEBHOOK_EVENT_TYPES })
  @ApiQuery({ name: 'created[gte]', required: false, description: 'ISO 8601 time' })
  @ApiQuery({ name: 'created[lte]', required: false, description: 'ISO 8601 time' })
  @ApiQuery({ name: 'starting_after', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100, default 10' })
  list(@Query() query: Record<string, string | undefined>, @CurrentPrincipal() principal: Principal): Promise<EventPage> {
    const type = query.type;
    if (type !== undefined && !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) throw invalid('type', `type must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
    const limit = query.limit === undefined ? 10 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid('limit', 'limit must be an integer from 1 to 100');
    return this.events.list({
      merchantId: visibleTo(principal),
      type,
      createdGte: timeOf(query, 'created[gte]'),
      createdLte: timeOf(query, 'created[lte]'),
      startingAfter: query.starting_after,
      limit,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One event' })
  @ApiNotFoundResponse()
  find(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<WebhookEvent> {
    return this.events.find(id, visibleTo(principal));
  }

  @Post(':id/redeliver')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Send the event again to every endpoint subscribed to it' })
  @ApiNotFoundResponse()
  redeliver(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<{ eventId: string; queued: number }> {
    return this.events.redeliver(id, visibleTo(principal));
  }
}

function timeOf(query: Record<string, string | undefined>, param: string): Date | undefined {
  const text = query[param];
  if (text === undefined) return undefined;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw invalid(param, `${param} must be an ISO 8601 time`);
  return time;
}

function invalid(param: string, message: string): RequestError {
  return new RequestError(HttpErrorCode.ParameterInvalid, message, { param });
}
