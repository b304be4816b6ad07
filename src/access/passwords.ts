import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * hashPassword returns an argon2id PHC string for a console password, hashed in Unicode's composed
 * form (NFC, as RFC 8265 and NIST SP 800-63B ask): an accent typed as its own combining character
 * (a decomposed keyboard, a pasted text, a script's file) is the same password.
 */
export function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFC'), ARGON2_OPTIONS);
}

/**
 * verifyPassword checks a password against a stored hash; a malformed hash simply fails. The typed
 * password is tried composed (NFC, as hashPassword hashes it), then as typed and decomposed (NFD): a
 * hash stored before passwords were composed is of the text as it was typed then.
 */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  for (const form of new Set([password.normalize('NFC'), password, password.normalize('NFD')])) {
    if (await verifiesAs(storedHash, form)) return true;
  }
  return false;
}

/** verifiesAs checks one form of the typed password against `storedHash`; a malformed hash (verify throws) is a mismatch, not an error. */
async function verifiesAs(storedHash: string, password: string): Promise<boolean> {
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}
