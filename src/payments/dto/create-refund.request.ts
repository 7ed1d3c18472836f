import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, Validate } from 'class-validator';
import { AmountForCurrency } from '../../money/amount.validator.js';
import { REFUND_REASONS, type RefundReason } from '../../pipeline/refund-events.js';

export class CreateRefundRequest {
  @ApiPropertyOptional({
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: '30.00',
    description: "Major units of the payment's currency; left out, what is left to refund",
  })
  @IsOptional()
  @Validate(AmountForCurrency)
  amount?: number | string;

  @ApiPropertyOptional({ enum: REFUND_REASONS })
  @IsOptional()
  @IsIn(REFUND_REASONS, { message: `reason must be one of ${REFUND_REASONS.join(', ')}` })
  reason?: RefundReason;

  @ApiPropertyOptional({ maxLength: 255 })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;
}
