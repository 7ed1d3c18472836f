import { Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { currentLogContext, withLogContext } from './log-context.js';

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
    if (this.enabled()) this.logger[this.level](message());
  }

  /** A line about one payment of a batch: it carries that payment's ids, whatever the batch's context. */
  writeFor(ids: { paymentId: string; correlationId: string }, message: () => string): void {
    if (!this.enabled()) return;
    const context = { ...currentLogContext(), paymentId: ids.paymentId, correlationId: ids.correlationId };
    withLogContext(context, () => this.logger[this.level](message()));
  }

  private enabled(): boolean {
    const root = PinoLogger.root;
    return !root || root.isLevelEnabled(this.level === 'log' ? 'info' : 'debug');
  }
}
