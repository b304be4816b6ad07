import { fork } from 'node:child_process';
import path from 'node:path';
import { ROOT, defer } from './lifecycle.js';
import type { SinkMessage, SinkStats } from './sink.js';

/** SinkProcess is a running sink process, seen from the benchmark. */
export interface SinkProcess {
  readonly port: number;
  /** The CA that signed the sink's certificate, when it offers STARTTLS. */
  readonly ca: string | undefined;
  stats(): Promise<SinkStats>;
  reset(): Promise<void>;
  /** nextAccepted resolves with the next message the sink accepts that `wanted` keeps (the sink streams them only once asked). */
  nextAccepted(timeoutMs: number, wanted?: (message: SinkMessage) => boolean): Promise<SinkMessage>;
  /** waitForMessages resolves with the stats once `count` messages were accepted, or throws after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs: number): Promise<SinkStats>;
  stop(): Promise<void>;
}

/**
 * startSinkProcess forks bench/sink-process.ts (with STARTTLS when `tls`, each reply held
 * `replyDelayMs` when given: FastSinkOptions) and waits until it listens.
 */
export async function startSinkProcess(options: { tls?: boolean; replyDelayMs?: number } = {}): Promise<SinkProcess> {
  const child = fork(path.join(ROOT, 'bench/sink-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SINK_TLS: options.tls ? '1' : '0', SINK_REPLY_DELAY_MS: String(options.replyDelayMs ?? 0) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const answers = new Map<number, (answer: any) => void>();
  let watcher: ((message: SinkMessage) => void) | undefined;
  const listening = new Promise<{ port: number; ca?: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sink process exited with ${code}`)));
    child.on('message', (message: any) => {
      if (message.event === 'listening') resolve(message);
      else if (message.event === 'accepted') watcher?.(message.message);
      else answers.get(message.id)?.(message);
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = defer('sink process', async () => {
    if (child.exitCode !== null) return;
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  });
  const ask = (op: string) =>
    new Promise<any>((resolve) => {
      const id = nextId++;
      answers.set(id, (answer) => {
        answers.delete(id);
        resolve(answer);
      });
      child.send({ id, op });
    });
  const { port, ca } = await listening;
  let watching = false;
  return {
    port,
    ca,
    stats: async () => (await ask('stats')).stats as SinkStats,
    reset: async () => void (await ask('reset')),
    async nextAccepted(timeoutMs, wanted = () => true) {
      if (!watching) {
        await ask('watch');
        watching = true;
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watcher = undefined;
          reject(new Error(`no message reached the sink within ${timeoutMs} ms`));
        }, timeoutMs);
        watcher = (message) => {
          if (!wanted(message)) return;
          clearTimeout(timer);
          watcher = undefined;
          resolve(message);
        };
      });
    },
    async waitForMessages(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stats = (await ask('stats')).stats as SinkStats;
        if (stats.messages >= count) return stats;
        if (Date.now() > deadline) throw new Error(`the sink got ${stats.messages} of ${count} messages in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop,
  };
}
