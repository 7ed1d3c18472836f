import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { LogSettings } from '../config/app-config.js';
import { pinoOptions, processLogSink } from './pino-options.js';

/**
 * nestjs-pino as the app's logger. Its per-request pino-http child logger is not mounted
 * (`forRoutes: []`): the request's ids come from log-context.ts, which the HTTP hook and the stage
 * transport both set and which also travels into Kafka, so the hot path builds no child logger and
 * writes no line per request.
 */
@Module({})
export class LoggingModule {
  static forRoot(settings: LogSettings): DynamicModule {
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: [pinoOptions(settings), processLogSink(settings)], forRoutes: [] })],
    };
  }
}
