import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { ClientId } from '../../http/client-id.js';
import { ALL_EVENTS, WEBHOOK_EVENT_TYPES } from '../webhook-events.js';

const SUBSCRIBABLE = [...WEBHOOK_EVENT_TYPES, ALL_EVENTS];

export class CreateWebhookEndpointRequest {
  @ApiProperty({ example: 'https://merchant.example/webhooks', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiProperty({ enum: SUBSCRIBABLE, isArray: true, example: ['payment.completed', 'refund.succeeded'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SUBSCRIBABLE.length)
  @IsIn(SUBSCRIBABLE, { each: true, message: `each event must be one of ${SUBSCRIBABLE.join(', ')}` })
  events!: string[];

  @ApiPropertyOptional({ maxLength: 255 })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;

  /** Admin keys and the open API name the merchant; a merchant key creates its own. */
  @ClientId('merchantId', 'MERCHANT-001', { optional: true })
  merchantId?: string;
}
