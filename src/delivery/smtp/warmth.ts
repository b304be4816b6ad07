import type { EventEmitter } from 'node:events';
import type { Transporter } from 'nodemailer';

/**
 * The parts of one connection of nodemailer's pool (nodemailer 10, dist/esm/smtp-pool/pool-resource.js)
 * that Warmth drives: the pool opens a connection only for a queued message and has no keepalive.
 */
interface PooledConnection extends EventEmitter {
  available: boolean;
  _connected: boolean;
  _closed: boolean;
  connection?: { reset(callback: (err: Error | null) => void): void; quit(): void; close(): void };
  connect(callback: (err: Error | null) => void): void;
  close(): void;
}

/** The parts of nodemailer's SMTPPool (dist/esm/smtp-pool/index.js) that Warmth drives. */
interface SmtpPoolInternals {
  _closed: boolean;
  _connections: PooledConnection[];
  _createConnection(): PooledConnection;
}

/**
 * KEEPALIVES_PER_CONNECTION bounds the RSETs one session hears before Warmth ends it and opens a
 * fresh one: servers count idle commands (Postfix starts penalising after 100 "junk" commands).
 */
export const KEEPALIVES_PER_CONNECTION = 30;

const MAX_RETRY_MS = 10 * 60_000;

/**
 * keepaliveIntervalMs is how often an idle warm connection says RSET: well within the client's own
 * socket timeout (`timeoutMs`, which would end a silent connection) and at most once a minute, far
 * under the 5 minutes RFC 5321 lets a server wait before it drops an idle client.
 */
export function keepaliveIntervalMs(timeoutMs: number): number {
  return Math.max(250, Math.min(Math.floor(timeoutMs / 3), 60_000));
}

/**
 * Warmth keeps one connection of an endpoint's nodemailer pool open and logged in while nothing
 * is sent, so that the next email (a lone Fatal alert after minutes of quiet) does not wait for
 * connect, greeting, EHLO, STARTTLS and AUTH. It opens the connection as soon as it is created, says
 * RSET on it while it is idle, replaces it after KEEPALIVES_PER_CONNECTION RSETs and opens a new one
 * when the server or an error ended it. Sends use it as any pooled connection. `stop()` ends the
 * timer and every connection it is busy with (opening or RSET); the pool's close() ends the others.
 */
export class Warmth {
  private readonly pool: SmtpPoolInternals;
  private readonly timer: NodeJS.Timeout;
  private readonly keepalives = new WeakMap<PooledConnection, number>();
  /** Connections this holds unavailable to the pool (opening, RSET, saying QUIT). */
  private readonly busy = new Set<PooledConnection>();
  private stopped = false;
  /** Opens that failed in a row, and the tick before which no other is tried (backoff). */
  private failures = 0;
  private retryAt = 0;

  private readonly intervalMs: number;
  /** The open or RSET under way, which a send waits for rather than open a second connection. */
  private underway: { connection: PooledConnection; promise: Promise<void>; done: () => void } | undefined;

  constructor(transporter: Transporter, timeoutMs: number) {
    this.pool = (transporter as unknown as { transporter: SmtpPoolInternals }).transporter;
    this.intervalMs = keepaliveIntervalMs(timeoutMs);
    this.timer = setInterval(() => this.tend(), this.intervalMs);
    this.timer.unref();
    this.tend();
  }

  /**
   * settled is, while this opens the warm connection or says RSET on it, a promise of the moment it
   * is free again (a send that waits for it uses it, where nodemailer would open a second
   * connection); otherwise undefined, so the send path awaits nothing.
   */
  settled(): Promise<void> | undefined {
    return this.underway?.promise;
  }

  /** stop ends the keepalive and closes the connections it is in the middle of using. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const connection of this.busy) connection.close();
    this.busy.clear();
    this.underway?.done();
    this.underway = undefined;
  }

  private begin(connection: PooledConnection): void {
    let done = () => {};
    const promise = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.underway = { connection, promise, done };
  }

  private end(connection: PooledConnection): void {
    if (this.underway?.connection !== connection) return;
    this.underway.done();
    this.underway = undefined;
  }

  private tend(): void {
    if (this.stopped || this.pool._closed) return;
    const live = this.pool._connections.filter((c) => !c._closed && (this.keepalives.get(c) ?? 0) <= KEEPALIVES_PER_CONNECTION);
    if (live.length === 0) {
      if (Date.now() >= this.retryAt) this.open();
      return;
    }
    // One connection is kept: the others a burst opened end at the client's socket timeout.
    const idle = live.find((c) => c.available && c._connected && !this.busy.has(c));
    if (idle && !live.some((c) => this.busy.has(c))) this.keepAlive(idle);
  }

  /** hold keeps a connection from the pool's messages while this uses it, until release or its close. */
  private hold(connection: PooledConnection): void {
    connection.available = false;
    if (!this.busy.has(connection))
      connection.once('close', () => {
        this.busy.delete(connection);
        this.end(connection);
      });
    this.busy.add(connection);
  }

  private release(connection: PooledConnection): void {
    this.busy.delete(connection);
    if (!this.stopped && !connection._closed) {
      connection.available = true;
      // The pool hands a message that queued meanwhile to a connection that becomes available.
      connection.emit('available');
    }
    this.end(connection);
  }

  private open(): void {
    const connection = this.pool._createConnection();
    // A failure closes the connection (the pool forgets it); the next tick opens another.
    this.hold(connection);
    this.begin(connection);
    connection.connect((err) => {
      if (err) {
        // A server that refuses or fails the login is tried again ever later (at most every 10 minutes).
        this.failures += 1;
        this.retryAt = Date.now() + Math.min(this.intervalMs * 2 ** this.failures, MAX_RETRY_MS);
        this.busy.delete(connection);
        this.end(connection);
        return;
      }
      this.failures = 0;
      this.release(connection);
    });
  }

  private keepAlive(connection: PooledConnection): void {
    const smtp = connection.connection;
    if (!smtp) return;
    const count = (this.keepalives.get(connection) ?? 0) + 1;
    this.keepalives.set(connection, count);
    this.hold(connection);
    if (count > KEEPALIVES_PER_CONNECTION) {
      // QUIT, then the 'close' frees the slot and the next tick opens a fresh session.
      smtp.quit();
      return;
    }
    this.begin(connection);
    smtp.reset((err) => {
      if (err) {
        this.busy.delete(connection);
        this.end(connection);
        smtp.close();
        return;
      }
      this.release(connection);
    });
  }
}
