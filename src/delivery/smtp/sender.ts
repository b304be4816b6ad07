import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import { type MailSender, type OutgoingEmail, type SendReceipt, type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';
import { classifySmtpError } from './classify.js';
import { asciiAddress, prepareMime, writeMime } from './mime.js';
import { StageTracker } from './stage-tracker.js';
import { createTranscript } from './transcript.js';
import { poolKey, transportOptions } from './transport-options.js';
import { Warmth } from './warmth.js';

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
   * Keep one connection of each endpoint used in this window open and logged in (Warmth), so a lone
   * email after a quiet spell skips connect, EHLO, STARTTLS and AUTH; the pool then closes this long
   * after its last send instead of after `idleMs` (default 0: connections open for sends only).
   */
  readonly warmMs?: number;
}

interface Pool {
  readonly transporter: Transporter;
  readonly tracker: StageTracker;
  lastUsed: number;
  inFlight: number;
  warmth?: Warmth;
}

/** assertHeaderSafe refuses a message whose header values could start a new header line. */
export function assertHeaderSafe(endpoint: SmtpEndpoint, email: OutgoingEmail): void {
  const values: [string, string | undefined][] = [
    ['Subject', email.subject],
    ['To', email.to.address],
    ['To name', email.to.name],
    ['From', endpoint.fromAddress],
    ['From name', endpoint.fromDisplayName],
    ['Message-ID', email.messageId],
    ...Object.entries(email.headers).flatMap(([name, value]): [string, string][] => [
      ['header name', name],
      [name, value],
    ]),
  ];
  for (const [name, value] of values) {
    if (value !== undefined && HEADER_BREAKING.test(value)) {
      throw new SmtpDeliveryError(`${name} contains a line break or NUL; the message was not sent`, 'data', false);
    }
  }
}

/**
 * mailOptions hands nodemailer the message as bytes (mime.ts): the email's prepared MIME with this
 * recipient's values spliced in, or, for an email rendered without one, its MIME prepared now.
 * nodemailer then only runs the SMTP dialogue; the Message-ID given again is the one it logs
 * (the stage tracker follows it) and reports.
 */
function mailOptions(endpoint: SmtpEndpoint, email: OutgoingEmail): SendMailOptions {
  const from = { name: endpoint.fromDisplayName, address: endpoint.fromAddress };
  const raw = writeMime(email.prepared?.template ?? prepareMime(email), {
    from,
    to: email.to,
    messageId: email.messageId,
    date: new Date(),
    values: email.prepared?.values,
  });
  return {
    envelope: { from: asciiAddress(endpoint.fromAddress), to: [asciiAddress(email.to.address)] },
    raw,
    messageId: email.messageId,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

function receiptOf(email: OutgoingEmail, info: { response?: string }, transcript?: readonly string[]): SendReceipt {
  const response = String(info.response ?? '').trim();
  // nodemailer resolves only on the reply to the final "."; refuse anything else as done.
  if (!/^2\d\d/.test(response)) throw new SmtpDeliveryError(`unexpected reply after DATA: ${response}`, 'data', true, undefined, response);
  return { messageId: email.messageId, response, ...(transcript ? { transcript } : {}) };
}

/** CONNECTIONS_PER_ENDPOINT is how many SMTP connections a worker opens to one server at most. */
export const CONNECTIONS_PER_ENDPOINT = 10;

/**
 * createMailSender returns the MailSender of the delivery path: one nodemailer pool per distinct
 * endpoint (keyed by a hash of its settings), closed when idle and on `close()`. A send resolves
 * only on the server's 2xx after DATA; every failure is an SmtpDeliveryError. Asking for a
 * transcript uses a one-off connection, so the dialogue is that send's alone.
 */
export function createMailSender(options: MailSenderOptions = {}): MailSender {
  const warmMs = options.warmMs ?? 0;
  const idleMs = Math.max(options.idleMs ?? 4 * 60_000, warmMs);
  const pools = new Map<string, Pool>();
  let closed = false;

  const shut = (pool: Pool) => {
    pool.warmth?.stop();
    pool.transporter.close();
  };

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [key, pool] of pools) {
        if (pool.inFlight === 0 && now - pool.lastUsed >= idleMs) {
          pools.delete(key);
          shut(pool);
        }
      }
    },
    Math.max(50, Math.floor(idleMs / 2)),
  );
  sweep.unref();

  // Endpoints are immutable and handed over again for every email of a claim (or from the settings'
  // cache): their pool's key, a hash of every setting, is computed once per endpoint object.
  const keys = new WeakMap<SmtpEndpoint, string>();
  const poolFor = (endpoint: SmtpEndpoint): Pool => {
    let key = keys.get(endpoint);
    if (key === undefined) {
      key = poolKey(endpoint);
      keys.set(endpoint, key);
    }
    let pool = pools.get(key);
    if (!pool) {
      const tracker = new StageTracker();
      const transporter = nodemailer.createTransport({
        ...transportOptions(endpoint),
        pool: true,
        maxConnections: options.maxConnections ?? 5,
        maxMessages: 100,
        idleTimeout: idleMs,
        logger: tracker.logger,
        transactionLog: true,
      });
      pool = { transporter, tracker, lastUsed: Date.now(), inFlight: 0 };
      if (warmMs > 0) pool.warmth = new Warmth(transporter, endpoint.timeoutMs);
      pools.set(key, pool);
    }
    return pool;
  };

  const sendPooled = async (endpoint: SmtpEndpoint, email: OutgoingEmail) => {
    const pool = poolFor(endpoint);
    pool.inFlight += 1;
    pool.lastUsed = Date.now();
    try {
      // The warm connection is being opened or kept alive: it is free within a round trip.
      const warming = pool.warmth?.settled();
      if (warming) await warming;
      const info = await pool.transporter.sendMail(mailOptions(endpoint, email));
      pool.tracker.takeLastCommand(email.messageId);
      return receiptOf(email, info);
    } catch (err) {
      throw classifySmtpError(err, pool.tracker.takeLastCommand(email.messageId));
    } finally {
      pool.inFlight -= 1;
      pool.lastUsed = Date.now();
    }
  };

  const sendTranscribed = async (endpoint: SmtpEndpoint, email: OutgoingEmail) => {
    const transcript = createTranscript([endpoint.password, endpoint.accessToken]);
    const transporter = nodemailer.createTransport({ ...transportOptions(endpoint), logger: transcript.logger, transactionLog: true });
    try {
      const info = await transporter.sendMail(mailOptions(endpoint, email));
      return receiptOf(email, info, transcript.lines());
    } catch (err) {
      throw new TranscribedSmtpError(classifySmtpError(err, transcript.lastClientCommand()), transcript.lines());
    } finally {
      transporter.close();
    }
  };

  return {
    async send(endpoint, email, sendOptions = {}) {
      if (closed) throw new SmtpDeliveryError('the mail sender is closed', 'connect', true);
      assertHeaderSafe(endpoint, email);
      return sendOptions.transcript ? sendTranscribed(endpoint, email) : sendPooled(endpoint, email);
    },
    warm(endpoint) {
      if (closed || warmMs <= 0) return;
      poolFor(endpoint).lastUsed = Date.now();
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      for (const pool of pools.values()) shut(pool);
      pools.clear();
    },
  };
}
