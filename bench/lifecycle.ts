/**
 * Everything a benchmark starts (processes, temp folders, databases) is registered here, so it is
 * released in reverse order at the end of the run, on an error, and on SIGINT/SIGTERM.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

type Release = () => Promise<void> | void;

const releases: { name: string; release: Release }[] = [];
const children = new Set<ChildProcess>();
/** Children started as leaders of their own process group (scripts that spawn servers). */
const groups = new Set<ChildProcess>();

/** ROOT is the repository's root folder. */
export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** defer registers something to release at the end; it returns a function releasing it now. */
export function defer(name: string, release: Release): () => Promise<void> {
  const entry = { name, release };
  releases.push(entry);
  return async () => {
    const at = releases.indexOf(entry);
    if (at < 0) return;
    releases.splice(at, 1);
    await release();
  };
}

/** releaseAll releases everything still registered, newest first, reporting (not throwing) failures. */
export async function releaseAll(): Promise<void> {
  while (releases.length > 0) {
    const { name, release } = releases.pop()!;
    try {
      await release();
    } catch (err) {
      process.stderr.write(`bench: could not release ${name}: ${String(err)}\n`);
    }
  }
}

let handlersInstalled = false;

/** releaseOnSignals makes SIGINT and SIGTERM release everything before the process exits. */
export function releaseOnSignals(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${signal}, cleaning up…\n`);
    void releaseAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Last resort when the process dies without the async release: no child outlives it.
  process.once('exit', () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      if (groups.has(child)) process.kill(-child.pid!, 'SIGKILL');
      else child.kill('SIGKILL');
    }
  });
}

/**
 * startProcess spawns a child that is stopped (SIGTERM, then SIGKILL after `graceMs`) when the
 * run is released; `stop()` does the same earlier.
 */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions & { graceMs?: number } = {},
): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  const stop = defer(name, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs ?? 10_000);
    await exited;
    clearTimeout(timer);
  });
  return { child, stop };
}

/**
 * runScript runs another benchmark script (`node --import tsx FILE ARGS`) in a process group of
 * its own, so that the servers it spawns are stopped with it, and returns its standard output.
 * It fails when the script fails or outlives `timeoutMs`.
 */
export function runScript(file: string, args: readonly string[], options: { env?: Record<string, string | undefined>; timeoutMs: number }): Promise<string> {
  const child = spawn(process.execPath, [...tsxArgs(file), ...args], {
    cwd: ROOT,
    // An undefined value unsets the variable rather than passing the text "undefined".
    env: Object.fromEntries(Object.entries({ ...process.env, ...options.env }).filter(([, v]) => v !== undefined)),
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  children.add(child);
  groups.add(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // the group is gone already
    }
  };
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const release = defer(`script ${file}`, async () => {
    // Even after the script exited, what it started may live on in its group.
    killGroup('SIGTERM');
    if (child.exitCode !== null || child.signalCode !== null) return;
    const timer = setTimeout(() => killGroup('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  });
  const timer = setTimeout(() => killGroup('SIGTERM'), options.timeoutMs);
  return exited.then(async (code) => {
    clearTimeout(timer);
    children.delete(child);
    groups.delete(child);
    await release();
    if (code !== 0)
      throw new Error(
        `${file} ${args.join(' ')} exited with ${code ?? 'a signal'}${out ? `; last output: ${out.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      );
    return out;
  });
}

/** tsxArgs are the node arguments that run a TypeScript file of this repository. */
export function tsxArgs(file: string, extra: readonly string[] = []): string[] {
  return [...extra, '--import', 'tsx', path.join(ROOT, file)];
}

/** tempDir makes a folder removed at release. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tocsin-bench-${prefix}-`));
  defer(`temp folder ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** PG_URL is the PostgreSQL server the benchmarks may create databases on, if any. */
export const PG_URL = process.env.TOCSIN_BENCH_PG_URL ?? process.env.TOCSIN_TEST_PG_URL;

async function pgAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, user: decodeURIComponent(new URL(PG_URL!).username) || 'postgres' });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** postgresDatabase creates an empty database, dropped at release, and returns its URL. */
export async function postgresDatabase(): Promise<string> {
  if (!PG_URL) throw new Error('PostgreSQL benchmarks need TOCSIN_BENCH_PG_URL or TOCSIN_TEST_PG_URL');
  const name = `tocsin_bench_${crypto.randomBytes(5).toString('hex')}`;
  await pgAdmin(`create database ${name}`);
  defer(`database ${name}`, () => pgAdmin(`drop database if exists ${name} with (force)`));
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** sleep waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** waitUntil polls `check` until it is true, or throws `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** freePort asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
