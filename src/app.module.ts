import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { ENTITIES } from './app-data-source.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { DeadLettersModule } from './dead-letters/dead-letters.module.js';
import { FraudModule } from './fraud/fraud.module.js';
import { LedgerModule } from './ledger/ledger.module.js';
import { ValidationModule } from './validation/validation.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { PipelineModule } from './pipeline/pipeline.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';
import { OpsModule } from './ops/ops.module.js';
import { rolesOf } from './pipeline/stages.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config.logSettings),
        DatabaseModule.forRoot(ENTITIES),
        MetricsModule,
        HealthModule,
        PipelineModule,
        PaymentsModule,
        ValidationModule,
        FraudModule,
        LedgerModule,
        DeadLettersModule,
        WebhooksModule,
        // The operations console lives where the API does.
        ...(rolesOf(config.appRoles).api ? [OpsModule] : []),
      ],
    };
  }
}
