import { describe, expect, it } from '@jest/globals';
import { createEnvelope, stepEventId } from './event-envelope.js';
import { parseEnvelope } from './event-envelope.js';

describe('event envelopes', () => {
  it('should give a step of a payment the same id every time, and other steps other ids', () => {
    const id = stepEventId('5b72a71d-6c1f-4645-800c-6f5891eaaffc', 'payment.validated');
    expect(id).toBe(stepEventId('5b72a71d-6c1f-4645-800c-6f5891eaaffc', 'payment.validated'));
    expect(id).not.toBe(stepEventId('5b72a71d-6c1f-4645-800c-6f5891eaaffc', 'payment.approved'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('should read back an envelope it wrote', () => {
    const envelope = createEnvelope('payment.initiated', 'p-1', { orderId: 'O-1' }, 'corr-1');
    expect(parseEnvelope(JSON.stringify(envelope))).toEqual(envelope);
  });

  it.each([
    ['not JSON', '{"broken"'],
    ['JSON that is not an object', '42'],
    ['null', 'null'],
    ['another version', JSON.stringify({ ...createEnvelope('t', 'p', {}, 'c'), specVersion: 2 })],
    ['no payload', JSON.stringify({ ...createEnvelope('t', 'p', {}, 'c'), payload: null })],
    ['no payment id', JSON.stringify({ ...createEnvelope('t', 'p', {}, 'c'), paymentId: 7 })],
  ])('should refuse %s', (_name, value) => {
    expect(parseEnvelope(value)).toBeNull();
  });
});
