import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { PaymentStateStore } from './payment-state.store.js';
import { stateSettingsProvider } from './state-settings.js';

@Module({
  imports: [RedisModule],
  providers: [PaymentStateStore, stateSettingsProvider],
  exports: [PaymentStateStore],
})
export class StateModule {}
