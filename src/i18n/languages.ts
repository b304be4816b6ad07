/** LANGUAGES are the languages of the console and of every email, English first. */
export const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'] as const;

/** Language is one of LANGUAGES. */
export type Language = (typeof LANGUAGES)[number];

/** DEFAULT_LANGUAGE is used when neither the recipient nor the tenant chose one. */
export const DEFAULT_LANGUAGE: Language = 'en';

/**
 * preferredLanguage is the first of a browser's Accept-Language tags (`fr-CH, fr;q=0.9, en;q=0.8`)
 * that Tocsin speaks, else DEFAULT_LANGUAGE: for pages shown to someone nothing else is known of.
 * Browsers list their tags most wanted first, so their order is trusted over their weights.
 */
export function preferredLanguage(header: string | undefined): Language {
  for (const tag of (header ?? '').split(',')) {
    const primary = tag.trim().split(/[-;]/)[0]!.toLowerCase();
    if ((LANGUAGES as readonly string[]).includes(primary)) return primary as Language;
  }
  return DEFAULT_LANGUAGE;
}
