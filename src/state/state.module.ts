import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { PaymentStateStore } from './payment-state.store.js';

@Module({
  imports: [RedisModule],
  providers: [PaymentStateStore],
  exports: [PaymentStateStore],
})
export class StateModule {}
