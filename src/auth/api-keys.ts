import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AppConfig } from '../config/app-config.js';

/** Who is calling: a merchant's key, an operator's key, or nobody in particular because the API is open. */
export type Principal =
  | { kind: 'merchant'; merchantId: string; keyId: string }
  | { kind: 'admin'; keyId: string }
  | { kind: 'open' };

/** Every key this service mints starts with this, so leaked keys are easy to spot (and to mask in logs). */
export const API_KEY_PREFIX = 'psk_';

/** A new key: 32 random bytes, base64url. Only its hash is configured; the key goes to the merchant. */
export function mintApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * sha256 of the key, lowercase hex. A plain hash (no salt, no key stretching) is enough because keys
 * are 256 random bits, not passwords a person chose: nothing to brute-force, and it costs ~1 µs a request.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

interface KnownKey {
  digest: Buffer;
  principal: Exclude<Principal, { kind: 'open' }>;
}

/** The configured keys (their hashes) and the one lookup the HTTP layer needs. */
export class ApiKeyRegistry {
  private readonly keys: KnownKey[];

  private readonly openApi: boolean;

  constructor(config: AppConfig['security']) {
    this.openApi = config.openApi;
    // keyId: a short, non-secret handle of the key (hash prefix), for rate limits and logs.
    this.keys = [
      ...config.merchantKeys.map(({ merchantId, hash }) => ({
        digest: Buffer.from(hash, 'hex'),
        principal: { kind: 'merchant' as const, merchantId, keyId: hash.slice(0, 16) },
      })),
      ...config.adminKeyHashes.map((hash) => ({
        digest: Buffer.from(hash, 'hex'),
        principal: { kind: 'admin' as const, keyId: hash.slice(0, 16) },
      })),
    ];
  }

  /** No key configured at all: the API runs open, operator routes included, as before keys existed. */
  get open(): boolean {
    return this.keys.length === 0;
  }

  /** The principal of an /api request that sent no key: the open API's, with no keys or OPEN_API; else null (401). */
  get anonymous(): Extract<Principal, { kind: 'open' }> | null {
    return this.open || this.openApi ? { kind: 'open' } : null;
  }

  /** Whether an admin key with this keyId is still configured (a console session outlives no removed key). */
  hasAdmin(keyId: string): boolean {
    return this.keys.some(({ principal }) => principal.kind === 'admin' && principal.keyId === keyId);
  }

  /**
   * The principal of a presented key, or null. Compares the key's digest with every configured digest
   * in constant time and without stopping at a match, so timing tells nothing about which keys exist.
   */
  authenticate(presented: string): Exclude<Principal, { kind: 'open' }> | null {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: KnownKey | null = null;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.digest) && found === null) found = key;
    }
    return found?.principal ?? null;
  }
}

/** The key of an `Authorization: Bearer <key>` header; undefined when absent or not a Bearer credential. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^Bearer[ \t]+([\x21-\x7e]{1,512})[ \t]*$/i.exec(value);
  return match?.[1];
}
