import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { AppConfig } from '../config/app-config.js';
import { ApiKeyRegistry, bearerToken, hashApiKey, mintApiKey } from './api-keys.js';

describe('API keys', () => {
  it('should mint 256-bit keys with a recognisable prefix and hash them to sha256 hex', () => {
    const key = mintApiKey();
    expect(key).toMatch(/^psk_[A-Za-z0-9_-]{43}$/);
    expect(mintApiKey()).not.toBe(key);
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('should bind each key to its merchant, or to the admin role, and know no other key', () => {
    const [a, b, admin] = [mintApiKey(), mintApiKey(), mintApiKey()];
    const config = AppConfig.fromEnvironment({
      API_KEYS: `MERCHANT-001:${hashApiKey(a)},M:2:${hashApiKey(b)}`,
      ADMIN_API_KEYS: hashApiKey(admin),
    });
    const registry = new ApiKeyRegistry(config.security);
    expect(registry.open).toBe(false);
    expect(registry.authenticate(a)).toEqual({ kind: 'merchant', merchantId: 'MERCHANT-001', keyId: hashApiKey(a).slice(0, 16) });
    expect(registry.authenticate(b)).toMatchObject({ kind: 'merchant', merchantId: 'M:2' });
    expect(registry.authenticate(admin)).toMatchObject({ kind: 'admin' });
    for (const wrong of [mintApiKey(), '', a.slice(0, -1), `${a} `, hashApiKey(a)]) expect(registry.authenticate(wrong)).toBeNull();
    expect(new ApiKeyRegistry(AppConfig.fromEnvironment({}).security).open).toBe(true);
  });

  it('should refuse a key hash listed twice', () => {
    const hash = hashApiKey(mintApiKey());
    expect(() => AppConfig.fromEnvironment({ API_KEYS: `M1:${hash},M2:${hash}` })).toThrow(/listed more than once/);
    expect(() => AppConfig.fromEnvironment({ API_KEYS: `M1:${hash}`, ADMIN_API_KEYS: hash })).toThrow(/listed more than once/);
  });

  it('should read only a well-formed Bearer credential', () => {
    expect(bearerToken('Bearer psk_abc')).toBe('psk_abc');
    expect(bearerToken('bearer  psk_abc ')).toBe('psk_abc');
    for (const header of [undefined, '', 'Basic psk_abc', 'psk_abc', 'Bearer', 'Bearer a b', `Bearer ${'x'.repeat(513)}`, 'Bearer ключ']) {
      expect(bearerToken(header)).toBeUndefined();
    }
  });

  it('should refuse malformed key settings without echoing them', () => {
    const pasted = mintApiKey();
    let message = '';
    try {
      AppConfig.fromEnvironment({ API_KEYS: `MERCHANT-001:${pasted}`, ADMIN_API_KEYS: pasted });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/API_KEYS=\(hidden\)/);
    expect(message).toMatch(/ADMIN_API_KEYS=\(hidden\)/);
    expect(message).not.toContain(pasted);
  });

  it('should agree with `npm run apikey` (scripts/apikey.mjs) on the key format and hash', () => {
    const output = execFileSync('node', ['scripts/apikey.mjs', 'MERCHANT-009'], { encoding: 'utf8' });
    const key = /^key: +(\S+)$/m.exec(output)?.[1] ?? '';
    const entry = /^entry: +(\S+)$/m.exec(output)?.[1];
    expect(key).toMatch(/^psk_[A-Za-z0-9_-]{43}$/);
    expect(entry).toBe(`MERCHANT-009:${hashApiKey(key)}`);
    const registry = new ApiKeyRegistry(AppConfig.fromEnvironment({ API_KEYS: entry }).security);
    expect(registry.authenticate(key)).toMatchObject({ merchantId: 'MERCHANT-009' });
  });
});
