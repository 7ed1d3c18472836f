import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import { mintApiKey } from '../auth/api-keys.js';
import { setLogPaymentId, withLogContext } from './log-context.js';
import { pinoOptions, processLogSink } from './pino-options.js';

/** A pino logger with the app's options writing into an array: one entry per line written. */
function capture(level = 'log') {
  const lines: string[] = [];
  const logger = pino(pinoOptions({ level, json: true }), { write: (line: string) => void lines.push(line) });
  const only = () => {
    expect(lines).toHaveLength(1);
    return JSON.parse(lines.pop()!) as Record<string, unknown>;
  };
  return { logger, lines, only };
}

describe('pino options: ids on every line', () => {
  it('should add the correlation id and payment id of the work in hand', () => {
    const { logger, only } = capture();
    withLogContext({ correlationId: 'req-42' }, () => {
      logger.info({ context: 'Payments' }, 'accepted');
      expect(only()).toMatchObject({ level: 'info', message: 'accepted', context: 'Payments', correlationId: 'req-42' });
      setLogPaymentId('pay-7');
      logger.info('published');
      expect(only()).toMatchObject({ correlationId: 'req-42', paymentId: 'pay-7' });
    });
  });

  it('should write no ids outside any request or message', () => {
    const { logger, only } = capture();
    logger.info('booted');
    const record = only();
    expect(record).toMatchObject({ level: 'info', message: 'booted' });
    expect(record).not.toHaveProperty('correlationId');
    expect(record).not.toHaveProperty('paymentId');
  });

  it("should take Nest's level names: debug lines are dropped at log, kept at debug", () => {
    const quiet = capture('log');
    quiet.logger.debug('trace of one payment');
    expect(quiet.lines).toEqual([]);
    const verbose = capture('debug');
    verbose.logger.debug('trace of one payment');
    expect(verbose.only()).toMatchObject({ level: 'debug' });
  });
});

describe('pino options: masking', () => {
  const key = mintApiKey();

  it('should censor secrets by key at the top and nested, including dashed header names', () => {
    const { logger, only } = capture();
    logger.info({ user: 'u1', password: 'hunter2', headers: { authorization: `Bearer ${key}`, 'x-api-key': key }, req: { body: { cardNumber: '4111111111111111' } } }, 'auth');
    const record = only();
    const line = JSON.stringify(record);
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain(key.slice(4));
    expect(line).not.toContain('4111111111111111');
    expect(record).toMatchObject({ user: 'u1', password: '[REDACTED]', headers: { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]' } });
  });

  it('should scrub keys and card numbers out of free text, objects and error stacks', () => {
    const { logger, lines } = capture();
    logger.info(`request with Authorization: Bearer ${key} for card 4111 1111 1111 1111`);
    logger.warn({ url: '/api/payments/4111111111111111', note: `key ${key}` }, 'odd request');
    logger.error({ err: new Error(`failed for 4111-1111-1111-1111 with ${key}`) }, 'boom');
    expect(lines).toHaveLength(3);
    const output = lines.join('');
    expect(output).not.toContain(key.slice(4));
    expect(output).not.toMatch(/\d(?:[ -]?\d){12,18}/);
    expect(output).toContain('[PAN …1111]');
    expect(JSON.parse(lines[2]!)).toMatchObject({ err: { type: 'Error', message: expect.stringContaining('[PAN …1111]'), stack: expect.stringContaining('[PAN …1111]') } });
  });
});

describe('the process sink: every line, both formats', () => {
  const key = mintApiKey();
  afterEach(() => {
    jest.restoreAllMocks();
  });

  for (const json of [true, false]) {
    it(`should write no key, Authorization value or card number in ${json ? 'JSON' : 'readable'} lines`, () => {
      const written: string[] = [];
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
      const settings = { level: 'log', json };
      const logger = pino(pinoOptions(settings), processLogSink(settings));
      withLogContext({ correlationId: 'req-9', paymentId: 'pay-9' }, () => {
        logger.info(`request with Authorization: Bearer ${key} for card 4111 1111 1111 1111`);
        logger.warn({ headers: { authorization: `Bearer ${key}` }, url: '/api/payments/4111111111111111' }, 'odd');
        logger.error({ err: new Error(`boom ${key} 5555555555554444`) }, 'failed');
      });
      expect(written).toHaveLength(3);
      const output = written.join('');
      expect(output).not.toContain(key.slice(4));
      expect(output).not.toMatch(/\d(?:[ -]?\d){12,18}/);
      expect(output).toContain('[PAN …1111]');
      expect(output).toContain('pay-9');
      if (json) expect(written.map((line) => (JSON.parse(line) as { correlationId: string }).correlationId)).toEqual(['req-9', 'req-9', 'req-9']);
    });
  }
});
