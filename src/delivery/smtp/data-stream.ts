/**
 * The message stream of nodemailer's SMTPConnection (its DataStream) dot-stuffs the message and
 * turns bare CR and LF into CRLF, looking at every byte in JavaScript: about a tenth of a worker's
 * CPU for a 17 KB email, whose bytes smtp/mime.ts already writes with CRLF line ends only and no
 * line starting with a dot. speedUpDataStream lets such bytes through as they are, after a check
 * that runs in native code (Buffer#indexOf), and writes the final "." with the message's last
 * chunk, saving a socket write; anything else goes through nodemailer's own transform, so the
 * bytes on the wire are exactly what nodemailer would write (SMTP smuggling included).
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** What this module relies on in nodemailer's DataStream (smtp-connection/data-stream.js). */
interface DataStreamInternals {
  inByteCount: number;
  outByteCount: number;
  /** The last byte written before, or false at the start of the message. */
  lastByte: number | false;
  push(chunk: Buffer): boolean;
  _transform(chunk: unknown, encoding: BufferEncoding, done: (err?: Error | null) => void): void;
  _flush(done: (err?: Error | null) => void): void;
}

/**
 * needsNoEscaping is true when nodemailer's DataStream would write `chunk` unchanged after
 * `lastByte`: every LF is preceded by a CR, every CR is followed by an LF within the chunk, and
 * no line starts with a dot.
 */
export function needsNoEscaping(chunk: Buffer, lastByte: number | false): boolean {
  if (chunk.length === 0 || lastByte === CR || chunk[0] === LF || chunk[chunk.length - 1] === CR) return false;
  if (chunk[0] === DOT && (lastByte === false || lastByte === LF)) return false;
  let lfs = 0;
  for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, at + 1)) {
    if (chunk[at - 1] !== CR || chunk[at + 1] === DOT) return false;
    lfs++;
  }
  // Each LF follows a CR, so as many CRs as LFs means none is bare.
  let crs = 0;
  for (let at = chunk.indexOf(CR); at !== -1; at = chunk.indexOf(CR, at + 1)) crs++;
  return crs === lfs;
}

/** The end of the data after a message's last byte, as DataStream writes it. */
function terminator(lastByte: number | false): Buffer {
  return Buffer.from(lastByte === LF ? '.\r\n' : lastByte === CR ? '\n.\r\n' : '\r\n.\r\n');
}

/**
 * MayEnd is asked just before a message's final "." is written: false means the message must not
 * be delivered (its sender has ended the connection), so the "." is not written.
 */
export type MayEnd = () => boolean;

/**
 * speedUpDataStream gives one of nodemailer's DataStreams the fast path described above, keeping
 * its counters (the connection logs and returns them) and its output byte for byte. `mayEnd`, when
 * given, is asked before the final "." on either path.
 */
export function speedUpDataStream<T extends object>(stream: T, mayEnd?: MayEnd): T {
  const s = stream as T & DataStreamInternals;
  const transform = s._transform;
  const flush = s._flush;
  // A chunk let through is held until the next one or the end, so the last goes out with the ".".
  let held: Buffer | undefined;
  const release = () => {
    if (held) s.push(held);
    held = undefined;
  };
  s._transform = (chunk, encoding, done) => {
    release();
    if (!Buffer.isBuffer(chunk) || !needsNoEscaping(chunk, s.lastByte)) return transform.call(s, chunk, encoding, done);
    s.inByteCount += chunk.length;
    s.outByteCount += chunk.length;
    s.lastByte = chunk[chunk.length - 1]!;
    held = chunk;
    done();
  };
  s._flush = (done) => {
    if (mayEnd && !mayEnd()) {
      held = undefined;
      return done();
    }
    if (!held) return flush.call(s, done);
    const end = terminator(s.lastByte);
    s.outByteCount += end.length;
    s.push(Buffer.concat([held, end]));
    held = undefined;
    done();
  };
  return stream;
}

/**
 * withFastDataStream makes every message stream of one SMTPConnection take the fast path (it
 * wraps the connection's `_createSendStream`, which makes a DataStream per message), each asking
 * `mayEnd` before its final ".". A nodemailer without that method keeps its own streams as they are.
 */
export function withFastDataStream<T extends object>(connection: T, mayEnd?: MayEnd): T {
  const c = connection as T & { _createSendStream?: (callback: unknown) => object };
  const create = c._createSendStream;
  if (typeof create === 'function') c._createSendStream = (callback) => speedUpDataStream(create.call(c, callback), mayEnd);
  return connection;
}
