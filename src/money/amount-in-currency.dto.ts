import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsIn, Validate } from 'class-validator';
import { AmountForCurrency } from './amount.validator.js';
import { SUPPORTED_CURRENCIES } from './currencies.js';

/** The money part of a request body, shared by payments and deposits. */
export class AmountInCurrency {
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
}
