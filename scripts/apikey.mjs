#!/usr/bin/env node
// `npm run apikey -- <merchantId>` (or `-- --admin`): mints an API key and prints it with the entry to
// configure. The key goes to the merchant once and is stored nowhere; the service keeps only its sha256.
// Same format and hash as src/auth/api-keys.ts (a unit spec checks that they agree). No build needed.
import { createHash, randomBytes } from 'node:crypto';
import process from 'node:process';

const [who] = process.argv.slice(2);
if (!who || !(who === '--admin' || /^[A-Za-z0-9._:-]{1,64}$/.test(who))) {
  process.stderr.write('usage: npm run apikey -- <merchantId>   (or -- --admin for an operator key)\n');
  process.exit(2);
}
const key = `psk_${randomBytes(32).toString('base64url')}`;
const hash = createHash('sha256').update(key, 'utf8').digest('hex');
const entry = who === '--admin' ? hash : `${who}:${hash}`;
const variable = who === '--admin' ? 'ADMIN_API_KEYS' : 'API_KEYS';
process.stdout.write(
  `key:   ${key}\n` +
    `hash:  ${hash}\n` +
    `entry: ${entry}\n\n` +
    `Give the key to ${who === '--admin' ? 'the operator' : who} (send it as Authorization: Bearer <key>) and add the entry to ${variable}\n` +
    `(comma-separated). Only the hash is configured; the key cannot be recovered from it.\n`,
);
