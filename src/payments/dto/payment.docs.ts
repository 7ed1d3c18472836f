import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PAYMENT_STATUSES, REFUND_HISTORY_STATUSES } from '../../pipeline/payment-status.js';
import { SUPPORTED_CURRENCIES } from '../../money/currencies.js';
import { REFUND_REASONS } from '../../pipeline/refund-events.js';

/** OpenAPI shapes of the responses (documentation only; the services return plain objects). */
export class PaymentStateDoc {
  @ApiProperty({ format: 'uuid' }) paymentId!: string;
  @ApiProperty({ example: 'ORDER-12345' }) orderId!: string;
  @ApiProperty({ example: 'USER-001' }) userId!: string;
  @ApiProperty({ example: 'MERCHANT-001' }) merchantId!: string;
  @ApiProperty({ example: '99.99', description: 'Decimal string in major units' }) amount!: string;
  @ApiProperty({ enum: SUPPORTED_CURRENCIES }) currency!: string;
  @ApiProperty({ enum: PAYMENT_STATUSES }) status!: string;
  @ApiProperty({ example: 'ledger' }) stage!: string;
  @ApiPropertyOptional({ example: 'INSUFFICIENT_FUNDS' }) reason?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiPropertyOptional({ example: '30.00', description: 'A COMPLETED payment: what its refunds gave back so far (major units)' }) amountRefunded?: string;
  @ApiPropertyOptional({ enum: ['partially_refunded', 'refunded'] }) refundStatus?: string;
}

export class RefundDoc {
  @ApiProperty({ format: 'uuid' }) refundId!: string;
  @ApiProperty({ format: 'uuid' }) paymentId!: string;
  @ApiProperty({ example: '30.00', description: 'Decimal string in major units' }) amount!: string;
  @ApiProperty({ enum: SUPPORTED_CURRENCIES }) currency!: string;
  @ApiProperty({ enum: ['PENDING', 'SUCCEEDED', 'DECLINED', 'FAILED'] }) status!: string;
  @ApiPropertyOptional({ example: 'REFUND_EXCEEDS_PAYMENT', description: 'Why it was declined or failed' }) outcomeReason?: string;
  @ApiPropertyOptional({ enum: REFUND_REASONS }) reason?: string;
  @ApiPropertyOptional({ maxLength: 255 }) description?: string;
  @ApiProperty({ format: 'date-time' }) requestedAt!: string;
}

export class AcceptedPaymentDoc {
  @ApiProperty({ format: 'uuid' }) paymentId!: string;
  @ApiProperty({ example: 'ORDER-12345' }) orderId!: string;
  @ApiProperty({ example: 'USER-001' }) userId!: string;
  @ApiProperty({ example: 'MERCHANT-001' }) merchantId!: string;
  @ApiProperty({ example: '99.99' }) amount!: string;
  @ApiProperty({ enum: SUPPORTED_CURRENCIES }) currency!: string;
  @ApiProperty({ enum: ['PENDING'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ example: '支付请求已收到，正在处理中。' }) message!: string;
}

export class HistoryEntryDoc {
  @ApiProperty({ enum: [...PAYMENT_STATUSES, ...REFUND_HISTORY_STATUSES], description: "A refund's steps carry detail.refundId; the payment's status stays COMPLETED." })
  status!: string;
  @ApiProperty({ example: 'validation' }) stage!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiPropertyOptional() reason?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) detail?: Record<string, unknown>;
}

class ApiErrorDetailDoc {
  @ApiProperty({ example: 'invalid_request_error' }) type!: string;
  @ApiProperty({ example: 'parameter_invalid' }) code!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional({ example: 'amount' }) param?: string;
}

export class ApiErrorDoc {
  @ApiProperty({ type: ApiErrorDetailDoc }) error!: ApiErrorDetailDoc;
}
