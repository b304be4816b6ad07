// Explicit bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): one left
// open in a name reorders everything after it on its line, so a robot's "\u202egnp.exe" turned the
// subject's own "(Robot: R1)" backwards. Without them, text keeps its letters' natural direction.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
const BIDI_CONTROL_RUNS = new RegExp(`${BIDI_CONTROLS.source}+`);

/** withoutBidiControls drops the explicit bidirectional controls (BIDI_CONTROLS) from text shown inline with other text. */
export function withoutBidiControls(value: string): string {
  return value.replace(BIDI_CONTROLS, '');
}

/**
 * withoutBidiControlsOrTheirGap is withoutBidiControls for text shown as it was written (a mail
 * server's reply): a control that stood between two spaces leaves one space, not two, and one at
 * either end of the text none; every other space is left as it was.
 */
export function withoutBidiControlsOrTheirGap(value: string): string {
  const parts = value.split(BIDI_CONTROL_RUNS);
  const joined = parts.reduce((shown, part) => (shown === '' || /\s$/.test(shown) ? shown + part.replace(/^\s+/, '') : shown + part));
  return parts.length > 1 && parts.at(-1)!.trim() === '' ? joined.trimEnd() : joined;
}
