import { ConsoleLogger, type ConsoleLoggerOptions } from '@nestjs/common';
import { currentLogContext } from './log-context.js';
import { scrubDeep, scrubText } from './scrub.js';

/** Keys whose values never reach a log, at any depth of a logged object. */
export const REDACTED_KEYS = ['authorization', 'password', 'secret', 'apiKey', 'token', 'idempotencyKey', 'cardNumber', 'pan', 'x-api-key'];

/**
 * Nest's console logger (JSON lines in production, text on a laptop) with the correlation id and
 * payment id of the request or Kafka message being handled added to every JSON line. Secrets are
 * masked twice: by key in logged objects (REDACTED_KEYS), and in the text of every line (scrub.ts):
 * bearer credentials, API keys, Authorization values and card-like numbers.
 */
export class AppLogger extends ConsoleLogger {
  constructor(options: ConsoleLoggerOptions) {
    super({ ...options, redact: REDACTED_KEYS });
  }

  protected override getJsonLogObject(...args: Parameters<ConsoleLogger['getJsonLogObject']>): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const record = scrubDeep(super.getJsonLogObject(...args));
    const context = currentLogContext();
    if (context) {
      record.correlationId = context.correlationId;
      if (context.paymentId) record.paymentId = context.paymentId;
    }
    return record;
  }

  protected override formatMessage(...args: Parameters<ConsoleLogger['formatMessage']>): string {
    return scrubText(super.formatMessage(...args));
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack && scrubText(stack));
  }
}
