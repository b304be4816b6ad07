/** LANGUAGES are the languages of the console and of every email, English first. */
export const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'] as const;

/** Language is one of LANGUAGES. */
export type Language = (typeof LANGUAGES)[number];

/** DEFAULT_LANGUAGE is used when neither the recipient nor the tenant chose one. */
export const DEFAULT_LANGUAGE: Language = 'en';

/**
 * preferredLanguage is the most wanted of a browser's Accept-Language tags (`fr-CH, fr;q=0.9, en;q=0.8`)
 * that Tocsin speaks, else DEFAULT_LANGUAGE: for pages shown to someone nothing else is known of.
 * Tags of equal weight keep the header's order (browsers list them most wanted first); a tag of
 * weight 0 is one the reader does not want (RFC 9110 §12.4.2), so it is never chosen.
 */
export function preferredLanguage(header: string | undefined): Language {
  const tags = (header ?? '').split(',').map((part) => {
    const [tag = '', ...params] = part.split(';');
    const q = params.map((p) => /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)?.[1]).find((v) => v !== undefined);
    return { primary: tag.trim().split('-')[0]!.toLowerCase(), weight: q === undefined ? 1 : Number(q) };
  });
  // Array.prototype.sort is stable: equal weights stay in the header's order.
  for (const { primary, weight } of tags.sort((a, b) => b.weight - a.weight)) {
    if (weight > 0 && (LANGUAGES as readonly string[]).includes(primary)) return primary as Language;
  }
  return DEFAULT_LANGUAGE;
}
