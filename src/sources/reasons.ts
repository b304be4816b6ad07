/**
 * A source's last error and its receptions' errors are recorded as Tocsin's English sentences,
 * which scripts read as they are (API.md's `stats.lastError`). reasonCode names each sentence by a
 * stable code beside it, so that the console can say it in the user's language: these are the
 * words receive.ts, signatures.ts and orchestratorStaleness write (`refused: ` + a verdict's reason
 * for a bad signature, the refusal's own words otherwise). A sentence that quotes words not ours
 * (a body's field errors, an upstream Orchestrator's answer) gets a code saying whose they are, and
 * is shown as it came.
 */
const REASONS: readonly (readonly [code: string, words: RegExp])[] = [
  ['signature-missing', /^refused: missing (X-UiPath-Signature|webhook-id, webhook-timestamp or webhook-signature)$/],
  ['signature-unreadable', /^refused: (X-UiPath-Signature is not a SHA-256 HMAC|webhook-signature has no v1 entry)/],
  ['signature-mismatch', /^refused: (X-UiPath-Signature|webhook-signature) does not match the secret$/],
  ['timestamp-unreadable', /^refused: webhook-timestamp is not Unix seconds$/],
  ['timestamp-stale', /^refused: (webhook-timestamp is more than 5 minutes away|(?:Timestamp|EventTime) \S+ is more than 5 minutes from now)$/],
  ['authorization-missing', /^refused: missing Authorization$/],
  ['authorization-unreadable', /^refused: Authorization is neither Bearer nor Basic/],
  ['authorization-mismatch', /^refused: Authorization does not carry the secret$/],
  ['over-rate', /^over its rate$/],
  ['storage-unavailable', /^(storage unavailable|the alerts could not be stored)$/],
  ['secret-unreadable', /^the (saved password or client secret|source's secret) no longer decrypts/],
  ['too-large', /^the body is over \d+ MB$/],
  ['too-large-inflated', /^the body is over \d+ MB once inflated$/],
  ['not-json', /^the body is not valid JSON$/],
  ['too-deep', /^too deep$/],
  ['nul-character', /^a NUL character$/],
  ['value-unstorable', /^a value cannot be stored$/],
];

/** PULL_KIND is the one kind whose other errors are an upstream's, not a request's body's. */
const PULL_KIND = 'orchestrator-pull';

/**
 * reasonCode is the code of a recorded error of a source of `kind`: one of REASONS, else `upstream`
 * (an orchestrator-pull source's: the upstream's or the connection's words) or `malformed` (a
 * request's body refused field by field), or null for no error.
 */
export function reasonCode(error: string | null, kind: string): string | null {
  if (error === null) return null;
  for (const [code, words] of REASONS) if (words.test(error)) return code;
  return kind === PULL_KIND ? 'upstream' : 'malformed';
}
