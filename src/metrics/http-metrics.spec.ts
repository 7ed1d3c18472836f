import { describe, expect, it } from '@jest/globals';
import { outcomeOf, uriOf } from './http-metrics.js';

describe("Micrometer's HTTP tags", () => {
  it('should class every status as Spring does', () => {
    expect([101, 200, 202, 302, 400, 404, 429, 500, 503].map(outcomeOf)).toEqual([
      'INFORMATIONAL', 'SUCCESS', 'SUCCESS', 'REDIRECTION', 'CLIENT_ERROR', 'CLIENT_ERROR', 'CLIENT_ERROR', 'SERVER_ERROR', 'SERVER_ERROR',
    ]);
  });

  it("should write route parameters in Spring's {name} form and an unmatched route as UNKNOWN", () => {
    expect(uriOf('/api/payments')).toBe('/api/payments');
    expect(uriOf('/api/payments/:paymentId/events')).toBe('/api/payments/{paymentId}/events');
    expect(uriOf(undefined)).toBe('UNKNOWN');
  });
});
