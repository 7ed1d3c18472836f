import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { KafkaModule } from '../kafka/kafka.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { ActuatorController } from './actuator.controller.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { HealthController } from './health.controller.js';
import { HealthReporter } from './health-reporter.js';
import { healthKafkaAdminProvider, KafkaHealthIndicator } from './kafka.health.js';
import { RedisHealthIndicator } from './redis.health.js';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'pretty', gracefulShutdownTimeoutMs: 0 }), KafkaModule, RedisModule],
  controllers: [HealthController, ActuatorController],
  providers: [healthKafkaAdminProvider, KafkaHealthIndicator, RedisHealthIndicator, DatabaseHealthIndicator, HealthReporter],
  exports: [HealthReporter],
})
export class HealthModule {}
