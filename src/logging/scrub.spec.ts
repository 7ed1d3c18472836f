import { describe, expect, it } from '@jest/globals';
import { mintApiKey } from '../auth/api-keys.js';
import { scrubDeep, scrubText } from './scrub.js';

const key = mintApiKey();
const CARDS = ['4111111111111111', '4111 1111 1111 1111', '4111-1111-1111-1111', '378282246310005', '6011000990139424', '4222222222222', '6250941006528599123'];

describe('scrubText', () => {
  it('should mask API keys, bearer credentials and Authorization values', () => {
    for (const text of [
      `calling with ${key}`,
      `Authorization: Bearer ${key}`,
      `headers {"authorization":"Bearer ${key}"}`,
      `authorization=${key.slice(4)}`,
      `bearer ${key.slice(4)}`,
      `x-api-key: ${key.slice(4)}`,
    ]) {
      const scrubbed = scrubText(text);
      expect(scrubbed).not.toContain(key.slice(4));
      expect(scrubbed).toMatch(/REDACTED/);
    }
  });

  it('should mask every card-like number of 13 to 19 digits but its last four', () => {
    for (const card of CARDS) {
      const scrubbed = scrubText(`GET /api/payments/${card}?pan=${card} failed`);
      expect(scrubbed).not.toContain(card);
      expect(scrubbed.replace(/\D/g, '')).not.toMatch(/\d{13}/);
      expect(scrubbed).toContain(`[PAN …${card.replace(/\D/g, '').slice(-4)}]`);
    }
  });

  it('should leave ordinary text alone: short numbers, amounts, dates and paymentIds', () => {
    for (const text of [
      'Payment accepted: USD 9999 minor units, order ORDER-12345',
      'at 2026-11-27T17:31:21.123Z, offset 123456789012',
      'payment 5b72a71d-0a3c-4b2e-8123-456789012345 completed',
      'payment 12345678-1234-4123-8123-123456789012 completed',
    ]) {
      expect(scrubText(text)).toBe(text);
    }
  });

  it('should scrub strings at any depth of a logged object without touching numbers', () => {
    const scrubbed = scrubDeep({ n: 1764250000000, nested: [{ note: `card 4111111111111111, key ${key}` }] });
    expect(scrubbed.n).toBe(1764250000000);
    expect(JSON.stringify(scrubbed)).not.toMatch(/4111111111111111|psk_[A-Za-z0-9_-]{10}/);
  });
});
