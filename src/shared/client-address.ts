import { isIP } from 'node:net';

/**
 * clientAddressKey is what a per-address limit counts a client by. An IPv4 client is its address;
 * an IPv6 client is its /64, since one host is handed a whole /64 (SLAAC, privacy addresses) and
 * could try from a new address each time; an IPv4-mapped IPv6 address (what a dual-stack listener
 * sees of an IPv4 client) is that IPv4 address, counted with the same client's plain IPv4 requests.
 * Anything else (no address known) is kept as it is.
 */
export function clientAddressKey(address: string): string {
  const zoneless = address.split('%', 1)[0]!;
  if (isIP(zoneless) !== 6) return address;
  const groups = ipv6Groups(zoneless);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  // The first four groups, lower-case without leading zeros, their trailing zeros in the `::`: one text per /64.
  const prefix = groups.slice(0, 4);
  while (prefix.length > 0 && prefix[prefix.length - 1] === 0) prefix.pop();
  return `${prefix.map((g) => g.toString(16)).join(':')}::/64`;
}

/** ipv6Groups reads a valid IPv6 address (isIP) as its eight 16-bit groups, an embedded IPv4 tail included. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const read = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = read(head);
  if (tail === undefined) return left;
  const right = read(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
