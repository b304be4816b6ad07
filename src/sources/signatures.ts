import crypto from 'node:crypto';

/**
 * MAX_TIMESTAMP_SKEW_MS is how far a sender's time (a Standard Webhooks timestamp, an Orchestrator
 * event's Timestamp) may be from now, either way: past it the request is stale, a 401 (API.md:
 * "stale timestamp (over 5 minutes)").
 */
export const MAX_TIMESTAMP_SKEW_MS = 5 * 60_000;

/**
 * STANDARD_WEBHOOK_TOLERANCE_SECONDS is MAX_TIMESTAMP_SKEW_MS in the header's own unit: compared
 * with the current whole second, as the reference library does, a timestamp 300 s before it is
 * taken whatever part of that second it arrives in.
 */
const STANDARD_WEBHOOK_TOLERANCE_SECONDS = MAX_TIMESTAMP_SKEW_MS / 1000;

/** Verdict is the outcome of a signature check: why it failed stays on our side (logs, lastError). */
export type Verdict = { ok: true } | { ok: false; reason: string };

const FAIL = (reason: string): Verdict => ({ ok: false, reason });
const OK: Verdict = { ok: true };

/** sameBytes compares two byte strings in constant time (for equal lengths; the length is not secret). */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

const hmac = (key: Buffer, ...parts: (string | Buffer)[]) => {
  const mac = crypto.createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
};

/**
 * decodeOrchestratorSignature reads `X-UiPath-Signature`: Base64 of the HMAC as Orchestrator's
 * documentation sample computes it, or `sha256=` + hex as UiPath's skills reference claims
 * (reference §1.3). As the reference proposes, the `sha256=` prefix (in any case) is optional
 * before either encoding, and a 64-digit value is read as hex.
 */
export function decodeOrchestratorSignature(header: string): Buffer | undefined {
  const value = header.trim().replace(/^sha256=/i, '');
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (!/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

/** verifyOrchestrator checks Orchestrator's signature of the raw body against each active key. */
export function verifyOrchestrator(raw: Buffer, header: string | undefined, keys: readonly Buffer[]): Verdict {
  if (!header) return FAIL('missing X-UiPath-Signature');
  const given = decodeOrchestratorSignature(header);
  if (!given) return FAIL('X-UiPath-Signature is not a SHA-256 HMAC in Base64 or sha256=hex');
  let match = false;
  for (const key of keys) match = sameBytes(hmac(key, raw), given) || match;
  return match ? OK : FAIL('X-UiPath-Signature does not match the secret');
}

/** StandardWebhookHeaders are the three headers of a Standard Webhooks request. */
export interface StandardWebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

/**
 * verifyStandardWebhook checks a Standard Webhooks request (spec v1.0.0): the timestamp within
 * ±5 minutes of now, and one `v1,<Base64>` entry of the space-separated signature list equal to
 * the HMAC-SHA256 of `id.timestamp.body` keyed with one of the active keys.
 */
export function verifyStandardWebhook(raw: Buffer, headers: StandardWebhookHeaders, keys: readonly Buffer[], nowMs: number): Verdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return FAIL('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d{1,15}$/.test(timestamp)) return FAIL('webhook-timestamp is not Unix seconds');
  if (Math.abs(Math.floor(nowMs / 1000) - Number(timestamp)) > STANDARD_WEBHOOK_TOLERANCE_SECONDS) return FAIL('webhook-timestamp is more than 5 minutes away');
  const given = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  if (given.length === 0) return FAIL('webhook-signature has no v1 entry');
  let match = false;
  for (const key of keys) {
    const expected = hmac(key, `${id}.${timestamp}.`, raw);
    for (const candidate of given) match = sameBytes(expected, candidate) || match;
  }
  return match ? OK : FAIL('webhook-signature does not match the secret');
}

/** signStandardWebhook gives the `v1,<Base64>` signature of a Standard Webhooks request. */
export function signStandardWebhook(key: Buffer, id: string, timestamp: string, raw: Buffer | string): string {
  return `v1,${hmac(key, `${id}.${timestamp}.`, raw).toString('base64')}`;
}

/** signOrchestrator gives Orchestrator's X-UiPath-Signature of a body. */
export function signOrchestrator(key: Buffer, raw: Buffer | string): string {
  return hmac(key, raw).toString('base64');
}

/** secretDigest is the SHA-256 of a bearer secret, what verifyBearerOrBasic compares (computed once per secret by a receiver). */
export const secretDigest = (value: string): Buffer => crypto.createHash('sha256').update(value, 'utf8').digest();

/**
 * verifyBearerOrBasic checks Alertmanager's `http_config`: `Authorization: Bearer <secret>`, or
 * Basic with the secret as the password (any user name). Compared as SHA-256 digests (secretDigest
 * of each active secret), so neither the content nor the length of the secret shows in the timing.
 */
export function verifyBearerOrBasic(authorization: string | undefined, secretDigests: readonly Buffer[]): Verdict {
  if (!authorization) return FAIL('missing Authorization');
  const [scheme, value = ''] = authorization.trim().split(/\s+/, 2);
  let presented: string | undefined;
  if (/^bearer$/i.test(scheme ?? '')) presented = value;
  else if (/^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    presented = colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  if (!presented) return FAIL('Authorization is neither Bearer nor Basic with a password');
  const given = secretDigest(presented);
  let match = false;
  for (const expected of secretDigests) match = sameBytes(expected, given) || match;
  return match ? OK : FAIL('Authorization does not carry the secret');
}
