import { describe, expect, it } from '@jest/globals';
import type { LookupAddress, LookupAllOptions } from 'node:dns';
import { checkWebhookUrl, isForbiddenAddress, resolveAllowed, type LookupAll } from './webhook-url.js';

/** A DNS that answers from a table and records what it was asked. */
function fakeDns(answers: Record<string, LookupAddress[]>) {
  const asked: { hostname: string; options: LookupAllOptions }[] = [];
  const lookup: LookupAll = async (hostname, options) => {
    asked.push({ hostname, options });
    const found = answers[hostname];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found;
  };
  return { lookup, asked };
}

describe('checkWebhookUrl', () => {
  it.each(['https://merchant.example/webhooks', 'http://merchant.example:8080/hooks?shop=1', 'https://[2606:4700::1111]/hook', 'https://93.184.216.34/hook'])('should accept %s', (raw) => {
    const result = checkWebhookUrl(raw);
    expect('url' in result && result.url.href).toBe(new URL(raw).href);
  });

  it.each([
    ['merchant.example/webhooks', 'url is not a valid absolute URL'],
    ['', 'url is not a valid absolute URL'],
    ['http://', 'url is not a valid absolute URL'],
    ['ftp://merchant.example/hook', 'url must use http or https'],
    ['file:///etc/passwd', 'url must use http or https'],
    ['javascript:alert(1)', 'url must use http or https'],
    ['ws://merchant.example/hook', 'url must use http or https'],
    ['https://user@merchant.example/hook', 'url must not contain a username or password'],
    ['https://user:secret@merchant.example/hook', 'url must not contain a username or password'],
    ['https://:secret@merchant.example/hook', 'url must not contain a username or password'],
  ])('should refuse %p: %s', (raw, error) => {
    expect(checkWebhookUrl(raw)).toEqual({ error });
  });

  it('should allow 2048 characters and refuse 2049', () => {
    const base = 'https://merchant.example/';
    expect('url' in checkWebhookUrl(base + 'a'.repeat(2048 - base.length))).toBe(true);
    expect(checkWebhookUrl(base + 'a'.repeat(2049 - base.length))).toEqual({ error: 'url must be at most 2048 characters' });
  });
});

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'IPv6 loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'unique local'],
    ['fd12:3456:789a::1', 'unique local'],
    ['fd00:ec2::254', 'AWS IPv6 metadata'],
    ['169.254.169.254', 'cloud metadata'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'IPv6 link-local'],
    ['febf:ffff::1', 'IPv6 link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['0.0.0.0', 'this network'],
    ['0.1.2.3', 'this network'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata, hex form'],
    ['::FFFF:10.0.0.1', 'IPv4-mapped private, upper case'],
    ['[::1]', 'bracketed loopback'],
    ['not-an-ip', 'not an address'],
    ['', 'empty'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of 169.254.169.254'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['::7f00:1', 'IPv4-compatible ::127.0.0.1'],
    ['2002:7f00:1::1', '6to4 of 127.0.0.1'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
  ])('should forbid %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.255.255',
    '223.255.255.255',
    '11.0.0.1',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    'fbff::1',
    'fec0::1',
    '::ffff:93.184.216.34',
    '::ffff:5db8:d822',
    '[2606:4700::1111]',
  ])('should allow %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('resolveAllowed', () => {
  it('should resolve every address, verbatim, and return them when all are public', async () => {
    const dns = fakeDns({ 'merchant.example': [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }] });
    await expect(resolveAllowed('merchant.example', false, dns.lookup)).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700::1111', family: 6 },
    ]);
    expect(dns.asked).toEqual([{ hostname: 'merchant.example', options: { all: true, verbatim: true } }]);
  });

  it('should refuse a name when any one of its addresses is forbidden, and say which', async () => {
    const dns = fakeDns({ 'rebind.example': [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }] });
    await expect(resolveAllowed('rebind.example', false, dns.lookup)).rejects.toThrow('webhook host rebind.example resolves to 169.254.169.254, which is refused');
  });

  it('should return private addresses when allowPrivate', async () => {
    const dns = fakeDns({ localhost: [{ address: '127.0.0.1', family: 4 }] });
    await expect(resolveAllowed('localhost', true, dns.lookup)).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('should check an IP literal without asking DNS, brackets included', async () => {
    const dns = fakeDns({});
    await expect(resolveAllowed('[::1]', false, dns.lookup)).rejects.toThrow('webhook address ::1 is refused');
    await expect(resolveAllowed('127.0.0.1', false, dns.lookup)).rejects.toThrow('webhook address 127.0.0.1 is refused');
    await expect(resolveAllowed('[::ffff:7f00:1]', false, dns.lookup)).rejects.toThrow('webhook address ::ffff:7f00:1 is refused');
    await expect(resolveAllowed('[2606:4700::1111]', false, dns.lookup)).resolves.toEqual([{ address: '2606:4700::1111', family: 6 }]);
    await expect(resolveAllowed('[::1]', true, dns.lookup)).resolves.toEqual([{ address: '::1', family: 6 }]);
    expect(dns.asked).toEqual([]);
  });

  it('should pass a DNS failure on, and refuse a name with no address', async () => {
    await expect(resolveAllowed('nowhere.example', false, fakeDns({}).lookup)).rejects.toThrow('ENOTFOUND nowhere.example');
    await expect(resolveAllowed('empty.example', true, fakeDns({ 'empty.example': [] }).lookup)).rejects.toThrow('resolves to no address');
  });
});
