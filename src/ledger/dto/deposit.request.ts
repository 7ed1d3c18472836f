import { ApiProperty } from '@nestjs/swagger';
import { IsDefined, IsIn, IsString, Length, Matches, Validate } from 'class-validator';
import { SUPPORTED_CURRENCIES } from '../../money/currencies.js';
import { AmountForCurrency } from '../../money/amount.validator.js';

export class DepositRequest {
  @ApiProperty({ example: 'DEP-0001', description: 'Chosen by the client; the same id never funds twice' })
  @IsDefined({ message: 'depositId is required' })
  @IsString()
  @Length(1, 64)
  @Matches(/^[A-Za-z0-9._:-]+$/, { message: 'depositId must be 1 to 64 characters of letters, digits, ".", "_", ":" or "-"' })
  depositId!: string;

  @ApiProperty({ oneOf: [{ type: 'number' }, { type: 'string' }], example: '500.00' })
  @IsDefined({ message: 'amount is required' })
  @Validate(AmountForCurrency)
  amount!: number | string;

  @ApiProperty({ enum: SUPPORTED_CURRENCIES, example: 'USD' })
  @IsDefined({ message: 'currency is required' })
  @IsIn(SUPPORTED_CURRENCIES, { message: `currency must be one of ${SUPPORTED_CURRENCIES.join(', ')}` })
  currency!: string;
}
