/**
 * hostAndPort writes a server as a URL does: an IPv6 address in brackets (`[2001:db8::25]:587`),
 * where `2001:db8::25:587` would not say where the address ends and the port begins.
 */
export function hostAndPort(host: string, port: number): string {
  // One already in brackets (HOST=[::1], as README allows, read by `tocsin raise`) keeps them: `[[::1]]` is no URL.
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * sameHostName tells whether two host names name one host as DNS reads them: in any letter case,
 * a trailing root dot aside (an IPv6 address in brackets or not). Where a saved secret may go.
 */
export function sameHostName(a: string, b: string): boolean {
  const norm = (host: string) =>
    host
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '')
      .toLowerCase();
  return norm(a) === norm(b);
}
