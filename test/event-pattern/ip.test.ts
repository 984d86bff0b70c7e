import { describe, expect, it } from 'vitest';
import { ipKeyOf, parseCidr, parseIp, stringInCidr } from '../../layers/event-pattern/ip';

describe('IP parsing', () => {
  it.each([
    ['0.0.0.0', '4:0:0'],
    ['255.255.255.255', '4:ffff:ffff'],
    ['10.0.0.33', '4:a00:21'],
    ['::', '6:0:0:0:0:0:0:0:0'],
    ['::1', '6:0:0:0:0:0:0:0:1'],
    ['1::', '6:1:0:0:0:0:0:0:0'],
    ['2001:db8::8a2e:370:7334', '6:2001:db8:0:0:0:8a2e:370:7334'],
    ['2001:0DB8:0000:0000:0000:8A2E:0370:7334', '6:2001:db8:0:0:0:8a2e:370:7334'],
    ['1:2:3:4:5:6:7::', '6:1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '6:0:2:3:4:5:6:7:8'],
    ['64:ff9b::192.0.2.33', '6:64:ff9b:0:0:0:0:c000:221'],
    ['::ffff:192.0.2.33', '4:c000:221'],
  ])('reads %s', (text, key) => {
    expect(ipKeyOf(text)).toBe(key);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '1.2.3.-1',
    '1..2.3',
    '1.2.3.4 ',
    'a.b.c.d',
    ':',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    '12345::',
    '1:2:3:4:5:6:7:8::',
    'fe80::1%eth0',
    '::1.2.3',
    '1:',
    'AWS Internal',
    'ssm.amazonaws.com',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe('CIDR', () => {
  it('clears host bits and checks prefixes of any length', () => {
    expect(parseCidr('10.1.2.3/8')?.network.subarray(6)).toEqual(new Uint16Array([0x0a00, 0]));
    expect(stringInCidr('10.255.255.255', parseCidr('10.1.2.3/8')!)).toBe(true);
    expect(stringInCidr('11.0.0.0', parseCidr('10.0.0.0/8')!)).toBe(false);
    expect(stringInCidr('192.168.1.129', parseCidr('192.168.1.128/25')!)).toBe(true);
    expect(stringInCidr('192.168.1.127', parseCidr('192.168.1.128/25')!)).toBe(false);
    expect(stringInCidr('203.0.113.7', parseCidr('203.0.113.7/32')!)).toBe(true);
    expect(stringInCidr('203.0.113.8', parseCidr('203.0.113.7/32')!)).toBe(false);
    expect(stringInCidr('8.8.8.8', parseCidr('0.0.0.0/0')!)).toBe(true);
  });

  it('keeps the families apart', () => {
    expect(stringInCidr('::1', parseCidr('0.0.0.0/0')!)).toBe(false);
    expect(stringInCidr('10.0.0.1', parseCidr('::/0')!)).toBe(false);
    expect(stringInCidr('2001:db8:1:2::', parseCidr('2001:db8::/32')!)).toBe(true);
    expect(stringInCidr('2001:db8:8000::', parseCidr('2001:db8::/33')!)).toBe(false);
    expect(stringInCidr('2001:db8:7fff::', parseCidr('2001:db8::/33')!)).toBe(true);
    expect(stringInCidr('fe80::1', parseCidr('fe80::/10')!)).toBe(true);
    expect(stringInCidr('fec0::1', parseCidr('fe80::/10')!)).toBe(false);
  });

  it.each(['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/8/8', 'x/8'])(
    'rejects %j',
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
});
