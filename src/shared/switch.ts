/**
 * SWITCH_WORDS are how a switch may be written, in any case: a template writing a YAML boolean into
 * the environment gives `False` or `TRUE`, and operators write `yes` and `1` as readily as `true`.
 */
export const SWITCH_WORDS = ['true', 'false', '1', '0', 'yes', 'no'] as const;

/** switchValue reads a switch written as one of SWITCH_WORDS, in any case; undefined for anything else. */
export function switchValue(text: string): boolean | undefined {
  const word = text.toLowerCase();
  if (!(SWITCH_WORDS as readonly string[]).includes(word)) return undefined;
  return word === 'true' || word === '1' || word === 'yes';
}
