import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { AppLogger } from './app-logger.js';
import { setLogPaymentId, withLogContext } from './log-context.js';

describe('AppLogger (JSON)', () => {
  let written: string[];

  beforeEach(() => {
    written = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const logger = () => new AppLogger({ json: true, logLevels: ['log'] });
  const lastRecord = () => JSON.parse(written.at(-1) ?? '{}') as Record<string, unknown>;

  it('should add the correlation id and payment id of the work in hand to every line', () => {
    withLogContext({ correlationId: 'req-42' }, () => {
      logger().log('accepted', 'Payments');
      expect(lastRecord()).toMatchObject({ level: 'log', message: 'accepted', context: 'Payments', correlationId: 'req-42' });
      setLogPaymentId('pay-7');
      logger().log('published', 'Payments');
      expect(lastRecord()).toMatchObject({ correlationId: 'req-42', paymentId: 'pay-7' });
    });
  });

  it('should write no ids outside any request or message', () => {
    logger().log('booted', 'Bootstrap');
    expect(lastRecord()).not.toHaveProperty('correlationId');
  });

  it('should mask secrets in logged objects', () => {
    logger().log({ user: 'u1', headers: { authorization: 'Bearer sk_live_123' }, password: 'hunter2' }, 'Auth');
    const line = written.at(-1) ?? '';
    expect(line).not.toContain('sk_live_123');
    expect(line).not.toContain('hunter2');
    expect(line).toContain('u1');
  });
});
