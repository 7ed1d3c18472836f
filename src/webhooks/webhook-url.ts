import dns, { type LookupAddress, type LookupAllOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** Longest URL a merchant may register: beyond this it is abuse, not an endpoint. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Resolves every address of a hostname (the shape of dns.promises.lookup with `all: true`); tests pass a fake. */
export type LookupAll = (hostname: string, options: LookupAllOptions) => Promise<LookupAddress[]>;

/** The syntax rules of a webhook URL; whether its host resolves somewhere allowed is decided at delivery time (resolveAllowed). */
export function checkWebhookUrl(raw: string): { url: URL } | { error: string } {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { error: `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'url is not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'url must use http or https' };
  // Credentials in a URL end up in logs and delivery records; merchants authenticate us by the signature instead.
  if (url.username !== '' || url.password !== '') return { error: 'url must not contain a username or password' };
  if (url.hostname === '') return { error: 'url must have a hostname' };
  return { url };
}

/**
 * Where a webhook must never be delivered: the machine itself, the private networks behind it and the cloud metadata
 * service (169.254.169.254, fd00:ec2::254), which would turn a merchant-chosen URL into a server-side request forgery.
 */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network": 0.0.0.0 connects to the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, including the metadata service
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1, -2, -3)
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, including the broadcast 255.255.255.255
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated): ::127.0.0.1 reaches 127.0.0.1
  ['64:ff9b::', 96], // NAT64: reaches any IPv4 host behind the gateway, the metadata service included
  ['64:ff9b:1::', 48], // local-use NAT64
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['fc00::', 7], // unique local, including fd00:ec2::254
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv6');
}

const IPV4_MAPPED = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i;

/** URL.hostname keeps the brackets of an IPv6 literal ([::1]); addresses are compared without them. */
function withoutBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The IPv4 address inside ::ffff:a.b.c.d (or its hex form ::ffff:7f00:1, which URL produces), if it is one. */
function mappedIPv4(ipv6: string): string | undefined {
  const match = IPV4_MAPPED.exec(ipv6);
  if (!match) return undefined;
  if (match[1] !== undefined) return match[1];
  const [high, low] = [parseInt(match[2], 16), parseInt(match[3], 16)];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** True when a webhook must not connect to this address. Anything that is not an IP address is refused too: fail closed. */
export function isForbiddenAddress(ip: string): boolean {
  const address = withoutBrackets(ip);
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family !== 6) return true;
  // Checked as IPv4 explicitly: a mapped address reaches the IPv4 host it embeds.
  const embedded = mappedIPv4(address);
  if (embedded !== undefined) return isIP(embedded) !== 4 || FORBIDDEN.check(embedded, 'ipv4');
  return FORBIDDEN.check(address, 'ipv6');
}

/**
 * Every address the hostname resolves to, refused as a whole when any of them is forbidden (unless allowPrivate, for local
 * development): a name with one public and one private address could otherwise be connected to the private one.
 */
export async function resolveAllowed(hostname: string, allowPrivate: boolean, lookup: LookupAll = dns.promises.lookup): Promise<{ address: string; family: number }[]> {
  const literal = withoutBrackets(hostname);
  const literalFamily = isIP(literal);
  const addresses = literalFamily !== 0 ? [{ address: literal, family: literalFamily }] : await lookup(hostname, { all: true, verbatim: true });
  if (addresses.length === 0) throw new Error(`webhook host ${hostname} resolves to no address`);
  if (!allowPrivate) {
    const refused = addresses.find(({ address }) => isForbiddenAddress(address));
    if (refused) {
      const where = literalFamily !== 0 ? `webhook address ${refused.address}` : `webhook host ${hostname} resolves to ${refused.address}, which`;
      throw new Error(`${where} is refused: private, loopback, link-local or reserved`);
    }
  }
  return addresses.map(({ address, family }) => ({ address, family }));
}
