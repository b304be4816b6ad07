import type { Worker } from 'node:cluster';
import { answerOnChannel, callOnChannel } from '../../shared/cluster-channel.js';
import type { CaughtMail, CaughtMessage, MailCatcher } from './mail-catcher.js';

/**
 * One built-in mail catcher for several api processes on one port (`tocsin serve --role api
 * --processes N` without TOCSIN_SMTP_URL): the primary runs it, every process sends to its port,
 * and each process's catcher routes read it over the cluster channel. A catcher per process
 * would split the mail between them (they share the SMTP port too), and each would show a part.
 */

/** CHANNEL is the cluster channel of the catcher's requests. */
const CHANNEL = 'tocsin:mail-catcher';

/** CATCHER_PORT_ENV tells an api process the port of its primary's catcher. */
const CATCHER_PORT_ENV = 'TOCSIN_PRIMARY_CATCHER_PORT';

/** CatcherOp is what an api process asks of the primary's catcher: its messages, or to empty it. */
type CatcherOp = 'list' | 'clear';

/** catcherEnv is what the primary adds to an api process's environment so that it uses the primary's catcher. */
export function catcherEnv(port: number): Record<string, string> {
  return { [CATCHER_PORT_ENV]: String(port) };
}

/** shareCatcher answers one api process's requests to read or empty the primary's catcher. */
export function shareCatcher(catcher: MailCatcher, worker: Worker): void {
  answerOnChannel<CatcherOp, CaughtMessage[]>(worker, CHANNEL, (op) => {
    if (op === 'clear') catcher.clear();
    return op === 'list' ? catcher.messages() : [];
  });
}

/** PrimaryCatcher is the primary's catcher as an api process reads it; `port` is where it takes mail. */
class PrimaryCatcher implements CaughtMail {
  readonly #ask = callOnChannel<CatcherOp, CaughtMessage[]>(CHANNEL, "the primary's mail catcher");

  constructor(readonly port: number) {}

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
