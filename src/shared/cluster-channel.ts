import type { Worker } from 'node:cluster';

/**
 * A request from one api process to its cluster's primary and the answer, over Node's cluster
 * channel (`tocsin serve --role api --processes N`): the primary owns what the processes share (the
 * built-in mail catcher, the whole of their metrics). Each kind of request has a channel of its
 * own, and a process may wait on several at once, so every message names its channel and its id.
 */
interface ChannelMessage {
  readonly channel: string;
  readonly id: number;
  readonly request?: unknown;
  readonly answer?: unknown;
  readonly error?: string;
}

const onChannel = (message: unknown, channel: string): message is ChannelMessage =>
  typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === channel;

/** answerOnChannel answers, in the primary, one api process's requests on `channel` with `handle`. */
export function answerOnChannel<Q, A>(worker: Worker, channel: string, handle: (request: Q) => A | Promise<A>): void {
  worker.on('message', (message: unknown) => {
    if (!onChannel(message, channel)) return;
    const reply = (fields: Pick<ChannelMessage, 'answer' | 'error'>) => {
      if (worker.isConnected()) worker.send({ channel, id: message.id, ...fields } satisfies ChannelMessage);
    };
    Promise.resolve()
      .then(() => handle(message.request as Q))
      .then(
        (answer) => reply({ answer }),
        (err: unknown) => reply({ error: (err as Error).message }),
      );
  });
}

/**
 * callOnChannel is how an api process asks its primary on `channel`: each call resolves with the
 * primary's answer, or rejects with its error (prefixed by `what`) or the channel's own.
 */
export function callOnChannel<Q, A>(channel: string, what: string): (request: Q) => Promise<A> {
  let next = 0;
  const waiting = new Map<number, { resolve: (answer: A) => void; reject: (err: Error) => void }>();
  process.on('message', (message: unknown) => {
    if (!onChannel(message, channel)) return;
    const call = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error === undefined) call?.resolve(message.answer as A);
    else call?.reject(new Error(`${what}: ${message.error}`));
  });
  return (request) =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      process.send!({ channel, id, request } satisfies ChannelMessage, undefined, undefined, (err: Error | null) => {
        if (!err) return;
        waiting.delete(id);
        reject(err);
      });
    });
}
