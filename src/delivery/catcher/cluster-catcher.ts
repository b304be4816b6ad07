import type { Worker } from 'node:cluster';
import type { CaughtMail, CaughtMessage, MailCatcher } from './mail-catcher.js';

/**
 * One built-in mail catcher for several api processes on one port (`tocsin serve --role api
 * --processes N` without TOCSIN_SMTP_URL): the primary runs it, every process sends to its port,
 * and each process's catcher routes read it over the cluster channel. A catcher per process
 * would split the mail between them (they share the SMTP port too), and each would show a part.
 */

/** CHANNEL marks the cluster messages that are about the catcher. */
const CHANNEL = 'tocsin:mail-catcher';

/** CATCHER_PORT_ENV tells an api process the port of its primary's catcher. */
const CATCHER_PORT_ENV = 'TOCSIN_PRIMARY_CATCHER_PORT';

interface CatcherRequest {
  readonly channel: typeof CHANNEL;
  readonly id: number;
  readonly op: 'list' | 'clear';
}

interface CatcherAnswer {
  readonly channel: typeof CHANNEL;
  readonly id: number;
  readonly items: CaughtMessage[];
}

const isCatcherMessage = <T extends { channel: string }>(message: unknown): message is T =>
  typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === CHANNEL;

/** catcherEnv is what the primary adds to an api process's environment so that it uses the primary's catcher. */
export function catcherEnv(port: number): Record<string, string> {
  return { [CATCHER_PORT_ENV]: String(port) };
}

/** shareCatcher answers one api process's requests to read or empty the primary's catcher. */
export function shareCatcher(catcher: MailCatcher, worker: Worker): void {
  worker.on('message', (message: unknown) => {
    if (!isCatcherMessage<CatcherRequest>(message)) return;
    if (message.op === 'clear') catcher.clear();
    const answer: CatcherAnswer = { channel: CHANNEL, id: message.id, items: message.op === 'list' ? catcher.messages() : [] };
    worker.send(answer);
  });
}

/** PrimaryCatcher is the primary's catcher as an api process reads it; `port` is where it takes mail. */
export class PrimaryCatcher implements CaughtMail {
  #next = 0;
  readonly #waiting = new Map<number, (items: CaughtMessage[]) => void>();

  constructor(readonly port: number) {
    process.on('message', (message: unknown) => {
      if (!isCatcherMessage<CatcherAnswer>(message)) return;
      this.#waiting.get(message.id)?.(message.items);
      this.#waiting.delete(message.id);
    });
  }

  #ask(op: CatcherRequest['op']): Promise<CaughtMessage[]> {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      const request: CatcherRequest = { channel: CHANNEL, id, op };
      this.#waiting.set(id, resolve);
      process.send!(request, undefined, undefined, (err: Error | null) => {
        if (!err) return;
        this.#waiting.delete(id);
        reject(err);
      });
    });
  }

  messages(): Promise<CaughtMessage[]> {
    return this.#ask('list');
  }

  async clear(): Promise<void> {
    await this.#ask('clear');
  }
}

/** primaryCatcherOf is the primary's catcher when this api process was started to use it, else undefined. */
export function primaryCatcherOf(env: NodeJS.ProcessEnv): PrimaryCatcher | undefined {
  const port = env[CATCHER_PORT_ENV];
  return port && process.send ? new PrimaryCatcher(Number(port)) : undefined;
}
