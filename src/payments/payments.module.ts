import { Module } from '@nestjs/common';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { IdempotencyRecall } from './idempotency-recall.js';
import { IdempotencyStore } from './idempotency.store.js';
import { IntakeClaims } from './intake-claims.store.js';
import { intakeSettingsProvider } from './intake-settings.js';
import { OrderRegistry } from './order-registry.store.js';
import { PaymentQueryService } from './payment-query.service.js';
import { PaymentsController } from './payments.controller.js';
import { PaymentsService } from './payments.service.js';
import { RefundReservations } from './refund-reservations.store.js';
import { RefundsController } from './refunds.controller.js';
import { RefundsIntake } from './refunds.service.js';

@Module({
  imports: [PipelineModule, RedisModule],
  controllers: [PaymentsController, RefundsController],
  providers: [PaymentsService, PaymentQueryService, IdempotencyStore, IdempotencyRecall, OrderRegistry, IntakeClaims, intakeSettingsProvider, RefundsIntake, RefundReservations],
})
export class PaymentsModule {}
