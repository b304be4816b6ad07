/** REDACTED replaces a secret in any text Tocsin stores or shows. */
export const REDACTED = '***';

/** Shorter secrets would blank out ordinary words; no real password or token is this short. */
const MIN_SECRET_LENGTH = 4;

/**
 * redactSecrets removes secrets from a server reply or error text before it is stored in the
 * delivery log: each secret as written, in base64, and the AUTH PLAIN blob (`\0user\0password`).
 * A server echoing a credential back must not put it on the console.
 */
export function redactSecrets(text: string, secrets: { username?: string | undefined; values: readonly (string | undefined)[] }): string {
  const forms = new Set<string>();
  for (const secret of secrets.values) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(Buffer.from(secret).toString('base64'));
    if (secrets.username !== undefined) {
      forms.add(Buffer.from(`\0${secrets.username}\0${secret}`).toString('base64'));
      forms.add(Buffer.from(`user=${secrets.username}\x01auth=Bearer ${secret}\x01\x01`).toString('base64'));
    }
  }
  let result = text;
  // Longest first, so a base64 form is not half-replaced through a shorter one it contains.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) result = result.split(form).join(REDACTED);
  return result;
}
