import { describe, expect, it } from '@jest/globals';
import { retryDelayMs } from './webhook-dispatcher.js';
import { signatureOf, webhookHeaders } from './webhook-signature.js';
import { Webhook } from 'standardwebhooks';

describe('retryDelayMs', () => {
  const schedule = [5_000, 300_000, 1_800_000];

  it('waits the schedule step of the nth failure, then repeats the last one', () => {
    const middle = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 9].map((n) => retryDelayMs(schedule, n, middle))).toEqual([5_000, 300_000, 1_800_000, 1_800_000, 1_800_000]);
  });

  it('spreads each wait by ±10 % so that receivers coming back are not hit all at once', () => {
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(4_500);
    expect(retryDelayMs(schedule, 1, () => 1)).toBe(5_500);
  });
});

describe('Standard Webhooks signatures', () => {
  it("are what the standardwebhooks package verifies, and nothing else's", () => {
    const secret = `whsec_${Buffer.from('a key of twenty-four by').toString('base64')}`;
    const body = JSON.stringify({ id: 'evt_1', type: 'payment.completed' });
    const headers = webhookHeaders(secret, 'evt_1', body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(signatureOf(secret, 'evt_1', 1_700_000_000, body)).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });
});
