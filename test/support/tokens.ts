const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * lookAlikeTokens are tampered spellings of a base64url token that Node's decoder reads as the
 * same bytes: a character added to the end (ignored when the length is a multiple of 4), and the
 * last character changed in its unused low bits. A sealed link must refuse every one of them.
 */
export function lookAlikeTokens(token: string): string[] {
  const bytes = Buffer.from(token, 'base64url');
  const changedLast = BASE64URL.split('')
    .filter((c) => c !== token.at(-1))
    .map((c) => `${token.slice(0, -1)}${c}`)
    .filter((t) => Buffer.from(t, 'base64url').equals(bytes));
  return [`${token}A`, `${token}x`, ...changedLast];
}
