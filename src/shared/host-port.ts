/**
 * hostAndPort writes a server as a URL does: an IPv6 address in brackets (`[2001:db8::25]:587`),
 * where `2001:db8::25:587` would not say where the address ends and the port begins.
 */
export function hostAndPort(host: string, port: number): string {
  // One already in brackets (HOST=[::1], as README allows, read by `tocsin raise`) keeps them: `[[::1]]` is no URL.
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}
