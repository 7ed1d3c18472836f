import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsDefined,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  Validate,
} from 'class-validator';
import { AmountForCurrency } from '../../money/amount.validator.js';
import { SUPPORTED_CURRENCIES } from '../../money/currencies.js';

const ID_PATTERN = /^[A-Za-z0-9._:-]+$/;
const ID_RULE = 'must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"';

export class CreatePaymentRequest {
  @ApiProperty({ example: 'ORDER-12345', pattern: ID_PATTERN.source, maxLength: 64 })
  @IsDefined({ message: 'orderId is required' })
  @IsString()
  @Length(1, 64, { message: `orderId ${ID_RULE}` })
  @Matches(ID_PATTERN, { message: `orderId ${ID_RULE}` })
  orderId!: string;

  @ApiProperty({
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: 99.99,
    description: 'Major units, as a JSON number or a decimal string; no more decimals than the currency has',
  })
  @IsDefined({ message: 'amount is required' })
  @Validate(AmountForCurrency)
  amount!: number | string;

  @ApiProperty({ enum: SUPPORTED_CURRENCIES, example: 'USD' })
  @IsDefined({ message: 'currency is required' })
  @IsIn(SUPPORTED_CURRENCIES, { message: `currency must be one of ${SUPPORTED_CURRENCIES.join(', ')}` })
  currency!: string;

  @ApiProperty({ example: 'USER-001', pattern: ID_PATTERN.source, maxLength: 64 })
  @IsDefined({ message: 'userId is required' })
  @IsString()
  @Length(1, 64, { message: `userId ${ID_RULE}` })
  @Matches(ID_PATTERN, { message: `userId ${ID_RULE}` })
  userId!: string;

  @ApiPropertyOptional({ example: 'MERCHANT-001', pattern: ID_PATTERN.source, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64, { message: `merchantId ${ID_RULE}` })
  @Matches(ID_PATTERN, { message: `merchantId ${ID_RULE}` })
  merchantId?: string;

  @ApiPropertyOptional({ maxLength: 255 })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  description?: string;
}
