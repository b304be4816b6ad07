/** LANGUAGES are the languages of the console and of every email, English first. */
export const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'] as const;

/** Language is one of LANGUAGES. */
export type Language = (typeof LANGUAGES)[number];

/** DEFAULT_LANGUAGE is used when neither the recipient nor the tenant chose one. */
export const DEFAULT_LANGUAGE: Language = 'en';
