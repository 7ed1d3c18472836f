import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { AmountInCurrency } from '../../money/amount-in-currency.dto.js';
import { ClientId } from '../../http/client-id.js';

export class CreatePaymentRequest extends AmountInCurrency {
  @ClientId('orderId', 'ORDER-12345')
  orderId!: string;

  @ClientId('userId', 'USER-001')
  userId!: string;

  @ClientId('merchantId', 'MERCHANT-001', { optional: true })
  merchantId?: string;

  @ApiPropertyOptional({ maxLength: 255 })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;
}
