import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { pino } from 'pino';
import { currentLogContext, withLogContext, type LogContext } from './log-context.js';
import { PaymentTrace } from './payment-trace.js';

describe('PaymentTrace', () => {
  const original = PinoLogger.root;
  afterEach(() => {
    (PinoLogger as { root: unknown }).root = original;
    jest.restoreAllMocks();
  });

  function withRootLevel(level: string) {
    (PinoLogger as { root: unknown }).root = pino({ level }, { write: () => undefined });
  }

  it('should write at log (info) on a laptop and build nothing at debug in production', () => {
    withRootLevel('info');
    const written = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const laptop = jest.fn(() => 'published');
    new PaymentTrace('Spec', 'log').write(laptop);
    expect(laptop).toHaveBeenCalledTimes(1);
    expect(written).toHaveBeenCalledWith('published');

    const production = jest.fn(() => 'published');
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    new PaymentTrace('Spec', 'debug').write(production);
    expect(production).not.toHaveBeenCalled();
    expect(debug).not.toHaveBeenCalled();
  });

  it('should write the production trace once LOG_LEVEL=debug turns it on', () => {
    withRootLevel('debug');
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    new PaymentTrace('Spec', 'debug').write(() => 'taken by fraud');
    expect(debug).toHaveBeenCalledWith('taken by fraud');
  });

  it("should carry one payment's ids on its line inside a stage batch's context, and leave the batch's context as it was", () => {
    withRootLevel('info');
    let seen: LogContext | undefined;
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => void (seen = currentLogContext()));
    const batch = { stage: 'fraud', batch: 'payments.validated[3]@10-19' };
    withLogContext({ ...batch }, () => {
      new PaymentTrace('Spec', 'log').writeFor({ paymentId: 'pay-1', correlationId: 'req-1' }, () => 'taken by fraud');
      expect(currentLogContext()).toEqual(batch);
    });
    expect(seen).toEqual({ ...batch, paymentId: 'pay-1', correlationId: 'req-1' });
  });
});
