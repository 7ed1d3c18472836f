import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { MerchantsRepository } from './merchants.repository.js';
import { Merchant } from './merchant.entity.js';
import { ValidationConsumer } from './validation.consumer.js';
import { validationRulesProvider } from './validation-rules.js';
import { ValidationService } from './validation.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Merchant]), PipelineModule],
  controllers: [ValidationConsumer],
  providers: [ValidationService, MerchantsRepository, validationRulesProvider],
})
export class ValidationModule {}
