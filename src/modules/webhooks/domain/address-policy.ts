import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook must not reach (server-side request forgery): this host, private
 * networks, link-local (where cloud metadata services answer, 169.254.169.254), carrier-grade
 * NAT (Alibaba's metadata 100.100.100.200), multicast and reserved ranges, in IPv4 and IPv6.
 */
const forbidden = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv6');
}

/** What a refused address is, for messages. */
export const FORBIDDEN_ADDRESS = 'a loopback, private, link-local, metadata or reserved address';

/** Whether `address` (an IP literal) must not be reached; anything that is not an IP address is refused too. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 one.
  const mapped = family === 6 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  if (mapped) return isForbiddenAddress(mapped);
  return forbidden.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** What a URL may be, from the settings. */
export interface AddressPolicy {
  /** http:// accepted (WEBHOOK_ALLOW_HTTP). */
  allowHttp: boolean;
  /** Any address accepted (WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/** Why the URL's form is refused (scheme, credentials, host), or undefined; addresses are checked after resolution. */
export function urlFormProblem(raw: string, policy: AddressPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return policy.allowHttp ? 'only http:// and https:// URLs are accepted' : 'only https:// URLs are accepted (WEBHOOK_ALLOW_HTTP allows http:// for development)';
  }
  if (url.username || url.password) return 'a URL with credentials is not accepted';
  if (!url.hostname) return 'the URL has no host';
  return undefined;
}

/** The host of a URL as a resolver or an IP check wants it (no IPv6 brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}
