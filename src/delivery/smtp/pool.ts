import { SendCalledOffError, type SendOptions, type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';
import { type Envelope, SmtpSession } from './session.js';

/**
 * KEEPALIVES_PER_CONNECTION bounds the RSETs one warm session hears before it is ended and a fresh
 * one opened: servers count idle commands (Postfix starts penalising after 100 "junk" commands).
 */
const KEEPALIVES_PER_CONNECTION = 30;

const MAX_RETRY_MS = 10 * 60_000;

/**
 * keepaliveIntervalMs is how often an idle warm session says RSET: well within the client's own
 * socket timeout (`timeoutMs`, which would end a silent connection) and at most once a minute, far
 * under the 5 minutes RFC 5321 lets a server wait before it drops an idle client.
 */
function keepaliveIntervalMs(timeoutMs: number): number {
  return Math.max(250, Math.min(Math.floor(timeoutMs / 3), 60_000));
}

/**
 * atConnectionLimit tells a server's refusal of a message because this session is one connection too
 * many for the account (Microsoft 365 past three of a mailbox: "432 4.3.2 STOREDRV.ClientSubmit; sender
 * thread limit exceeded", "432 4.3.2 concurrent connection limit exceeded", or as it answers since 2024
 * "432 4.3.2 Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending…"), as the server keeps the
 * session open and refuses every message on it while it takes those of the sessions within the limit.
 */
export function atConnectionLimit(error: unknown): boolean {
  if (!(error instanceof SmtpDeliveryError) || !error.retryable || error.response === undefined) return false;
  return /\b(sender thread|concurrent connections?) limit exceeded\b/i.test(error.response);
}

/** SessionPoolOptions size a pool; the sender sets them. */
export interface SessionPoolOptions {
  /** Sessions open at once at most. */
  readonly maxConnections: number;
  /** Messages one session sends before it says QUIT and a fresh one is opened. */
  readonly maxMessages: number;
  /**
   * Keep one session open and logged in while nothing is sent (RSET while idle, replaced after
   * KEEPALIVES_PER_CONNECTION RSETs, reopened with backoff when it ends), so that a lone Fatal
   * alert after a quiet spell skips connect, EHLO, STARTTLS and AUTH.
   */
  readonly warm: boolean;
}

interface Waiting {
  readonly envelope: Envelope;
  readonly message: Buffer | Promise<Buffer>;
  readonly resolve: (response: string) => void;
  /** Rejects with the SmtpDeliveryError of the send, or the message's own rejection. */
  readonly reject: (error: unknown) => void;
  /** Whether it was put back once already: its session dropped before its message was sent, or was one too many for the server (atConnectionLimit). */
  requeued: boolean;
  /** Aborted, the send is called off while no session has it (SessionPool.send). */
  readonly signal: AbortSignal | undefined;
  /** Asked when a session takes it: false calls it off, nothing sent (SessionPool.send). */
  readonly mayStart: (() => boolean) | undefined;
  /** Asked at the server's 354 and before the final ".": false ends the session unsent (SessionPool.send). */
  readonly mayFinish: (() => boolean) | undefined;
  /** Whether it goes ahead of the sends waiting that are not (SessionPool.send). */
  readonly urgent: boolean;
  /** Whose it is, for the tenants' turns (nextInTurn). */
  readonly tenantId: string | undefined;
}

/** PoolSendOptions are SendOptions as a pool reads them (SessionPool.send). */
export type PoolSendOptions = Pick<SendOptions, 'signal' | 'mayStart' | 'mayFinish' | 'urgent' | 'tenantId'>;

/**
 * queuedAt is where a send joins the queue: at its end, or an urgent one ahead of the first send
 * that is not, so that urgent ones keep their order among themselves.
 */
function queuedAt(queue: readonly { readonly urgent: boolean }[], urgent: boolean): number {
  const at = urgent ? queue.findIndex((waiting) => !waiting.urgent) : -1;
  return at < 0 ? queue.length : at;
}

/**
 * nextInTurn is which waiting send a free session takes: one put back first (it had its turn), else
 * the first waiting send (its most urgent, urgent ones waiting ahead: queuedAt) of the tenant with
 * the fewest sends under way on the pool's sessions and, of those, served longest ago (`served`: its
 * last turn). Taken in queue order alone, a tenant's sends handed over at once (up to its 100, a
 * flood's Fatal emails or a morning's daily reports) held every other tenant's email through a
 * shared server (the system default) behind them: ten connections to a server taking a message a
 * second kept another tenant's Fatal email waiting 10 s; and urgency before turns held another
 * tenant's summary behind a whole flood of Fatal emails. An urgent email of a tenant waits one turn
 * of each other tenant waiting at most.
 */
function nextInTurn(
  queue: readonly { readonly urgent: boolean; readonly requeued: boolean; readonly tenantId: string | undefined }[],
  sending: ReadonlyMap<string | undefined, number>,
  served: ReadonlyMap<string | undefined, number>,
): number {
  const first = queue[0];
  if (!first || first.requeued) return 0;
  const rank = (tenantId: string | undefined) => [sending.get(tenantId) ?? 0, served.get(tenantId) ?? -1] as const;
  const seen = new Set<string | undefined>([first.tenantId]);
  let best = 0;
  let bestRank = rank(first.tenantId);
  for (let at = 1; at < queue.length; at += 1) {
    const { tenantId } = queue[at]!;
    if (seen.has(tenantId)) continue;
    seen.add(tenantId);
    const [count, turn] = rank(tenantId);
    if (count < bestRank[0] || (count === bestRank[0] && turn < bestRank[1])) {
      best = at;
      bestRank = [count, turn];
    }
  }
  return best;
}

type SlotState = 'opening' | 'idle' | 'sending' | 'keepalive' | 'closing';

interface Slot {
  state: SlotState;
  session?: SmtpSession;
  /** The tenant whose send it carries while `sending` (nextInTurn). */
  tenantId?: string | undefined;
  idleSince: number;
  keepalives: number;
}

/**
 * SessionPool is the SMTP sessions of one endpoint: sends queue in order and each goes to an idle
 * session, or waits for one being opened or kept alive, or opens another up to `maxConnections`.
 *
 * Until a session is open, only one is being opened. A failed open fails the waiting sends when no other session is alive (the same server and
 * settings would fail them too: a wrong password is tried once, not once per email); with other
 * sessions alive it only stops the pool from opening more until its queue is empty. A send whose
 * session dropped before the message was sent (a reused connection the server had just closed, or
 * closed with a 421 at its limit of messages per connection) goes to another session once, as does
 * one refused on a session the server counts beyond its limit of connections (atConnectionLimit),
 * which then ends; one that failed otherwise is never sent again here, the outbox decides.
 */
export class SessionPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Waiting[] = [];
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #intervalMs: number;
  #ceiling: number;
  /**
   * Aborted by close: the pool takes no more sends, and the sessions still being opened end (a
   * silent server's greeting would be awaited for its whole timeout).
   */
  readonly #closing = new AbortController();
  /**
   * Sessions that failed in a row, to open or to stay open while idle (the server ending them, or
   * refusing their keepalive RSET), and the time before which the keepalive opens none (backoff).
   * A send or a keepalive that succeeds ends the run.
   */
  #failures = 0;
  #retryAt = 0;
  /** Each tenant's last turn (a count of the sends taken), kept while sends wait: nextInTurn. */
  readonly #served = new Map<string | undefined, number>();
  #turns = 0;

  constructor(
    private readonly endpoint: SmtpEndpoint,
    private readonly options: SessionPoolOptions,
  ) {
    this.#ceiling = options.maxConnections;
    this.#intervalMs = keepaliveIntervalMs(endpoint.timeoutMs);
    if (options.warm) {
      this.#timer = setInterval(() => this.#tend(), this.#intervalMs);
      this.#timer.unref();
      this.#tend();
    }
  }

  /** inFlight is how many sends are queued or under way. */
  get inFlight(): number {
    return this.#queue.length + this.#slots.filter((slot) => slot.state === 'sending').length;
  }

  /**
   * send queues the message and resolves with the server's 2xx reply after DATA. A message still to
   * come (SmtpSession.send) that fails while it waits for a session leaves the queue with its error;
   * one a closed pool refuses is read all the same, so that its failure is never left unhandled.
   * `signal` aborted while the message still waits for a session takes it out of the queue with a
   * SendCalledOffError (a stopping worker hands it back); a message a session took goes on.
   * `mayStart` is asked when a session takes the message, however long it waited: false calls it
   * off as an aborted `signal` does (a worker whose lease ran out meanwhile: another may send it).
   * `mayFinish` is asked when the server asks for the message (354) and before its final ".": false
   * there ends the session unsent. An `urgent` send (a Fatal alert's email) waits ahead of its
   * tenant's that are not: a worker hands a server's pool up to a tenant's 100 sends at once, and
   * behind a daily report's backlog, ten connections to a slow server, it waited for each of them.
   * The tenants (`tenantId`) take turns before that (nextInTurn).
   */
  send(envelope: Envelope, message: Buffer | Promise<Buffer>, options: PoolSendOptions = {}): Promise<string> {
    const { signal, mayStart, mayFinish, urgent = false, tenantId } = options;
    let waiting: Waiting | undefined;
    const leave = (error: unknown) => {
      const at = waiting ? this.#queue.indexOf(waiting) : -1;
      if (at < 0) return;
      this.#queue.splice(at, 1);
      waiting!.reject(error);
    };
    if (!Buffer.isBuffer(message)) message.catch(leave);
    if (this.#closing.signal.aborted) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(new SendCalledOffError());
    const callOff = () => leave(new SendCalledOffError());
    signal?.addEventListener('abort', callOff, { once: true });
    return new Promise<string>((resolve, reject) => {
      waiting = { envelope, message, resolve, reject, requeued: false, signal, mayStart, mayFinish, urgent, tenantId };
      this.#queue.splice(queuedAt(this.#queue, urgent), 0, waiting);
      this.#dispatch();
    }).finally(() => signal?.removeEventListener('abort', callOff));
  }

  /** close ends every session at once (a send under way fails, one being opened too) and fails the queued sends. */
  close(): void {
    this.#closing.abort();
    if (this.#timer) clearInterval(this.#timer);
    for (const waiting of this.#queue.splice(0)) waiting.reject(closedError());
    for (const slot of this.#slots.splice(0)) slot.session?.close();
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && !this.#closing.signal.aborted) {
      const idle = this.#slots.find((slot) => slot.state === 'idle');
      if (idle) {
        const next = this.#queue.splice(nextInTurn(this.#queue, this.#sendingByTenant(), this.#served), 1)[0]!;
        this.#served.set(next.tenantId, ++this.#turns);
        if (next.mayStart && !next.mayStart()) next.reject(new SendCalledOffError());
        else this.#sendOn(idle, next);
        continue;
      }
      // A session being opened or saying RSET is free within a round trip: wait for it rather
      // than open one more.
      const coming = this.#slots.filter((slot) => slot.state === 'opening' || slot.state === 'keepalive').length;
      const open = this.#slots.filter((slot) => slot.state !== 'closing').length;
      if (this.#queue.length <= coming || open >= this.#ceiling) break;
      // Until one session is logged in, open one at a time: a wrong password is tried once.
      if (coming > 0 && !this.#slots.some((slot) => slot.session)) break;
      this.#open();
    }
    if (this.#queue.length === 0) {
      this.#ceiling = this.options.maxConnections;
      // Turns are taken among the tenants waiting: with none waiting, there is nothing to remember.
      this.#served.clear();
    }
  }

  /** #sendingByTenant counts the sends under way on the pool's sessions, by tenant. */
  #sendingByTenant(): Map<string | undefined, number> {
    const sending = new Map<string | undefined, number>();
    for (const slot of this.#slots) if (slot.state === 'sending') sending.set(slot.tenantId, (sending.get(slot.tenantId) ?? 0) + 1);
    return sending;
  }

  #open(): void {
    const slot: Slot = { state: 'opening', idleSince: 0, keepalives: 0 };
    this.#slots.push(slot);
    SmtpSession.open(this.endpoint, undefined, { signal: this.#closing.signal }).then(
      (session) => {
        if (this.#closing.signal.aborted || !this.#slots.includes(slot)) return session.close();
        slot.session = session;
        session.onEnd(() => this.#forget(slot));
        this.#idle(slot);
      },
      (error: SmtpDeliveryError) => {
        this.#remove(slot);
        this.#backOff();
        const alive = this.#slots.some((other) => other.state !== 'closing');
        if (alive) {
          this.#ceiling = this.#slots.filter((other) => other.state !== 'closing').length;
        } else {
          for (const waiting of this.#queue.splice(0)) waiting.reject(error);
        }
        this.#dispatch();
      },
    );
  }

  /**
   * #putBackOnce puts a message another session should carry at the head of the queue, once: put back
   * already, or called off meanwhile, it fails with `refusal` instead.
   */
  #putBackOnce(waiting: Waiting, refusal: unknown): void {
    if (waiting.requeued || waiting.signal?.aborted) waiting.reject(refusal);
    else {
      waiting.requeued = true;
      this.#queue.unshift(waiting);
    }
  }

  #sendOn(slot: Slot, waiting: Waiting): void {
    const session = slot.session!;
    slot.state = 'sending';
    slot.tenantId = waiting.tenantId;
    session.send(waiting.envelope, waiting.message, waiting.mayFinish).then(
      (response) => {
        this.#failures = 0;
        waiting.resolve(response);
        if (session.sent >= this.options.maxMessages) this.#quit(slot);
        else this.#idle(slot);
      },
      (error: unknown) => {
        if (!waiting.requeued && session.droppedBeforeMessage && !this.#closing.signal.aborted) {
          slot.state = 'closing';
          session.close();
          // Nothing of it was sent: called off meanwhile, it is not put back.
          this.#putBackOnce(waiting, new SendCalledOffError());
          this.#dispatch();
          return;
        }
        // One session too many for the server: the others within its limit carry the queue, this message
        // with it, once (refused after its ".", it was not taken), and the pool opens no more beside them.
        const others = this.#slots.filter((other) => other !== slot && other.state !== 'closing').length;
        if (others > 0 && atConnectionLimit(error) && !this.#closing.signal.aborted) {
          slot.state = 'closing';
          session.quit();
          this.#ceiling = others;
          this.#putBackOnce(waiting, error);
          this.#dispatch();
          return;
        }
        waiting.reject(error);
        // The server refused this message, not the session: end its transaction and go on.
        const code = error instanceof SmtpDeliveryError ? error.code : undefined;
        if (code !== undefined && code !== 421 && !session.ended) {
          slot.state = 'keepalive';
          session.reset().then(
            () => this.#idle(slot),
            () => session.close(),
          );
          return;
        }
        slot.state = 'closing';
        session.close();
        this.#dispatch();
      },
    );
  }

  #idle(slot: Slot): void {
    if (slot.state === 'closing') return;
    slot.state = 'idle';
    slot.idleSince = Date.now();
    this.#dispatch();
  }

  /**
   * #quit says QUIT to a session that has done its share (maxMessages, KEEPALIVES_PER_CONNECTION
   * RSETs, or one of a burst's idle extras). A warm pool left with no session opens its successor at
   * once: left to the keepalive's next tick (up to a minute away), the next lone email found none and
   * opened one on its own path (connect, greeting, EHLO, and STARTTLS and AUTH where the server asks)
   * before its MAIL FROM, one Fatal alert's email in every maxMessages.
   */
  #quit(slot: Slot): void {
    slot.state = 'closing';
    slot.session!.quit();
    this.#dispatch();
    if (this.options.warm && this.#queue.length === 0) this.#rewarm();
  }

  /** #rewarm opens the kept-warm session when none is alive, unless a backoff after failures holds it off. */
  #rewarm(): void {
    if (this.#closing.signal.aborted || this.#slots.some((slot) => slot.state !== 'closing')) return;
    if (Date.now() >= this.#retryAt) this.#open();
  }

  /**
   * #forget lets go of a session that ended. One that ended while idle or saying RSET (the server
   * closing idle connections quickly, or taking no RSET) counts as a failure: the kept-warm session
   * is then opened again with a backoff, not at every keepalive tick.
   */
  #forget(slot: Slot): void {
    if ((slot.state === 'idle' || slot.state === 'keepalive') && !this.#closing.signal.aborted) this.#backOff();
    this.#remove(slot);
    this.#dispatch();
  }

  /** #backOff counts a failure and puts off the keepalive's next open: the interval, doubling, up to MAX_RETRY_MS. */
  #backOff(): void {
    this.#failures += 1;
    this.#retryAt = Date.now() + Math.min(this.#intervalMs * 2 ** this.#failures, MAX_RETRY_MS);
  }

  #remove(slot: Slot): void {
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
  }

  /**
   * #tend keeps the warm session: opens one when none is alive (with backoff after failures),
   * says RSET on an idle one that has been silent for half an interval, ends it after
   * KEEPALIVES_PER_CONNECTION RSETs, and says QUIT to the other idle sessions a burst opened.
   */
  #tend(): void {
    if (this.#closing.signal.aborted) return;
    const alive = this.#slots.filter((slot) => slot.state !== 'closing');
    if (alive.length === 0) {
      this.#rewarm();
      return;
    }
    if (alive.some((slot) => slot.state === 'opening' || slot.state === 'keepalive')) return;
    const silentSince = Date.now() - this.#intervalMs / 2;
    const idle = alive.filter((slot) => slot.state === 'idle' && slot.idleSince <= silentSince);
    const [kept, ...extra] = idle;
    for (const slot of extra) this.#quit(slot);
    if (!kept || alive.some((slot) => slot.state === 'sending')) return;
    kept.keepalives += 1;
    if (kept.keepalives > KEEPALIVES_PER_CONNECTION) {
      this.#quit(kept);
      return;
    }
    kept.state = 'keepalive';
    kept.session!.reset().then(
      () => {
        this.#failures = 0;
        this.#idle(kept);
      },
      () => kept.session!.close(),
    );
  }
}

function closedError(): SmtpDeliveryError {
  return new SmtpDeliveryError('the mail sender is closed', 'connect', true);
}
