/** clip shortens text to at most `max` characters (never splitting a surrogate pair), ending in "…". */
export function clip(value: string, max: number): string {
  const chars = Array.from(value);
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/** oneLine folds every run of whitespace, line breaks included, into one space. */
export function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}
