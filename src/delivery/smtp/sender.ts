import {
  type Mailbox,
  type MailSender,
  type OutgoingEmail,
  type PendingEmail,
  type SendOptions,
  type SendReceipt,
  type SmtpEndpoint,
  SmtpDeliveryError,
} from '../contract.js';
import { type Clock, systemClock } from '../../shared/clock.js';
import { bindMessageIds } from '../message-id.js';
import { asciiAddress, prepareMime, writeMime } from './mime.js';
import { SessionPool } from './pool.js';
import { type Envelope, SmtpSession } from './session.js';
import { createTranscript } from './transcript.js';
import { endpointSecrets, poolKey, samePoolSettings } from './transport-options.js';

// CR, LF, NUL and the Unicode line breaks some parsers honour: one in a header value is an injection.
const HEADER_BREAKING = /[\r\n\0\u0085\u2028\u2029]/;

/** TranscribedSmtpError is a failed send that also carries the dialogue (Test Mail Settings). */
export class TranscribedSmtpError extends SmtpDeliveryError {
  constructor(
    cause: SmtpDeliveryError,
    readonly transcript: readonly string[],
  ) {
    super(cause.message, cause.stage, cause.retryable, cause.code, cause.response);
  }
}

/** MailSenderOptions tune the pools; the defaults suit production. */
export interface MailSenderOptions {
  /** Connections per endpoint (default 5). */
  readonly maxConnections?: number;
  /** Close an endpoint's pool after this long without a send (default 4 minutes). */
  readonly idleMs?: number;
  /**
   * Keep one connection of each endpoint used in this window open and logged in (SessionPool's `warm`), so a lone
   * email after a quiet spell skips connect, EHLO, STARTTLS and AUTH; the pool then closes this long
   * after its last send instead of after `idleMs` (default 0: connections open for sends only).
   */
  readonly warmMs?: number;
  /**
   * The time a message's Date header says: the time the process keeps (the database's on PostgreSQL,
   * storage/database-clock.ts), not its machine's, so that a worker on a machine an hour off does not
   * date its emails an hour apart from the others' and from the delivery log (default: the machine's).
   */
  readonly clock?: Clock;
}

interface Pool {
  readonly key: string;
  /** The endpoint the pool was opened for (its settings are the key's). */
  readonly endpoint: SmtpEndpoint;
  readonly sessions: SessionPool;
  lastUsed: number;
}

/**
 * assertEnvelopeSafe refuses addresses and names that could start a new command or header line:
 * they are the envelope's (MAIL FROM, RCPT TO) and the From and To headers'.
 */
function assertEnvelopeSafe(endpoint: SmtpEndpoint, to: Mailbox): void {
  assertNoBreaks([
    ['To', to.address],
    ['To name', to.name],
    ['From', endpoint.fromAddress],
    ['From name', endpoint.fromDisplayName],
  ]);
}

/** assertHeaderSafe refuses a message whose header values could start a new header line. */
function assertHeaderSafe(endpoint: SmtpEndpoint, email: OutgoingEmail): void {
  assertEnvelopeSafe(endpoint, email.to);
  assertNoBreaks([
    ['Subject', email.subject],
    ['Message-ID', email.messageId],
    ...Object.entries(email.headers).flatMap(([name, value]): [string, string][] => [
      ['header name', name],
      [name, value],
    ]),
  ]);
}

function assertNoBreaks(values: readonly [string, string | undefined][]): void {
  for (const [name, value] of values) {
    if (value !== undefined && HEADER_BREAKING.test(value)) {
      throw new SmtpDeliveryError(`${name} contains a line break or NUL; the message was not sent`, 'data', false);
    }
  }
}

/**
 * messageOf writes the message's bytes (mime.ts): the email's prepared MIME with this recipient's
 * values spliced in or, for an email rendered without one, its MIME prepared now.
 */
function messageOf(endpoint: SmtpEndpoint, email: OutgoingEmail, now: number): Buffer {
  const from = { name: endpoint.fromDisplayName, address: endpoint.fromAddress };
  return writeMime(email.prepared?.template ?? prepareMime(email), {
    from,
    to: email.to,
    messageId: email.messageId,
    date: new Date(now),
    values: email.prepared?.values,
  });
}

function envelopeOf(endpoint: SmtpEndpoint, to: Mailbox): Envelope {
  return { from: asciiAddress(endpoint.fromAddress), to: [asciiAddress(to.address)] };
}

/** CONNECTIONS_PER_ENDPOINT is how many SMTP connections a worker opens to one server at most. */
export const CONNECTIONS_PER_ENDPOINT = 10;

/** testCalledOff is the failure a Test Mail Settings still under way answers when Tocsin stops. */
export function testCalledOff(): SmtpDeliveryError {
  return new SmtpDeliveryError('Tocsin is stopping: the test was called off. Try again once it is back.', 'connect', true);
}

/** testCalledOffAfterMessage is what a Test Mail Settings answers when Tocsin stops while the server takes its message. */
function testCalledOffAfterMessage(): SmtpDeliveryError {
  return new SmtpDeliveryError(
    'Tocsin is stopping: the test was called off while the server was taking the message, before it answered: the email may still arrive.',
    'data',
    true,
  );
}

/**
 * createMailSender returns the MailSender of the delivery path: one SessionPool per distinct
 * endpoint (keyed by a hash of its settings), closed when idle and on `close()`. A send resolves
 * only on the server's 2xx after DATA; every failure is an SmtpDeliveryError. Asking for a
 * transcript (Test Mail Settings) uses a session of its own, so the dialogue is that send's alone,
 * and one that asks early whether a silent port expects implicit TLS: a person is waiting.
 */
export function createMailSender(options: MailSenderOptions = {}): MailSender {
  const warmMs = options.warmMs ?? 0;
  const clock = options.clock ?? systemClock;
  const idleMs = Math.max(options.idleMs ?? 4 * 60_000, warmMs);
  const pools = new Map<string, Pool>();
  // The pool of the last send (poolFor): whose settings the next endpoint object is compared with.
  let lastPool: Pool | undefined;
  // Aborted by close (the sender then takes no more sends), with what a transcribed send still under
  // way answers: a person waiting on Test Mail Settings hears that Tocsin is stopping, and the stop
  // does not wait for the timeout.
  const closing = new AbortController();

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, pool] of pools) {
        if (pool.sessions.inFlight === 0 && now - pool.lastUsed >= idleMs) {
          pools.delete(key);
          pool.sessions.close();
          // Nothing keeps a closed pool's endpoint, secrets and all.
          if (lastPool === pool) lastPool = undefined;
        }
      }
    },
    Math.max(50, Math.floor(idleMs / 2)),
  );
  sweep.unref();

  // Endpoints are immutable and handed over again for every email of a claim: their pool's key, a
  // hash of every setting, is computed once per endpoint object. A claim of one row (a Fatal alert's
  // email, leased at its commit) brings a new object each time, with the same settings as the pool
  // used last as a rule: compared with that pool's, they need no hash (rv74a, bench/hot-paths.md).
  const keys = new WeakMap<SmtpEndpoint, string>();
  const keyOf = (endpoint: SmtpEndpoint): string => {
    let key = keys.get(endpoint);
    if (key === undefined) {
      key = lastPool && samePoolSettings(lastPool.endpoint, endpoint) ? lastPool.key : poolKey(endpoint);
      keys.set(endpoint, key);
    }
    return key;
  };
  const poolFor = (endpoint: SmtpEndpoint): Pool => {
    const key = keyOf(endpoint);
    let pool = pools.get(key);
    if (!pool) {
      const sessions = new SessionPool(endpoint, { maxConnections: options.maxConnections ?? 5, maxMessages: 100, warm: warmMs > 0 });
      pool = { key, endpoint, sessions, lastUsed: Date.now() };
      pools.set(key, pool);
    }
    lastPool = pool;
    return pool;
  };

  const sendPooled = async (endpoint: SmtpEndpoint, email: OutgoingEmail | PendingEmail, options: SendOptions): Promise<SendReceipt> => {
    const pool = poolFor(endpoint);
    pool.lastUsed = Date.now();
    let messageId: string | undefined;
    const written = (ready: OutgoingEmail) => {
      assertHeaderSafe(endpoint, ready);
      messageId = ready.messageId;
      return messageOf(endpoint, ready, clock.now());
    };
    try {
      const message = 'rendering' in email ? email.rendering.then(written) : written(email);
      const response = await pool.sessions.send(envelopeOf(endpoint, email.to), message, options);
      return { messageId: bindMessageIds(messageId!, endpoint.fromAddress), response };
    } finally {
      pool.lastUsed = Date.now();
    }
  };

  const sendTranscribed = async (endpoint: SmtpEndpoint, email: OutgoingEmail): Promise<SendReceipt> => {
    const transcript = createTranscript(endpointSecrets(endpoint));
    let session: SmtpSession | undefined;
    const end = () => session?.close();
    closing.signal.addEventListener('abort', end, { once: true });
    try {
      session = await SmtpSession.open(endpoint, transcript.logger, { probeEarly: true, signal: closing.signal });
      const response = await session.send(envelopeOf(endpoint, email.to), messageOf(endpoint, email, clock.now()));
      return { messageId: bindMessageIds(email.messageId, endpoint.fromAddress), response, transcript: transcript.lines() };
    } catch (err) {
      // Called off once the message went out, the email may still arrive: "try again" would send a second one.
      const calledOff = session?.messageSent ? testCalledOffAfterMessage() : closing.signal.reason;
      throw new TranscribedSmtpError(closing.signal.aborted ? calledOff : (err as SmtpDeliveryError), transcript.lines());
    } finally {
      closing.signal.removeEventListener('abort', end);
      session?.quit();
    }
  };

  return {
    async send(endpoint, email, sendOptions = {}) {
      // A send refused before its render is read (closed, an unsafe address) leaves the render's failure to its owner, not unhandled.
      if ('rendering' in email) email.rendering.catch(() => {});
      if (closing.signal.aborted) throw new SmtpDeliveryError('the mail sender is closed', 'connect', true);
      assertEnvelopeSafe(endpoint, email.to);
      if (!sendOptions.transcript) return sendPooled(endpoint, email, sendOptions);
      // A transcript is one send's whole dialogue (Test Mail Settings): the render comes first.
      const ready = 'rendering' in email ? await email.rendering : email;
      assertHeaderSafe(endpoint, ready);
      return sendTranscribed(endpoint, ready);
    },
    warm(endpoint) {
      if (closing.signal.aborted || warmMs <= 0) return;
      poolFor(endpoint).lastUsed = Date.now();
    },
    async close() {
      closing.abort(testCalledOff());
      clearInterval(sweep);
      for (const pool of pools.values()) pool.sessions.close();
      pools.clear();
      lastPool = undefined;
    },
  };
}
