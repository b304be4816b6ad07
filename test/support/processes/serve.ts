import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../../acceptance/processes.js';

/**
 * MAIN is the compiled CLI in dist/, which ensureBuilt keeps up to date with src/: each of its
 * processes (a primary and its api processes) starts in about a second, where through tsx each
 * compiled the server's modules anew, some 9 s more per start on a loaded 2-core machine.
 */
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/cli/main.js');

/** ServeProcess is a `tocsin serve` running in a child process of the test. */
export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** What it printed on stdout so far. */
  printed(): string;
  /** stop sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** RUNNING is the banner's line naming the address served. */
const RUNNING = /Tocsin is running: (http:\/\/[^\s/]+)\//;

/**
 * startServeProcess runs `tocsin serve ARGS` (the compiled CLI, built first if src/ changed since)
 * with `env`, and waits for its banner, which it prints once it (every api process of it) listens.
 * It listens on a port of its own choosing (PORT=0, unless `env` names one), named in the banner:
 * a port found free and then closed could be taken, on a loaded machine, before the child bound it.
 */
export async function startServeProcess(args: readonly string[], env: Record<string, string>, timeoutMs = 180_000): Promise<ServeProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-serve-'));
  ensureBuilt();
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TOCSIN_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let url = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tocsin serve did not print its banner in ${timeoutMs} ms`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const running = RUNNING.exec(out);
      if (running) {
        url = running[1]!;
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tocsin serve exited with ${code} before listening`));
    });
  });
  return {
    url,
    child,
    printed: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
