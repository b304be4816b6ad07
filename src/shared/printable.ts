// The control characters but tab, line feed and carriage return (which the emails lay out): C0, DEL and C1.
const UNPRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;

/**
 * printable shows each control character of text (UNPRINTABLE) as a visible symbol: a C0 one or DEL
 * as its Unicode control picture (ESC as ␛), a C1 one as �. Raw, a robot's terminal escape
 * (ESC [31m) recoloured the terminal of a reader of the text part, and any of them made the HTML
 * part ill-formed (a parse error of the HTML standard, shown as nothing or a box).
 */
export function printable(value: string): string {
  return value.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : '\ufffd';
  });
}
