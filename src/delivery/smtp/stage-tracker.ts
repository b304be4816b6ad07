import { format } from 'node:util';

interface LogEntry {
  tnx?: string;
  sid?: string;
  messageId?: string;
}

/**
 * StageTracker follows a pooled transport's log (nodemailer's `transactionLog`) to know the last
 * command each message's connection sent, because nodemailer reports a drop or a timeout after
 * DATA only as a connection event. The pool logs "sending message M" right before the connection
 * writes M's MAIL FROM, which binds M to that connection. Only command verbs are kept, never
 * arguments (which may carry credentials).
 */
export class StageTracker {
  readonly #lastVerbBySession = new Map<string, string>();
  readonly #sessionByMessage = new Map<string, string>();
  #unbound: string | undefined;

  /** logger is the bunyan-style object to pass to nodemailer. */
  readonly logger = {
    trace: (data: LogEntry, message?: string, ...args: unknown[]) => this.#record(data, message, args),
    debug: (data: LogEntry, message?: string, ...args: unknown[]) => this.#record(data, message, args),
    info: (data: LogEntry, message?: string, ...args: unknown[]) => this.#record(data, message, args),
    warn: () => {},
    error: () => {},
    fatal: () => {},
  };

  #record(data: LogEntry | undefined, message: string | undefined, args: unknown[]): void {
    if (!data) return;
    if (data.tnx === 'send' && data.messageId) {
      this.#unbound = data.messageId;
      return;
    }
    if (!data.sid) return;
    if (data.tnx === 'client') {
      const verb = /^\s*(MAIL FROM|RCPT TO|[A-Z]+)/i.exec(format(message ?? '', ...args))?.[1];
      if (verb) this.#lastVerbBySession.set(data.sid, verb.toUpperCase());
      if (this.#unbound) {
        this.#sessionByMessage.set(this.#unbound, data.sid);
        this.#unbound = undefined;
      }
    } else if (data.tnx === 'network' && message === 'Connection closed') {
      // Read the verb of a failed message before forgetting: the send callback runs first.
      setImmediate(() => this.#lastVerbBySession.delete(data.sid!));
    }
  }

  /** lastCommand returns the last command sent on the connection that carried a message, once. */
  takeLastCommand(messageId: string): string | undefined {
    const session = this.#sessionByMessage.get(messageId);
    this.#sessionByMessage.delete(messageId);
    return session ? this.#lastVerbBySession.get(session) : undefined;
  }
}
