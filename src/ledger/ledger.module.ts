import { Module } from '@nestjs/common';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { AccountsController } from './accounts.controller.js';
import { LedgerConsumer } from './ledger.consumer.js';
import { DepositsService } from './deposits.service.js';
import { LedgerRepository } from './ledger.repository.js';
import { LedgerService } from './ledger.service.js';
import { RefundsConsumer } from './refunds.consumer.js';
import { RefundsService } from './refunds.service.js';

@Module({
  imports: [PipelineModule],
  controllers: [AccountsController, LedgerConsumer, RefundsConsumer],
  providers: [LedgerService, DepositsService, LedgerRepository, RefundsService],
})
export class LedgerModule {}
