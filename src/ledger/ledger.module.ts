import { Module } from '@nestjs/common';
import { PaymentsModule } from '../payments/payments.module.js';
import { AccountsController } from './accounts.controller.js';
import { LedgerConsumer } from './ledger.consumer.js';
import { DepositsService } from './deposits.service.js';
import { LedgerService } from './ledger.service.js';

@Module({
  imports: [PaymentsModule],
  controllers: [AccountsController, LedgerConsumer],
  providers: [LedgerService, DepositsService],
})
export class LedgerModule {}
