/**
 * A fast SMTP sink for the benchmarks. It greets at once, as Postfix does (nodemailer's
 * smtp-server waits 100 ms before its greeting, which would hide every difference for a client
 * that opens one connection per email, as Alertmanager does), accepts every message, and counts
 * messages and Message-IDs so a run can prove it lost and duplicated nothing.
 */
import net from 'node:net';
import tls from 'node:tls';

/** SinkMessage is one accepted message: its Message-ID (null when it has none) and when the 250 was sent. */
export interface SinkMessage {
  readonly messageId: string | null;
  /** monotonicNow's milliseconds, sub-millisecond precision, comparable across processes on one machine (not epoch time). */
  readonly acceptedAt: number;
  readonly bytes: number;
  /** The X-Tocsin-Kind header (`immediate`, `summary`…), null for other senders' mail. */
  readonly kind: string | null;
}

/** SinkStats sum up what a sink accepted since it started or was last reset. */
export interface SinkStats {
  readonly messages: number;
  readonly uniqueMessageIds: number;
  /** Messages whose Message-ID had been accepted before. */
  readonly duplicates: number;
  readonly withoutMessageId: number;
  /** The first and the last acceptance, on monotonicNow's clock. */
  readonly firstAcceptedAt: number | null;
  readonly lastAcceptedAt: number | null;
  readonly connections: number;
}

/** FastSinkOptions: a key and certificate make the sink offer STARTTLS. */
export interface FastSinkOptions {
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Called for every accepted message, after its 250 is written. */
  readonly onMessage?: (message: SinkMessage) => void;
  /**
   * Holds every reply (the greeting too) this long before writing it: a server one network link
   * away, each round trip costing this much more than on loopback (default 0).
   */
  readonly replyDelayMs?: number;
}

const TERMINATOR = Buffer.from('\r\n.\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * monotonicNow is milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, which
 * process.hrtime reads): one clock for every process of the machine, so that the benchmark and its
 * sink process compare their times. performance.timeOrigin + performance.now() is not: each
 * process's origin is the wall clock at its start, and a wall clock set or slewed between two
 * starts offsets one process's times from the other's (seen on this machine: a run's emails
 * accepted seconds "before" they fell due, and 5 ms of the wall clock's every second for minutes).
 */
export function monotonicNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * headerOf reads one header (any case, possibly folded) from a message's header block, or null
 * when there is none.
 */
export function headerOf(message: Buffer, name: string): string | null {
  let end = message.indexOf('\r\n\r\n');
  if (end < 0) end = message.length;
  const headers = message.toString('latin1', 0, end).replace(/\r\n[ \t]+/g, ' ');
  const match = new RegExp(`^${name}:[ \\t]*(\\S+)`, 'im').exec(headers);
  return match ? match[1]! : null;
}

/** messageIdOf reads the Message-ID header, or null when there is none. */
export function messageIdOf(message: Buffer): string | null {
  return headerOf(message, 'message-id');
}

/**
 * FastSink is the sink's server. Replies to pipelined commands are written together, and message
 * data is scanned for its terminator chunk by chunk, so the sink costs a client as little as it can.
 */
export class FastSink {
  readonly #server: net.Server;
  readonly #options: FastSinkOptions;
  readonly #secureContext: tls.SecureContext | undefined;
  readonly #seen = new Set<string>();
  readonly #sockets = new Set<net.Socket>();
  #stats = emptyStats();

  constructor(options: FastSinkOptions = {}) {
    this.#options = options;
    this.#secureContext = options.tls ? tls.createSecureContext(options.tls) : undefined;
    this.#server = net.createServer((socket) => this.#session(socket));
  }

  /** listen binds to loopback and returns the port (0 picks a free one). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as net.AddressInfo).port));
    });
  }

  /** stats is what was accepted since start or the last reset. */
  stats(): SinkStats {
    return { ...this.#stats, uniqueMessageIds: this.#seen.size };
  }

  /** reset forgets every message, so the next run counts from zero. */
  reset(): void {
    this.#seen.clear();
    this.#stats = emptyStats();
  }

  /** close stops listening and drops open connections. */
  close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(message: Buffer): void {
    const messageId = messageIdOf(message);
    const acceptedAt = monotonicNow();
    const s = this.#stats;
    s.messages++;
    if (messageId === null) s.withoutMessageId++;
    else if (this.#seen.has(messageId)) s.duplicates++;
    else this.#seen.add(messageId);
    s.firstAcceptedAt ??= acceptedAt;
    s.lastAcceptedAt = acceptedAt;
    this.#options.onMessage?.({ messageId, acceptedAt, bytes: message.length, kind: headerOf(message, 'x-tocsin-kind') });
  }

  #session(raw: net.Socket): void {
    this.#stats.connections++;
    let socket: net.Socket = raw;
    this.#sockets.add(raw);
    raw.setNoDelay(true);
    raw.on('close', () => this.#sockets.delete(raw));
    raw.on('error', () => raw.destroy());

    let pending: Buffer = Buffer.alloc(0);
    let inData = false;
    let dataChunks: Buffer[] = [];
    // The last bytes before a chunk, so a terminator split across chunks is still found.
    let tail = CRLF;
    let secure = false;

    const onData = (chunk: Buffer) => {
      const replies: string[] = [];
      let rest: Buffer = chunk;
      while (rest.length > 0) {
        if (inData) {
          const window = Buffer.concat([tail, rest]);
          const at = window.indexOf(TERMINATOR);
          if (at < 0) {
            dataChunks.push(rest);
            tail = window.subarray(Math.max(0, window.length - 4));
            rest = Buffer.alloc(0);
            continue;
          }
          // `at` counts from the start of `tail`; the message ends where the terminator's CRLF starts.
          const endInRest = at + 2 - tail.length;
          const all = Buffer.concat(dataChunks);
          const message = endInRest >= 0 ? Buffer.concat([all, rest.subarray(0, endInRest)]) : all.subarray(0, all.length + endInRest);
          rest = rest.subarray(at + TERMINATOR.length - tail.length);
          inData = false;
          dataChunks = [];
          tail = CRLF;
          this.#accept(message);
          replies.push('250 2.0.0 Ok: queued');
          continue;
        }
        const buffered: Buffer = pending.length > 0 ? Buffer.concat([pending, rest]) : rest;
        const eol = buffered.indexOf('\n');
        if (eol < 0) {
          pending = buffered;
          break;
        }
        pending = Buffer.alloc(0);
        const line = buffered.toString('latin1', 0, eol).replace(/\r$/, '');
        rest = buffered.subarray(eol + 1);
        const verb = line.slice(0, line.indexOf(' ') < 0 ? line.length : line.indexOf(' ')).toUpperCase();
        switch (verb) {
          case 'EHLO': {
            const offers = ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 52428800'];
            if (this.#secureContext && !secure) offers.push('STARTTLS');
            replies.push(['sink', ...offers].map((o, i, all) => `250${i === all.length - 1 ? ' ' : '-'}${o}`).join('\r\n'));
            break;
          }
          case 'HELO':
          case 'RSET':
          case 'NOOP':
            replies.push('250 2.0.0 Ok');
            break;
          case 'MAIL':
            replies.push('250 2.1.0 Ok');
            break;
          case 'RCPT':
            replies.push('250 2.1.5 Ok');
            break;
          case 'DATA':
            inData = true;
            replies.push('354 End data with <CR><LF>.<CR><LF>');
            break;
          case 'QUIT':
            socket.end(`${[...replies, '221 2.0.0 Bye'].join('\r\n')}\r\n`);
            return;
          case 'STARTTLS':
            if (!this.#secureContext || secure) {
              replies.push('502 5.5.1 Not offered');
              break;
            }
            socket.write(`${[...replies, '220 2.0.0 Ready to start TLS'].join('\r\n')}\r\n`);
            raw.removeListener('data', onData);
            socket = new tls.TLSSocket(raw, { isServer: true, secureContext: this.#secureContext });
            socket.on('error', () => raw.destroy());
            socket.on('data', onData);
            secure = true;
            pending = Buffer.alloc(0);
            return;
          default:
            replies.push('502 5.5.2 Command not recognized');
        }
      }
      if (replies.length > 0) reply(`${replies.join('\r\n')}\r\n`);
    };
    // Timers of one delay fire in the order they were set: replies keep their order.
    const delayMs = this.#options.replyDelayMs ?? 0;
    const reply = (text: string) => (delayMs > 0 ? setTimeout(() => socket.writable && socket.write(text), delayMs) : socket.write(text));

    raw.on('data', onData);
    reply('220 sink ESMTP ready\r\n');
  }
}

function emptyStats() {
  return {
    messages: 0,
    duplicates: 0,
    withoutMessageId: 0,
    firstAcceptedAt: null as number | null,
    lastAcceptedAt: null as number | null,
    connections: 0,
  };
}
