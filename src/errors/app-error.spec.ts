import { describe, expect, it } from '@jest/globals';
import { AppError, unavailableUnless } from './app-error.js';

describe('unavailableUnless', () => {
  const unavailable = (retry: ConstructorParameters<typeof AppError>[2]) => new AppError('store_unavailable', undefined, retry);

  it("answers the call's value, and lets the caller's own errors through as they are", async () => {
    const logged: string[] = [];
    expect(await unavailableUnless(async () => 42, unavailable, (m) => logged.push(m))).toBe(42);
    const notFound = new AppError('refund_not_found');
    await expect(unavailableUnless(() => Promise.reject(notFound), unavailable, (m) => logged.push(m))).rejects.toBe(notFound);
    expect(logged).toEqual([]);
  });

  it('turns a store that is away into the 503 error with Retry-After: 1, and logs why', async () => {
    const logged: string[] = [];
    const failure = unavailableUnless(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')), unavailable, (m) => logged.push(m));
    await expect(failure).rejects.toMatchObject({ code: 'store_unavailable', detail: { headers: { 'Retry-After': '1' } } });
    expect(logged).toEqual(['connect ECONNREFUSED 127.0.0.1:5432']);
  });
});
