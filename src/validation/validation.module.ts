import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PaymentsModule } from '../payments/payments.module.js';
import { MerchantDirectory } from './merchant-directory.js';
import { Merchant } from './merchant.entity.js';
import { ValidationConsumer } from './validation.consumer.js';
import { ValidationService } from './validation.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Merchant]), PaymentsModule],
  controllers: [ValidationConsumer],
  providers: [ValidationService, MerchantDirectory],
})
export class ValidationModule {}
