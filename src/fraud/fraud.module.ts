import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module.js';
import { FraudConsumer } from './fraud.consumer.js';
import { FraudService } from './fraud.service.js';
import { VelocityStore } from './velocity.store.js';

@Module({
  imports: [PaymentsModule],
  controllers: [FraudConsumer],
  providers: [FraudService, VelocityStore],
})
export class FraudModule {}
