/**
 * IPv4/IPv6 parsing and CIDR membership for the `cidr` operator and for exact
 * string values that are IP addresses (EventBridge compares those as addresses,
 * so "2001:db8::1" equals "2001:0db8:0:0:0:0:0:1").
 *
 * An address is held as eight 16-bit groups. IPv4 uses groups 6 and 7 with
 * `v4 = true`, so both families share one comparison routine. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) count as IPv4, as Java's InetAddress (used by
 * EventBridge's matcher, aws/event-ruler) reads them.
 */

export interface IpAddress {
  v4: boolean;
  groups: Uint16Array;
}

export interface Cidr {
  v4: boolean;
  /** Network groups with host bits cleared. */
  network: Uint16Array;
  /** Prefix length within the family (0-32 for IPv4, 0-128 for IPv6). */
  bits: number;
}

// Reused by the hot path so that matching an event allocates nothing.
const scratch: IpAddress = { v4: false, groups: new Uint16Array(8) };

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses dotted-quad text between start and end into groups[6..7]; false if it is not one. */
function parseV4Into(s: string, start: number, end: number, groups: Uint16Array): boolean {
  let octet = 0;
  let digits = 0;
  let part = 0;
  let hi = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46; // a virtual '.' closes the last octet
    if (isDigit(c)) {
      octet = octet * 10 + (c - 48);
      digits++;
      if (digits > 3 || octet > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return false;
      if (part === 0) hi = octet << 8;
      else if (part === 1) groups[6] = hi | octet;
      else if (part === 2) hi = octet << 8;
      else groups[7] = hi | octet;
      part++;
      octet = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** Parses IPv6 text (with optional '::' and trailing dotted quad) into groups. */
function parseV6Into(s: string, groups: Uint16Array): boolean {
  const len = s.length;
  if (len < 2) return false;
  let count = 0; // groups written so far
  let gap = -1; // index in groups where '::' sits
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === len) {
      groups.fill(0);
      return true;
    }
  }
  while (i < len) {
    if (count === 8) return false;
    // A dotted quad may close the address and fills the last two groups.
    let j = i;
    let value = 0;
    let hexDigits = 0;
    while (j < len) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      value = (value << 4) | h;
      hexDigits++;
      j++;
    }
    if (j < len && s.charCodeAt(j) === 46) {
      if (count > 6) return false;
      if (!parseV4Into(s, i, len, groups)) return false;
      // parseV4Into wrote groups 6/7; move them to where this address has them.
      const a = groups[6]!;
      const b = groups[7]!;
      groups[count] = a;
      groups[count + 1] = b;
      count += 2;
      i = len;
      break;
    }
    if (hexDigits === 0 || hexDigits > 4) return false;
    groups[count++] = value;
    if (j === len) {
      i = len;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < len && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = count;
      j++;
    } else if (j === len) {
      return false; // a single trailing ':'
    }
    i = j;
  }
  if (gap < 0) return count === 8;
  if (count === 8) return false; // '::' must stand for at least one group
  const tail = count - gap;
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  return true;
}

function isV4Mapped(groups: Uint16Array): boolean {
  for (let k = 0; k < 5; k++) if (groups[k] !== 0) return false;
  return groups[5] === 0xffff;
}

/** Parses into `out`; returns false when `s` is no IP address. */
function parseIpInto(s: string, out: IpAddress): boolean {
  if (s.length < 2 || s.length > 45) return false;
  if (s.indexOf(':') < 0) {
    out.v4 = true;
    return parseV4Into(s, 0, s.length, out.groups);
  }
  if (!parseV6Into(s, out.groups)) return false;
  out.v4 = isV4Mapped(out.groups);
  return true;
}

/** Parses an address into a fresh object (for compile time), or undefined. */
export function parseIp(s: string): IpAddress | undefined {
  const out: IpAddress = { v4: false, groups: new Uint16Array(8) };
  return parseIpInto(s, out) ? out : undefined;
}

/** A canonical text form, so that equal addresses written differently compare equal. */
export function ipKey(ip: IpAddress): string {
  // IPv4 uses only the last two groups; the others may hold a mapped-address prefix.
  const groups = ip.v4 ? ip.groups.subarray(6) : ip.groups;
  return `${ip.v4 ? 4 : 6}:${Array.from(groups, (g) => g.toString(16)).join(':')}`;
}

/** The canonical key of `s` if it is an IP address (allocates; only used on a slow path). */
export function ipKeyOf(s: string): string | undefined {
  return parseIpInto(s, scratch) ? ipKey(scratch) : undefined;
}

/** Parses "addr/bits"; undefined when malformed. Host bits are cleared, not rejected. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > (ip.v4 ? 32 : 128)) return undefined;
  const network = new Uint16Array(ip.groups);
  const start = ip.v4 ? 96 : 0; // IPv4 lives in the last 32 of the 128 bits
  clearHostBits(network, start + bits);
  return { v4: ip.v4, network, bits };
}

function clearHostBits(groups: Uint16Array, keep: number): void {
  for (let g = 0; g < 8; g++) {
    const from = g * 16;
    if (keep >= from + 16) continue;
    const kept = Math.max(0, keep - from);
    groups[g] = kept === 0 ? 0 : groups[g]! & ((0xffff << (16 - kept)) & 0xffff);
  }
}

function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  if (ip.v4 !== cidr.v4) return false;
  let remaining = cidr.bits;
  let g = ip.v4 ? 6 : 0;
  while (remaining > 0) {
    const take = Math.min(remaining, 16);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((ip.groups[g]! & mask) !== cidr.network[g]) return false;
    remaining -= take;
    g++;
  }
  return true;
}

/** True when the string `s` is an IP address inside `cidr`. */
export function stringInCidr(s: string, cidr: Cidr): boolean {
  return parseIpInto(s, scratch) && inCidr(scratch, cidr);
}
