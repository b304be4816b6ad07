// Shortening user text (an alert's message) for a label or a title.

/** graphemes splits a text into the characters a reader sees: an emoji, a flag, a letter with its accents. */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * shortened is at most the first `max` characters of a text as a reader counts them, cut between two
 * of them: a cut at `max` UTF-16 code units split an emoji into a lone surrogate (shown as �, read as
 * nothing or as "replacement character") and a flag or a family of joined emoji into other emoji.
 * @param {string} text @param {number} max
 */
export function shortened(text, max) {
  if (text.length <= max) return text;
  let end = 0;
  let count = 0;
  for (const { index, segment } of graphemes.segment(text)) {
    if (++count > max) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}
