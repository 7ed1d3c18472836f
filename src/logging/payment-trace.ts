import { Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';

/**
 * One readable line per payment per hop (published, taken by a stage): at `log` on a laptop, so a new
 * user sees each payment pass through Kafka, at `debug` in production (AppConfig.paymentTraceLevel).
 * The message is built only when the level is on, so production pays a level check and nothing else.
 */
export class PaymentTrace {
  private readonly logger: Logger;

  constructor(
    context: string,
    private readonly level: 'log' | 'debug',
  ) {
    this.logger = new Logger(context);
  }

  write(message: () => string): void {
    const root = PinoLogger.root;
    if (root && !root.isLevelEnabled(this.level === 'log' ? 'info' : 'debug')) return;
    this.logger[this.level](message());
  }
}
