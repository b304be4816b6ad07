/** OWN_HEADERS are the headers Tocsin writes (mime.ts, headers.ts); any other name in a message was injected. */
export const OWN_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'subject',
  'message-id',
  'date',
  'mime-version',
  'content-type',
  'x-tocsin-kind',
  'x-tocsin-tenant',
  'auto-submitted',
  'x-auto-response-suppress',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'in-reply-to',
  'references',
]);

/** headerNames lists the names of a raw message's headers, folded lines joined to theirs. */
export function headerNames(raw: string): string[] {
  const head = raw.split('\r\n\r\n', 1)[0]!;
  return head
    .split('\r\n')
    .filter((line) => !/^[ \t]/.test(line))
    .map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
}

/** longestLine is the length in octets of a raw message's longest line (RFC 5322 allows 998). */
export function longestLine(raw: string): number {
  return Math.max(...raw.split('\r\n').map((line) => Buffer.byteLength(line)));
}
