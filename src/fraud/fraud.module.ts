import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module.js';
import { PipelineModule } from '../pipeline/pipeline.module.js';
import { FraudConsumer } from './fraud.consumer.js';
import { fraudRulesProvider } from './fraud-rules.js';
import { FraudService } from './fraud.service.js';
import { VelocityStore } from './velocity.store.js';

@Module({
  imports: [PipelineModule, RedisModule],
  controllers: [FraudConsumer],
  providers: [FraudService, VelocityStore, fraudRulesProvider],
})
export class FraudModule {}
