import { domainToASCII } from 'node:url';
import { withoutBidiControls } from '../../shared/bidi.js';
import { printable } from '../../shared/printable.js';
import { pooledRandomBytes } from '../../shared/ids.js';
import { type Mailbox, type RenderedEmail, SmtpDeliveryError } from '../contract.js';
import { bindMessageIds, holdsUnboundMessageId } from '../message-id.js';

/**
 * The send stage's MIME: every email leaves as bytes this module writes (multipart/alternative,
 * a quoted-printable text part and HTML part, RFC 2047 headers), handed to nodemailer as a `raw`
 * message so that nodemailer keeps only the SMTP dialogue. A message is prepared once
 * (`prepareMime`: headers encoded, bodies encoded) and written per recipient (`writeMime`): the
 * per-send headers (From, To, Message-ID, Date) and the values of its slots are spliced between
 * the prepared bytes. That is how the recipients of one alert share one encoding.
 *
 * Splicing keeps every line within bounds: each prepared piece of a body ends with a soft line
 * break (`=` CRLF), and each spliced value is encoded on lines of its own, so a value of any
 * length starts and ends at a line boundary and no line exceeds 76 characters.
 */

/** SlotValue is what fills one slot: its plain form (text part, headers) and its HTML form (already escaped). */
export interface SlotValue {
  readonly text: string;
  readonly html: string;
}

type Part = 'header' | 'text' | 'html';
/**
 * A piece of a prepared message: encoded bytes, or the index of a slot and the part it sits in, or
 * a header line holding Message-IDs (threading) whose domain is the From address's of each send.
 */
type Piece = Buffer | { readonly slot: number; readonly part: Part } | { readonly messageIds: string };

/** MimeTemplate is a message prepared by prepareMime: written per recipient by writeMime. */
export interface MimeTemplate {
  /** How many slots the message has; writeMime takes one value for each. */
  readonly slots: number;
  /** The headers after the per-send ones, then the body. */
  readonly pieces: readonly Piece[];
}

/** PreparedMime is a prepared message and one recipient's values for its slots. */
export interface PreparedMime {
  readonly template: MimeTemplate;
  readonly values: readonly SlotValue[];
}

const CRLF = '\r\n';
// Printable ASCII only: anything else in a header needs an encoded word.
const PRINTABLE = /^[\x20-\x7e]*$/;
// Printable ASCII that no mail program would decode: "=?" may start what reads as an encoded word
// (RFC 2047), which would show text other than the value, so such a value is encoded itself.
const AS_WRITTEN = /^(?:[\x20-\x3c\x3e-\x7e]|=(?!\?))*$/;
// An atom-safe display name needs no quoting: RFC 5322 atoms with one space between them (a run of
// spaces between atoms means one space, so a name holding one, or starting or ending with a space, is quoted).
const ATOM_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
// A spliced header value: printable ASCII without spaces (a URL), so that it never needs folding or encoding.
const HEADER_SLOT_VALUE = /^[\x21-\x7e]{0,900}$/;

const HEX = Buffer.from('0123456789ABCDEF');
// The bytes quoted-printable writes as themselves anywhere on a line: printable ASCII but "=".
const PLAIN = new Uint8Array(256).map((_, b) => (b >= 0x21 && b <= 0x7e && b !== 0x3d ? 1 : 0));

function isLineEnd(bytes: Buffer, i: number): boolean {
  return bytes[i] === 0x0a || (bytes[i] === 0x0d && bytes[i + 1] === 0x0a);
}

/**
 * quotedPrintable encodes text as quoted-printable lines (RFC 2045) of at most 76 characters,
 * with CRLF line breaks. A `final` piece ends the part; any other ends with a soft line break, so
 * that what follows it starts a line of its own (see the module comment). A dot at the start of
 * a line is encoded too, so no line is ever a lone "." whatever the transport does.
 */
export function quotedPrintable(text: string, final: boolean): Buffer {
  // A text of up to SCRATCH_CHARS is encoded in scratch buffers and copied out at its exact size:
  // allocating the worst case for each piece made a worker's Buffers three times what it sent.
  const scratch = text.length <= SCRATCH_CHARS;
  const bytes = scratch ? SCRATCH_IN.subarray(0, SCRATCH_IN.write(text, 'utf8')) : Buffer.from(text, 'utf8');
  const n = bytes.length;
  if (n === 0) return Buffer.alloc(0);
  const out = scratch ? SCRATCH_OUT : Buffer.allocUnsafe(worstCase(n));
  let o = 0;
  let column = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    // Most bytes of an email: written as they are, with room left on the line (a dot never starts
    // one, a space never ends one). Nested tests rather than one expression: V8 runs this loop
    // about a third faster so (a 15 KB HTML part: 160 -> 100 us).
    if (column < 75) {
      if (PLAIN[b] === 1) {
        if (column !== 0 || b !== 0x2e) {
          out[o++] = b;
          column++;
          continue;
        }
      } else if (b === 0x20 && i + 1 < n) {
        const next = bytes[i + 1];
        if (next !== 0x0a && next !== 0x0d) {
          out[o++] = b;
          column++;
          continue;
        }
      }
    }
    if (b === 0x0a || (b === 0x0d && bytes[i + 1] === 0x0a)) {
      if (b === 0x0d) i++;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      column = 0;
      continue;
    }
    // Spaces and tabs stay as they are unless they would end a line, where transports may strip them.
    const blank = b === 0x20 || b === 0x09;
    let literal = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || (blank && !(i + 1 === n ? final : isLineEnd(bytes, i + 1)));
    if (b === 0x2e && column === 0) literal = false;
    let width = literal ? 1 : 3;
    // A character's UTF-8 bytes stay on one line (its lead byte, 0xC0 and above, reserves room for
    // all of them): decoders that read each line's bytes as text would show it broken otherwise.
    const room = b >= 0xc0 ? 3 * utf8Length(b) : width;
    if (column + room > 75) {
      out[o++] = 0x3d;
      out[o++] = 0x0d;
      out[o++] = 0x0a;
      column = 0;
      if (b === 0x2e) {
        literal = false;
        width = 3;
      }
    }
    if (literal) out[o++] = b;
    else {
      out[o++] = 0x3d;
      out[o++] = HEX[b >> 4]!;
      out[o++] = HEX[b & 0x0f]!;
    }
    column += width;
  }
  if (!final) {
    out[o++] = 0x3d;
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  return scratch ? Buffer.from(out.subarray(0, o)) : out.subarray(0, o);
}

/** utf8Length is how many bytes the UTF-8 character starting with lead byte `b` (0xC0 and above) has. */
function utf8Length(b: number): number {
  return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
}

/**
 * worstCase bounds the quoted-printable of n bytes: every byte escaped (3), a soft break (3) every
 * 21 of them (a line is broken only past column 63, where a 4-byte character's 12 columns no longer
 * fit, so it holds at least 22 bytes), and the end.
 */
function worstCase(n: number): number {
  return n * 3 + Math.ceil(n / 21) * 3 + 3;
}

// The scratch space of quotedPrintable (synchronous, so one per process is enough): a UTF-16 code
// unit is at most 3 bytes of UTF-8, so a text of SCRATCH_CHARS always fits.
const SCRATCH_CHARS = 32 * 1024;
const SCRATCH_IN = Buffer.allocUnsafeSlow(SCRATCH_CHARS * 3);
const SCRATCH_OUT = Buffer.allocUnsafeSlow(worstCase(SCRATCH_IN.length));

// RFC 2047, section 2: a header line holding an encoded word is at most 76 characters long.
const ENCODED_LINE_MAX = 76;
// What an encoded word adds around its base64: "=?UTF-8?B?" and "?=".
const ENCODED_WORD_FRAME = '=?UTF-8?B??='.length;

/** encodedWordBytes is how many bytes of text one encoded word carries on a line already holding `used` characters. */
function encodedWordBytes(used: number): number {
  // Base64 writes each 3 bytes as 4 characters.
  return Math.floor((ENCODED_LINE_MAX - used - ENCODED_WORD_FRAME) / 4) * 3;
}

/**
 * encodedWords writes text as RFC 2047 UTF-8 "B" encoded words, each line at most 76 characters:
 * the first after the `firstLineUsed` characters before it (the header's name), the others on
 * folded lines of their own.
 */
function encodedWords(text: string, firstLineUsed: number): string {
  const words: string[] = [];
  let budget = encodedWordBytes(firstLineUsed);
  let chunk = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > budget && chunk) {
      words.push(chunk);
      chunk = '';
      bytes = 0;
      // A folded line starts with one space.
      budget = encodedWordBytes(1);
    }
    chunk += char;
    bytes += size;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}

/**
 * foldAscii folds a printable ASCII header at spaces so that lines keep to 78 characters where it
 * can. In a run of spaces it folds at the last one: a fold inside the run made lines of spaces
 * alone, obsolete syntax (RFC 5322 4.2) that some parsers read as the blank line ending the
 * header, and those that unfold a line break with the blanks after it into one space keep the run.
 */
function foldAscii(line: string): string {
  if (line.length <= 78) return line;
  const out: string[] = [];
  let rest = line;
  while (rest.length > 78) {
    let at = -1;
    for (let i = 78; i > 0 && at < 0; i--) if (rest[i] === ' ' && rest[i + 1] !== ' ') at = i;
    // No such space within 78 characters: the first one after them, for as short a line as can be.
    if (at < 0) {
      const later = rest.slice(79).search(/ [^ ]/);
      if (later < 0) break;
      at = later + 79;
    }
    out.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  out.push(rest);
  return out.join(CRLF);
}

function assertHeaderValue(name: string, value: string): void {
  if (/[\r\n\0\u0085\u2028\u2029]/.test(value) || !/^[!-9;-~]+$/.test(name)) {
    throw new SmtpDeliveryError(`${name} contains a line break or NUL; the message was not sent`, 'data', false);
  }
}

/** headerLine is one whole header, folded and encoded as its value needs. */
function headerLine(name: string, value: string): string {
  assertHeaderValue(name, value);
  return AS_WRITTEN.test(value) ? foldAscii(`${name}: ${value}`) : `${name}: ${encodedWords(value, name.length + 2)}`;
}

/** asciiAddress writes an address's domain in punycode, as SMTP and headers without SMTPUTF8 need it. */
export function asciiAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0 || PRINTABLE.test(address)) return address;
  return `${address.slice(0, at)}@${domainToASCII(address.slice(at + 1)) || address.slice(at + 1)}`;
}

/**
 * mailboxHeader writes an address with its display name: as is, quoted, or encoded, as the name
 * needs; without bidirectional controls, as the subject is written (a mail client lists the name
 * beside other text, which an override left open in it would turn backwards), and any other
 * control shown as its visible symbol (printable), as the email's greeting shows the name.
 */
function mailboxHeader(name: string, mailbox: Mailbox): string {
  const address = asciiAddress(mailbox.address);
  assertHeaderValue(name, address);
  const display = mailbox.name && printable(withoutBidiControls(mailbox.name));
  if (!display) return `${name}: ${address}`;
  assertHeaderValue(name, display);
  if (!AS_WRITTEN.test(display)) {
    const encoded = `${name}: ${encodedWords(display, name.length + 2)}`;
    // The address follows on the last encoded word's line while that stays within 76 characters.
    const fold = encoded.lastIndexOf(CRLF);
    const lastLine = fold < 0 ? encoded : encoded.slice(fold + CRLF.length);
    return lastLine.length + address.length + 3 <= ENCODED_LINE_MAX ? `${encoded} <${address}>` : `${encoded}${CRLF} <${address}>`;
  }
  if (ATOM_PHRASE.test(display)) return foldAscii(`${name}: ${display} <${address}>`);
  return foldAscii(`${name}: "${display.replace(/[\\"]/g, '\\$&')}" <${address}>`);
}

/** dateHeader is an RFC 5322 date in UTC, e.g. `Mon, 30 Nov 2026 01:53:03 +0000`. */
function dateHeader(at: Date): string {
  return at.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * splitBySlots cuts text at each slot marker: the pieces between them and the slot found at each
 * cut. Each marker is looked for with indexOf (a native search) rather than all of them with one
 * alternation, which V8 tried at every position of a 15 KB HTML part; where two would overlap, the
 * first found wins, and at one position the first marker, as the alternation chose.
 */
function splitBySlots(text: string, markers: readonly string[]): { between: string[]; slots: number[] } {
  const found: { at: number; slot: number }[] = [];
  markers.forEach((marker, slot) => {
    for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + marker.length)) found.push({ at, slot });
  });
  found.sort((a, b) => a.at - b.at || a.slot - b.slot);
  const between: string[] = [];
  const slots: number[] = [];
  let last = 0;
  for (const { at, slot } of found) {
    if (at < last) continue;
    between.push(text.slice(last, at));
    slots.push(slot);
    last = at + markers[slot]!.length;
  }
  between.push(text.slice(last));
  return { between, slots };
}

/**
 * prepareMime encodes an email once: its subject and headers, and both bodies, leaving a slot
 * wherever one of `markers` (letters and digits, unique, as the renderer placed them) occurs. A
 * slot may sit in a body or in a printable ASCII header (a link in List-Unsubscribe), not in the
 * subject.
 */
export function prepareMime(email: RenderedEmail, markers: readonly string[] = []): MimeTemplate {
  const pieces: Piece[] = [];
  let pending = '';
  const flush = () => {
    if (pending) pieces.push(Buffer.from(pending, 'utf8'));
    pending = '';
  };
  const slotted = (text: string, part: Part, encode: (piece: string, final: boolean) => Buffer | string) => {
    const { between, slots } = splitBySlots(text, markers);
    between.forEach((piece, i) => {
      const last = i === between.length - 1;
      const encoded = encode(piece, last);
      if (typeof encoded === 'string') pending += encoded;
      else {
        flush();
        if (encoded.length > 0) pieces.push(encoded);
      }
      if (!last) {
        flush();
        pieces.push({ slot: slots[i]!, part });
      }
    });
  };

  const holdsSlot = (text: string) => markers.some((m) => text.includes(m));
  if (holdsSlot(email.subject)) throw new Error('a subject cannot hold a slot');
  pending += `${headerLine('Subject', email.subject)}${CRLF}`;
  for (const [name, value] of Object.entries(email.headers)) {
    if (holdsUnboundMessageId(value) && !holdsSlot(value)) {
      flush();
      pieces.push({ messageIds: `${headerLine(name, value)}${CRLF}` });
      continue;
    }
    if (!holdsSlot(value)) {
      pending += `${headerLine(name, value)}${CRLF}`;
      continue;
    }
    assertHeaderValue(name, value);
    if (!PRINTABLE.test(value)) throw new Error(`header ${name} holds a slot and is not printable ASCII`);
    pending += `${name}: `;
    slotted(value, 'header', (piece) => piece);
    pending += CRLF;
  }
  const boundary = `----tocsin-${pooledRandomBytes(12).toString('hex')}`;
  pending += `MIME-Version: 1.0${CRLF}Content-Type: multipart/alternative;${CRLF} boundary="${boundary}"${CRLF}${CRLF}`;
  const part = (type: string) => `--${boundary}${CRLF}Content-Type: ${type}; charset=utf-8${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}`;
  pending += part('text/plain');
  slotted(email.text, 'text', quotedPrintable);
  pending += `${CRLF}${part('text/html')}`;
  slotted(email.html, 'html', quotedPrintable);
  pending += `${CRLF}--${boundary}--${CRLF}`;
  flush();
  return { slots: markers.length, pieces };
}

/** PerSend is what differs on every email written from one template. */
export interface PerSend {
  readonly from: Mailbox;
  readonly to: Mailbox;
  readonly messageId: string;
  readonly date: Date;
  readonly values?: readonly SlotValue[] | undefined;
}

/** writeMime writes one email from a template: the per-send headers, then the prepared pieces with the slots filled. */
export function writeMime(template: MimeTemplate, send: PerSend): Buffer {
  const values = send.values ?? [];
  if (values.length !== template.slots) throw new Error(`the template has ${template.slots} slots, ${values.length} values were given`);
  assertHeaderValue('Message-ID', send.messageId);
  const messageId = bindMessageIds(send.messageId, send.from.address);
  const head = [mailboxHeader('From', send.from), mailboxHeader('To', send.to), `Message-ID: ${messageId}`, `Date: ${dateHeader(send.date)}`, ''].join(CRLF);
  const buffers: Buffer[] = [Buffer.from(head, 'utf8')];
  for (const piece of template.pieces) {
    if (Buffer.isBuffer(piece)) {
      buffers.push(piece);
      continue;
    }
    if ('messageIds' in piece) {
      buffers.push(Buffer.from(bindMessageIds(piece.messageIds, send.from.address), 'latin1'));
      continue;
    }
    const value = values[piece.slot]!;
    if (piece.part === 'header') {
      if (!HEADER_SLOT_VALUE.test(value.text))
        throw new SmtpDeliveryError('a header value is not a printable ASCII word; the message was not sent', 'data', false);
      buffers.push(Buffer.from(value.text, 'latin1'));
    } else {
      buffers.push(quotedPrintable(piece.part === 'html' ? value.html : value.text, false));
    }
  }
  return Buffer.concat(buffers);
}
