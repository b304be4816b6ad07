import type net from 'node:net';
import { PassThrough } from 'node:stream';
import { domainToUnicode } from 'node:url';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { ExternalLogger } from 'nodemailer/lib/shared';
import { SendCalledOffError, SmtpDeliveryError, type SmtpEndpoint } from '../contract.js';
import { classifySmtpError } from './classify.js';
import { withFastDataStream } from './data-stream.js';
import { type ImplicitTlsWatch, explainSilentGreeting, watchForImplicitTls } from './tls-probe.js';
import { connectionOptions, loginOf, noPasswordError } from './transport-options.js';

/** Envelope is who the server is told the message is from and for (MAIL FROM, RCPT TO). */
export interface Envelope {
  readonly from: string;
  readonly to: readonly string[];
}

const COMMAND_VERB = /^\s*(MAIL FROM|RCPT TO|[A-Z]+)/i;
// Anything beyond ASCII: left in an address once its domain is punycode (asciiAddress), a user part of RFC 6531.
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * unsendableAddress is the refusal of an envelope whose address has a non-ASCII user part when the server
 * does not offer SMTPUTF8: sent anyway, it would be raw UTF-8 in MAIL FROM or RCPT TO and in the headers,
 * which such a server never agreed to take (one refuses it with a bare 553, a lenient one passes it on
 * for the next hop to mangle or bounce). No attempt can succeed until the server or the address changes.
 */
function unsendableAddress(envelope: Envelope, extensions: readonly string[]): SmtpDeliveryError | undefined {
  if (extensions.includes('SMTPUTF8')) return undefined;
  const sender = NON_ASCII.test(envelope.from);
  const address = sender ? envelope.from : envelope.to.find((to) => NON_ASCII.test(to));
  if (address === undefined) return undefined;
  const at = address.lastIndexOf('@');
  const written = at < 0 ? address : `${address.slice(0, at)}@${domainToUnicode(address.slice(at + 1)) || address.slice(at + 1)}`;
  return new SmtpDeliveryError(
    `the server does not offer SMTPUTF8 (RFC 6531), so it cannot take the address ${written}, whose user part is not ASCII: ask its administrators to enable SMTPUTF8, or give the ${sender ? 'sender' : 'recipient'} an ASCII address`,
    sender ? 'sender' : 'recipient',
    false,
  );
}

/**
 * SmtpSession is one SMTP connection of nodemailer's SMTPConnection, opened as the endpoint says
 * (implicit TLS or required STARTTLS, certificates verified) and logged in, that sends prepared
 * messages one after the other. It speaks to the connection directly rather than through
 * nodemailer's transports: those rebuild a message object, a stream and a queue entry for bytes
 * that are already final, which cost more CPU than the SMTP dialogue itself. nodemailer still runs
 * the dialogue (dot-stuffing, replies, timeouts) and its errors keep the server's code and text;
 * a message already fit for the wire skips its dot-stuffing loop (data-stream.ts).
 *
 * Every failure is the one SmtpDeliveryError (classify.ts). A drop or a timeout, which the
 * connection reports without a command, is placed at the last command this client sent.
 */
export class SmtpSession {
  /** Messages handed to this session, accepted or not. */
  sent = 0;
  /** Whether a message or an RSET went over the session before the send under way (a reused or kept-warm one). */
  #reused = false;
  #used = false;
  /**
   * Whether the last send failed because the connection dropped, or a reused one was closed with a
   * 421 or, signed in, refused with a 530, before the server asked for the message (its 354): not a
   * byte of it reached the server, so it may go on another session (a reused connection the server
   * had just closed, its limit of messages per connection reached, or its sign-in lapsed).
   */
  droppedBeforeMessage = false;
  /**
   * The commands sent and not yet answered, oldest first: with PIPELINING, MAIL FROM, RCPT TO and
   * DATA leave together, so the one a drop interrupted is the oldest unanswered, not the last sent.
   */
  readonly #unanswered: string[] = [];
  #lastCommand: string | undefined;
  /** The command the server's last reply answered (none for the greeting): a 421 that closes names it. */
  #lastAnswered: string | undefined;
  /** Whether the server answered this transaction's DATA with 354, so the message went out. */
  #messageSent = false;
  /** Whether the send under way's message went out whole, its final "." with it: a hang-up then may follow its delivery. */
  #messageWhole = false;
  /**
   * Whether bytes of the message were still waiting to go out when its reply's deadline passed: the
   * server had stopped reading it, and its final ".", let through by #mayEnd, never left this side.
   */
  #messageStuck = false;
  /** Whether the message of the send under way went out (the server's 354 heard): it may be queued however the send ends. */
  get messageSent(): boolean {
    return this.#messageSent;
  }
  /** Why this side ended the connection under the send under way: its message failed to come, or may no longer go. */
  #abandoned: { readonly error: unknown } | undefined;
  /** The send under way's last check before its message goes out (at the server's 354): false ends it unsent. */
  #mayFinish: (() => boolean) | undefined;
  /** Fails the send or RSET under way, when the connection ends before its callback. */
  #interrupt: ((err: unknown) => void) | undefined;
  #ended = false;
  /** Whether the server has said anything yet (its greeting comes first). */
  #greeted = false;
  /** Whether the settings had credentials and the server offered no AUTH, so none were sent. */
  #signInSkipped = false;
  /** Whether the server accepted this session's sign-in (AUTH). */
  #signedIn = false;
  /** The server's last 334 challenge: after a refused XOAUTH2 token, the reason (Base64 JSON) in it. */
  #challenge: string | undefined;
  /** Whether the server's last reply was a 334 challenge, so the client's next line answers it within AUTH. */
  #challenged = false;
  readonly #endListeners: (() => void)[] = [];
  /** Ends the session when the oldest unanswered command has waited `replyTimeoutMs` for its whole reply. */
  #replyTimer: NodeJS.Timeout | undefined;
  #replyTimedOut = false;

  private constructor(
    private readonly smtp: SMTPConnection,
    private readonly replyTimeoutMs: number,
  ) {
    // The connection emits 'error' for failures outside a call too (an idle socket timing out, a
    // server closing): they end the session, which 'end' reports; an unheard 'error' would throw.
    smtp.on('error', () => {});
    smtp.once('end', () => {
      this.#ended = true;
      clearTimeout(this.#replyTimer);
      // close() from this side forgets the command in flight without calling it back. A server's
      // 421 also closes before its callback brings the reply: that one comes first, and wins.
      const interrupt = this.#interrupt;
      if (interrupt) setImmediate(() => interrupt(this.#endError('Connection closed')));
      for (const listener of this.#endListeners.splice(0)) listener();
    });
  }

  /** #endError is why the connection ended under a command: the reply deadline, or the connection itself. */
  #endError(message: string): Error {
    if (this.#replyTimedOut) return Object.assign(new Error('Timed out waiting for the reply'), { code: 'ETIMEDOUT', timeoutType: 'REPLY_TIMEOUT' });
    return Object.assign(new Error(message), { code: 'ECONNECTION' });
  }

  /**
   * open connects to the endpoint and logs in, resolving once the session can send. A setting
   * that cannot work (credentials without TLS, a login without a password) is refused before any
   * connection is made. `log`, when given, hears the whole dialogue (Test Mail Settings).
   * `probeEarly` asks, a second into a silent opening, whether the port expects implicit TLS
   * (watchForImplicitTls): for a person waiting on Test Mail Settings only. An email's session
   * waits for the greeting, as a server that delays it on purpose (Postfix's postscreen, sendmail's
   * greet_pause) may penalise a client that speaks first, even on a connection of its own.
   * `signal` aborted ends an opening not yet done: a closing pool is not held by a silent server
   * for the greeting's whole timeout.
   */
  static open(
    endpoint: SmtpEndpoint,
    log?: ExternalLogger,
    { probeEarly = false, signal }: { probeEarly?: boolean; signal?: AbortSignal | undefined } = {},
  ): Promise<SmtpSession> {
    let options: ReturnType<typeof connectionOptions>;
    let auth: ReturnType<typeof loginOf>;
    try {
      options = connectionOptions(endpoint);
      auth = loginOf(endpoint);
    } catch (err) {
      return Promise.reject(classifySmtpError(err));
    }
    let session: SmtpSession | undefined;
    const logger: ExternalLogger = {
      trace: (...args: unknown[]) => log?.trace?.(...args),
      debug: (data: { tnx?: string } | undefined, message?: unknown, ...rest: unknown[]) => {
        if (session && typeof message === 'string') session.#heard(data?.tnx, message);
        log?.debug?.(data, message, ...rest);
      },
      info: (...args: unknown[]) => log?.info?.(...args),
      warn: () => {},
      error: () => {},
      fatal: () => {},
    };
    const smtp = withFastDataStream(new SMTPConnection({ ...options, logger, transactionLog: true }), () => (session ? session.#mayEnd() : true));
    session = new SmtpSession(smtp, endpoint.timeoutMs);
    const opening = session;
    return new Promise((resolve, reject) => {
      let settled = false;
      // A port that expects implicit TLS never greets a plain connection: found out early, it fails the opening.
      let watch: ImplicitTlsWatch | undefined;
      const abandon = () => fail(new SmtpDeliveryError('the connection was called off before it was open', 'connect', true));
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        watch?.stop();
        signal?.removeEventListener('abort', abandon);
        // nodemailer's connect timeout covers an implicit TLS handshake too: one whose TCP connection
        // was answered (read before close() drops the socket) waited for the handshake, not for the host.
        const tcpAnswered = (smtp as unknown as { _socket?: net.Socket })._socket?.pending === false;
        if (endpoint.security === 'tls' && tcpAnswered && (err as { timeoutType?: string }).timeoutType === 'CONNECT_TIMEOUT') {
          Object.assign(err as object, { timeoutType: 'HANDSHAKE_TIMEOUT' });
        }
        // The idle socket's timeout has the length of the wait for the greeting, and of the wait for the
        // handshake after STARTTLS's 220, and may end either first on a busy machine: what timed out was
        // that wait, not an answer to STARTTLS (read before close() ends the upgrade).
        const timeoutType = (err as { timeoutType?: string }).timeoutType;
        if (timeoutType === 'SOCKET_TIMEOUT' && (smtp as unknown as { upgrading?: boolean }).upgrading === true) {
          Object.assign(err as object, { timeoutType: 'UPGRADE_TIMEOUT' });
        }
        // nodemailer's own deadline for its lookup of the host (dnsTimeout, the endpoint's timeout) ends it with
        // an error that names neither the host nor the wait: both are said, as for endpoint.ts's lookup (lookupTimedOut).
        const lookup = err as { code?: string; originalCode?: string; hostname?: string };
        if (lookup.code === 'EDNS' && lookup.originalCode === 'ETIMEOUT' && lookup.hostname === undefined) {
          Object.assign(lookup, { hostname: endpoint.host, timeoutMs: endpoint.timeoutMs });
        }
        smtp.close();
        const silent = !opening.#greeted && (timeoutType === 'GREETING_TIMEOUT' || timeoutType === 'SOCKET_TIMEOUT');
        const failure = opening.#failure(silent ? Object.assign(err as object, { timeoutType: 'GREETING_TIMEOUT' }) : err);
        // A server waiting for a TLS handshake never greets: find out, so the answer names the setting to change.
        if (silent) explainSilentGreeting(endpoint, failure, watch?.asked()).then(reject);
        else reject(failure);
      };
      smtp.once('error', fail);
      opening.onEnd(() => fail(opening.#endError('Connection closed unexpectedly')));
      if (signal?.aborted) return abandon();
      signal?.addEventListener('abort', abandon, { once: true });
      if (probeEarly) watch = watchForImplicitTls(endpoint, () => opening.#greeted, fail);
      smtp.connect((err) => {
        if (err) return fail(err);
        const done = () => {
          if (settled) return;
          settled = true;
          watch?.stop();
          signal?.removeEventListener('abort', abandon);
          smtp.removeListener('error', fail);
          resolve(opening);
        };
        // As nodemailer's transports do: a server that offers no AUTH is a relay by address. Credentials
        // left unsent so are said if the server then refuses the mail for want of a sign-in (#failure).
        opening.#signInSkipped = auth !== undefined && !smtp.allowsAuth;
        if (!auth || !smtp.allowsAuth) return done();
        // `auto` with a user name and no password: relayed above when the server offers no AUTH.
        if (auth.credentials && !auth.credentials.pass) return fail(noPasswordError());
        smtp.login(auth, (loginError) => {
          if (loginError) return fail(loginError);
          opening.#signedIn = true;
          done();
        });
      });
    });
  }

  /** ended is true once the connection is gone (closed by either side, or failed). */
  get ended(): boolean {
    return this.#ended;
  }

  /** onEnd calls `listener` once when the connection is gone (at once if it already is). */
  onEnd(listener: () => void): void {
    if (this.#ended) listener();
    else this.#endListeners.push(listener);
  }

  /**
   * send runs MAIL FROM, RCPT TO and DATA and writes `message` (final bytes, CRLF line ends),
   * resolving with the server's reply to the final "." only when it is a 2xx. A message still to
   * come (a render) is written when it resolves, its commands already on their way; the server
   * waits for it as for any slow client, up to its timeout and the session's own (the reply
   * deadline and nodemailer's idle socket). If it rejects while the send is under way, the
   * connection ends before the "." (the server delivers nothing) and the send fails with that
   * rejection as it is. `mayFinish` is asked when the server answers DATA with 354, before the
   * message leaves, and again before its final ".": false ends the connection there, unsent, and the
   * send fails with a SendCalledOffError (a worker that stalled past its lease meanwhile: another may have sent it).
   */
  send(envelope: Envelope, message: Buffer | Promise<Buffer>, mayFinish?: () => boolean): Promise<string> {
    const unsendable = unsendableAddress(envelope, this.#said().extensions);
    if (unsendable) return Promise.reject(unsendable);
    this.sent += 1;
    this.#reused = this.#used;
    this.#used = true;
    this.#abandoned = undefined;
    this.#mayFinish = mayFinish;
    // Nothing of this message has left yet: the previous one's DATA, answered, says nothing of it. A
    // server that hangs up right after its 250 to the last message can end the connection before
    // this MAIL FROM is written: a drop before the message, sent again on a fresh session, not one
    // during DATA that may have delivered it.
    this.#messageSent = false;
    this.#messageWhole = false;
    this.#messageStuck = false;
    this.#lastCommand = 'MAIL FROM';
    if (Buffer.isBuffer(message)) return this.#transaction(envelope, message).catch((err: unknown) => this.#failedOrCalledOff(err));
    const body = new PassThrough();
    const sending = this.#transaction(envelope, body);
    // This send's own interrupt: once it is cleared, the send has settled and the session may carry another.
    const underWay = this.#interrupt;
    message.then(
      (bytes) => {
        if (underWay === undefined || this.#interrupt !== underWay) return;
        if (!body.destroyed) body.end(bytes);
      },
      (error: unknown) => {
        if (underWay === undefined || this.#interrupt !== underWay) return;
        this.#abandoned = { error };
        this.smtp.close();
      },
    );
    return sending.catch((err: unknown) => this.#failedOrCalledOff(err));
  }

  /**
   * #mayGoOn asks the send under way's `mayFinish`, at the 354 and again before the final "." (the
   * message stream): a no ends the connection there, so the server delivers nothing, and fails the
   * send with a SendCalledOffError.
   */
  #mayGoOn(): boolean {
    if (this.#abandoned) return false;
    if (!this.#mayFinish || this.#mayFinish()) return true;
    clearTimeout(this.#replyTimer);
    this.#abandoned = { error: new SendCalledOffError() };
    this.smtp.close();
    return false;
  }

  /** #mayEnd is #mayGoOn asked before the message's final "." (data-stream.ts): a yes sends the message whole. */
  #mayEnd(): boolean {
    this.#messageWhole = this.#mayGoOn();
    return this.#messageWhole;
  }

  /** #failedOrCalledOff fails a send with why this side ended it, if it did, else with its own error. */
  #failedOrCalledOff(err: unknown): never {
    throw this.#abandoned ? this.#abandoned.error : err;
  }

  #transaction(envelope: Envelope, message: Buffer | PassThrough): Promise<string> {
    // A message whose bytes are known declares its size at MAIL FROM (RFC 1870's SIZE=, sent where the
    // server offers SIZE): a server over its limit refuses it there instead of reading it whole and
    // refusing it after DATA. One still rendering cannot say it, and is judged after DATA as before.
    const size = Buffer.isBuffer(message) ? { size: message.length } : {};
    this.#letServerJudgeSize();
    return this.#call<string>((done) =>
      this.smtp.send({ from: envelope.from, to: [...envelope.to], ...size }, message, (err, info) => {
        if (err) return done(err);
        const response = String(info?.response ?? '').trim();
        // The connection answers only on the reply to the final "."; refuse anything else as done.
        if (/^2\d\d/.test(response)) return done(null, response);
        done(new SmtpDeliveryError(`unexpected reply after DATA: ${response}`, 'data', true, undefined, response));
      }),
    );
  }

  /** reset says RSET: it ends a refused message's transaction, or keeps an idle session alive. */
  reset(): Promise<void> {
    this.#used = true;
    return this.#call<void>((done) => this.smtp.reset((err) => done(err)));
  }

  /** #call runs one command and settles once, by its callback or by the connection's end. */
  #call<T>(start: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const done = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        this.#interrupt = undefined;
        if (!err) return resolve(value as T);
        const { code, responseCode } = err as { code?: string; responseCode?: number };
        // A 421 closes the connection too: on a session already used (a message, a keepalive RSET)
        // it is the server's limit of messages per connection or its idle timer, not a verdict on this one.
        // So is a 530 (authentication required) on a reused session the server had signed in: its
        // sign-in lapsed (a session or token expired while the connection was kept), and a fresh
        // session signs in again; refused there too, it fails as the server says.
        const refusedOnReuse = this.#reused && (responseCode === 421 || (responseCode === 530 && this.#signedIn));
        this.droppedBeforeMessage = (code === 'ECONNECTION' || code === 'ESOCKET' || refusedOnReuse) && !this.#messageSent && !this.#abandoned;
        reject(this.#failure(err));
      };
      if (this.#ended) return done(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' }));
      this.#interrupt = done;
      start(done);
    });
  }

  /** quit says QUIT and closes once the server answers. */
  quit(): void {
    if (!this.#ended) this.smtp.quit();
  }

  /** close ends the connection at once; a send in flight fails. */
  close(): void {
    this.smtp.close();
  }

  /**
   * #heard follows the dialogue as the connection logs it (`transactionLog`): commands and replies.
   * A 354 (the go-ahead) leaves DATA unanswered until the reply to the message's final ".".
   */
  #heard(tnx: string | undefined, line: string): void {
    if (tnx === 'client') {
      // A line answering a 334 (AUTH LOGIN's user name and password, CRAM-MD5's digest) is Base64 within
      // AUTH, not a command: a wait or a drop there is the sign-in's, not a fragment of the Base64's.
      const verb = this.#challenged ? 'AUTH' : (COMMAND_VERB.exec(line)?.[1]?.toUpperCase() ?? '');
      this.#challenged = false;
      if (verb === 'MAIL FROM') this.#messageSent = false;
      this.#unanswered.push(verb);
      this.#lastCommand = verb;
      if (this.#unanswered.length === 1) this.#awaitReply();
    } else if (tnx === 'server') {
      this.#greeted = true;
      this.#challenged = line.startsWith('334');
      if (this.#challenged) this.#challenge = line.slice(4).trim();
      // The greeting answers no command; every other reply answers the oldest unanswered one.
      const answered = this.#unanswered.shift();
      this.#lastAnswered = answered;
      // The server's go-ahead for the message: a 354, or any 2xx or 3xx, which nodemailer takes as one
      // too (some servers answer DATA with 250) and then writes the message; not the reply to its ".".
      if (answered === 'DATA' && !this.#messageSent && /^[23]/.test(line)) {
        // Heard before the connection writes the message: ended now, not a byte of it goes out.
        if (!this.#mayGoOn()) return;
        this.#messageSent = true;
        this.#unanswered.unshift('DATA');
      }
      clearTimeout(this.#replyTimer);
      if (this.#unanswered.length > 0) this.#awaitReply();
    }
  }

  /**
   * #awaitReply gives the oldest unanswered command `replyTimeoutMs` for its whole reply. nodemailer's
   * socket timeout only ends a silent connection: a server that sends a byte now and then (a
   * slowloris) would hold the send, its slot and its lease for ever.
   */
  #awaitReply(): void {
    // nodemailer goes on processing replies read before the connection ended, after its 'end': a deadline
    // armed then was never cleared and held a stopping worker for its whole length, past the stop's grace.
    if (this.#ended) return;
    this.#replyTimer = setTimeout(() => {
      this.#replyTimedOut = true;
      // Read before close() drops them: bytes the socket still holds were never written.
      this.#messageStuck = this.#messageSent && ((this.smtp as unknown as { _socket?: net.Socket })._socket?.writableLength ?? 0) > 0;
      this.smtp.close();
    }, this.replyTimeoutMs);
  }

  /**
   * #letServerJudgeSize leaves a message over the server's announced limit (EHLO SIZE n) to the server:
   * the connection, told the size, would refuse it itself with words of its own and no reply code
   * ("Message size larger than allowed n"), where the server answers MAIL FROM with its 552 5.3.4 and
   * its words, which the delivery log and Test Mail Settings show, and by which a report too large is
   * sent again shorter (too-large.ts). The limit is read again at each EHLO, so it is cleared per send.
   */
  #letServerJudgeSize(): void {
    (this.smtp as unknown as { _maxAllowedSize?: number })._maxAllowedSize = 0;
  }

  /**
   * #said is what the server's last EHLO offered: the extensions the connection read, every AUTH
   * mechanism listed, upper case (the connection keeps only those it speaks, and an Exchange may list NTLM alone),
   * and whether it offered STARTTLS (the connection does not note it when told to ignore it).
   */
  #said(): { readonly extensions: readonly string[]; readonly auth: readonly string[]; readonly starttls: boolean } {
    const read = this.smtp as unknown as { _supportedExtensions?: string[]; _ehloLines?: string[] };
    const auth = new Set<string>();
    for (const line of read._ehloLines ?? []) {
      const listed = /^AUTH[ =](.*)/i.exec(line)?.[1];
      for (const mechanism of listed?.split(/[ =]+/) ?? []) if (mechanism) auth.add(mechanism.toUpperCase());
    }
    const starttls = (read._ehloLines ?? []).some((line) => /^STARTTLS\b/i.test(line));
    return { extensions: read._supportedExtensions ?? [], auth: [...auth], starttls };
  }

  /** #failure classifies an error at the command it interrupted (the message itself counts as DATA). */
  #failure(err: unknown): SmtpDeliveryError {
    if (typeof err === 'object' && err !== null) {
      if (this.#challenge) Object.assign(err, { challenge: this.#challenge });
      // Its 354 heard and its final "." not written (not reached, or behind bytes the server stopped reading): the message was still going out.
      if (this.#messageWhole && !this.#messageStuck) Object.assign(err, { messageWhole: true });
      else if (this.#messageSent) Object.assign(err, { messagePartial: true });
      // STARTTLS offered on a connection still plain: the settings' choice (a required one is upgraded). Not
      // on one already secure, whose server lists it again.
      if (this.#signInSkipped) Object.assign(err, { signInSkipped: true, tlsDeclined: !this.smtp.secure && this.#said().starttls });
      // Which sign-in methods the server offered: a refused AUTH of another says nothing of the credentials.
      const offeredAuth = this.#said().auth;
      if (offeredAuth.length > 0) Object.assign(err, { offeredAuth });
      // Every timeout of the session (connection, greeting, reply, silence) is the endpoint's: the answer says how long it waited.
      const { timeoutType, code } = err as { timeoutType?: string; code?: string };
      if (timeoutType || code === 'ETIMEDOUT') Object.assign(err, { timeoutMs: this.replyTimeoutMs });
    }
    // A reply that closes the connection (421) answered a command already taken off the unanswered
    // ones: with PIPELINING, a 421 to RCPT TO is the recipient's, not the DATA sent behind it.
    const { command, responseCode } = (err ?? {}) as { command?: string; responseCode?: number };
    const closedBy = command === 'CONN' && typeof responseCode === 'number' ? this.#lastAnswered : undefined;
    return classifySmtpError(err, closedBy ?? this.#unanswered[0] ?? (this.#messageSent ? 'DATA' : this.#lastCommand));
  }
}
