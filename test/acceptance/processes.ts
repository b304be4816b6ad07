import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/ports.js';

/** REPO_ROOT is the checkout the acceptance tests run, as a user would. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// The build writes this file last, so its time says when dist/ was last complete.
const BUILD_STAMP = path.join(REPO_ROOT, 'dist/reports/templates/email-html.json');

/**
 * ensureBuilt runs `npm run build` when dist/ is missing or a source file changed since it was
 * built, so the acceptance tests run the compiled service a user runs, never a stale one.
 */
export function ensureBuilt(): void {
  const built = fs.existsSync(BUILD_STAMP) ? fs.statSync(BUILD_STAMP).mtimeMs : 0;
  const sources = fs.readdirSync(path.join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => !f.endsWith('.test.ts'));
  if (sources.some((f) => fs.statSync(path.join(REPO_ROOT, 'src', f)).mtimeMs > built)) {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
}

/** Started is a running child process with its output so far. */
export interface Started {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** waitFor resolves with the first match of a pattern in standard output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** exited resolves with the exit code, or the signal that ended the process. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * cleanEnv is the environment of a fresh shell: PATH and HOME only, so no DATABASE_URL or
 * TOCSIN_* of the developer's leaks into what the test proves.
 */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

/**
 * start spawns a command and collects its output. With `group`, the command leads a process group
 * of its own, as in a terminal, so a signal can reach it and every process it started.
 */
export function start(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv; group?: boolean }): Started {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (!match) return;
          done();
          resolve(match);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        void exit.then(({ code }) => {
          if (!out.match(pattern)) {
            done();
            reject(new Error(`exited (${code}) before ${pattern}\nstdout:\n${out}\nstderr:\n${err}`));
          }
        });
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * stop sends a signal (SIGTERM unless told) to the process, or to its whole group when it was
 * started as one, and returns the exit code and how many milliseconds the exit took.
 */
export async function stop(
  started: Started,
  signal: NodeJS.Signals = 'SIGTERM',
  group = false,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const began = Date.now();
  if (group) process.kill(-started.child.pid!, signal);
  else started.child.kill(signal);
  return { ...(await started.exited()), ms: Date.now() - began };
}

/** groupAlive tells whether any process of a group started with `group: true` still runs. */
export function groupAlive(started: Started): boolean {
  try {
    process.kill(-started.child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

/** killGroup ends whatever is left of a process group, for cleanup after a failed test. */
export function killGroup(started: Started): void {
  try {
    process.kill(-started.child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** What `tocsin serve` prints once it listens, its URL captured. */
const RUNNING = /Tocsin is running: (http:\/\/[^\s/]+)\//;

/** ServeOptions says what database, folder and system SMTP server an instance of the built server uses. */
export interface ServeOptions {
  readonly databaseUrl: string;
  readonly adminToken: string;
  readonly dataDir: string;
  /** The port on 127.0.0.1 of the system SMTP server (plain SMTP, from tocsin@example.com). */
  readonly smtpPort: number;
  /** LOG_LEVEL, warn unless told. */
  readonly logLevel?: string;
  /** What follows `serve` on the command line, e.g. `--role worker`. */
  readonly args?: readonly string[];
  /** More variables, e.g. a short TOCSIN_SUMMARY_INTERVAL_SECONDS. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * serveBuilt starts the built `tocsin serve` as a process group of its own, in a clean environment
 * on a free port, and resolves with its URL once it says it is running. The process is added to
 * `running` before that, so an afterAll that kills `running` ends it even when it never came up.
 */
export async function serveBuilt(options: ServeOptions, running: Started[]): Promise<string> {
  const started = start('node', ['bin/tocsin.js', 'serve', ...(options.args ?? [])], {
    env: cleanEnv({
      DATABASE_URL: options.databaseUrl,
      PORT: String(await freePort()),
      TOCSIN_ADMIN_TOKEN: options.adminToken,
      TOCSIN_DATA_DIR: options.dataDir,
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${options.smtpPort}?from=tocsin@example.com`,
      LOG_LEVEL: options.logLevel ?? 'warn',
      ...options.env,
    }),
    group: true,
  });
  running.push(started);
  return (await started.waitFor(RUNNING))[1]!;
}
