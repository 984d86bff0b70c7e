import { BlockList, isIP } from 'node:net';

/**
 * Address checks for the verdicts. Node's BlockList does the subnet arithmetic
 * (no hand-written CIDR parsing). Offline there is no ASN or geolocation data, so
 * "distant networks" are approximated by /16 (IPv4) and /32 (IPv6) prefixes: two
 * addresses of one ISP pool, one office or one cloud region usually share a /16,
 * and two that do not are at least two networks.
 */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/**
 * CloudTrail's sourceIPAddress for a call an AWS service made on the caller's
 * behalf: a service host (`cloudformation.amazonaws.com`) or `AWS Internal`, never
 * an address.
 */
export function isServiceAddress(sourceIp: string): boolean {
  return sourceIp !== '' && sourceIp !== '(none)' && isIP(sourceIp) === 0;
}

/** A routable address on the internet: not private, loopback, link-local, shared or multicast. */
export function isPublicAddress(sourceIp: string): boolean {
  const family = isIP(sourceIp);
  if (family === 4) return !NOT_PUBLIC.check(sourceIp, 'ipv4');
  if (family === 6) return !NOT_PUBLIC.check(sourceIp, 'ipv6');
  return false;
}

/** The network an address is judged by: its /16 (IPv4) or /32 (IPv6), as text; undefined for a non-address. */
export function networkOf(sourceIp: string): string | undefined {
  const family = isIP(sourceIp);
  if (family === 4) {
    const [a, b] = sourceIp.split('.');
    return `${a}.${b}.0.0/16`;
  }
  if (family === 6) {
    const groups = expandIpv6(sourceIp);
    return `${groups[0]}:${groups[1]}::/32`;
  }
  return undefined;
}

function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = new Array(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...(tail === undefined ? [] : zeros), ...right].map((g) =>
    g.toLowerCase().replace(/^0+(?=.)/, ''),
  );
}
