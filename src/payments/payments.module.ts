import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { StateModule } from '../state/state.module.js';
import { IdempotencyRecall } from './idempotency-recall.js';
import { IdempotencyStore } from './idempotency.store.js';
import { IntakeClaims } from './intake-claims.js';
import { OrderRegistry } from './order-registry.js';
import { PaymentLifecycle } from './payment-lifecycle.service.js';
import { PaymentQueryService } from './payment-query.service.js';
import { PaymentRecord } from './payment-record.entity.js';
import { PaymentsController } from './payments.controller.js';
import { PaymentsService } from './payments.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([PaymentRecord]), StateModule],
  controllers: [PaymentsController],
  providers: [PaymentsService, PaymentQueryService, PaymentLifecycle, IdempotencyStore, IdempotencyRecall, OrderRegistry, IntakeClaims],
  exports: [PaymentLifecycle],
})
export class PaymentsModule {}
