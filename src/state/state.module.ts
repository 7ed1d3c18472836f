import { Module } from '@nestjs/common';
import { PaymentStateStore } from './payment-state.store.js';

@Module({
  providers: [PaymentStateStore],
  exports: [PaymentStateStore],
})
export class StateModule {}
