import { describe, expect, it } from 'vitest';
import { clientAddressKey } from './client-address.js';

describe('clientAddressKey', () => {
  it('keys an IPv4 client by its address', () => {
    expect(clientAddressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(clientAddressKey('192.0.2.2')).not.toBe(clientAddressKey('192.0.2.1'));
  });

  it('keys an IPv6 client by its /64, whatever way the address is written', () => {
    // One host is handed a whole /64 (SLAAC, privacy addresses): it has 2^64 addresses to try from.
    const key = clientAddressKey('2001:db8:1:2::1');
    for (const address of ['2001:db8:1:2::ffff', '2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd', '2001:db8:1:2:0:0:0:7', '2001:db8:1:2::9%eth0']) {
      expect(clientAddressKey(address), address).toBe(key);
    }
    expect(key).toBe('2001:db8:1:2::/64');
    expect(clientAddressKey('2001:db8:1:3::1')).not.toBe(key);
    expect(clientAddressKey('::1')).toBe('::/64');
    expect(clientAddressKey('2001:db8::')).toBe('2001:db8::/64');
  });

  it('keys an IPv4-mapped IPv6 client (a dual-stack listener) as its IPv4 address', () => {
    expect(clientAddressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientAddressKey('::FFFF:c000:0201')).toBe('192.0.2.1');
    expect(clientAddressKey('0:0:0:0:0:ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('keeps anything that is no IP address as it is (a socket without one)', () => {
    expect(clientAddressKey('')).toBe('');
    expect(clientAddressKey('not an address')).toBe('not an address');
  });
});
