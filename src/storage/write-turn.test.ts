/**
 * SQLite only: PostgreSQL has no one write lock to take turns at. Two other processes commit groups
 * back to back on the file (writeTransaction, as two api processes under batches without pause),
 * while this one's statements (as a worker's lease renewals and results) wait for the lock in
 * pauses. SQLite gives the lock to whoever tries when it is free, and the group commits try every
 * millisecond: a statement waited seconds, up to its 10 s deadline, past a worker's lease.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { openStorage } from './storage.js';
import { ASKED_FRESH_MS, WriteTurn } from './write-turn.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const module = (name: string) => JSON.stringify(pathToFileURL(path.join(HERE, name)).href);
/** How many rows each group commit writes: it holds the lock for its inserts and its fsync. */
const GROUP = 2_000;
/** Statements timed: each waits for the lock while the group commits go on. */
const STATEMENTS = 100;
/**
 * The longest wait allowed: less than one heartbeat of a worker's 10 s lease (1.67 s), the least
 * its lease has left when an email's message goes out, for the result to be recorded in. A
 * statement asks for its turn after 100 ms and has it once the group commit holding the lock ends
 * (138–457 ms on 2 busy cores); without turns the longest of 100 waited 5.3–7.4 s.
 */
const LONGEST_MS = 1_500;

/** hog starts a process that commits groups on `file` back to back, and resolves once it has committed one. */
function hog(file: string, children: ChildProcess[]): Promise<void> {
  const script = `
    const { openStorage } = await import(${module('storage.ts')});
    const { writeTransaction } = await import(${module('write-transaction.ts')});
    const storage = await openStorage(${JSON.stringify(`sqlite:${file}`)});
    const insert = storage.sqlite.prepare('insert into hog (n) values (?)');
    const group = writeTransaction(storage);
    for (let n = 0; ; n++) {
      await group(async () => { for (let i = 0; i < ${GROUP}; i++) insert.run(i); });
      if (n === 0) process.stdout.write('committing\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the group commits stopped (${code})`)));
  });
}

describe('WriteTurn', () => {
  const tempDir = useTempDirs('tocsin-turn-');

  it("tells another process's group commits of a request until its waiter has the lock", () => {
    const file = path.join(tempDir(), 't.db');
    const waiter = new WriteTurn(file);
    const committer = new WriteTurn(file);
    expect(committer.asked()).toBe(false);
    waiter.ask();
    waiter.ask();
    expect(committer.asked()).toBe(true);
    waiter.done();
    expect(committer.asked()).toBe(false);
  });

  it('lets a request its waiter stopped renewing go stale (a process killed while asking)', () => {
    const file = path.join(tempDir(), 't.db');
    new WriteTurn(file).ask();
    const renewed = new Date(Date.now() - ASKED_FRESH_MS - 1);
    fs.utimesSync(`${file}-turn`, renewed, renewed);
    expect(new WriteTurn(file).asked()).toBe(false);
  });

  it('asks for nothing where the folder cannot be written, and tells of no request', () => {
    const turn = new WriteTurn(path.join(tempDir(), 'missing', 't.db'));
    turn.ask();
    expect(turn.asked()).toBe(false);
    turn.done();
  });
});

describe("SQLite's write lock under other processes' back-to-back group commits", () => {
  const tempDir = useTempDirs('tocsin-turns-');
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('goes to a statement that has waited for it within a moment of its asking', async () => {
    const file = path.join(tempDir(), 't.db');
    const storage = await openStorage(`sqlite:${file}`);
    try {
      await sql`create table hog (n integer)`.execute(storage.db);
      await sql`create table lease (id integer primary key, until integer)`.execute(storage.db);
      await sql`insert into lease values (1, 0)`.execute(storage.db);
      await Promise.all([hog(file, children), hog(file, children)]);
      const waits: number[] = [];
      for (let n = 0; n < STATEMENTS; n++) {
        const began = performance.now();
        await sql`update lease set until = ${n} where id = 1`.execute(storage.db);
        waits.push(performance.now() - began);
      }
      const longest = Math.max(...waits);
      const median = waits.sort((x, y) => x - y)[STATEMENTS >> 1]!;
      process.stdout.write(`[write turns] ${STATEMENTS} statements, median wait ${median.toFixed(0)} ms, longest ${longest.toFixed(0)} ms\n`);
      expect(longest).toBeLessThan(LONGEST_MS);
      expect(storage.longestLockWaitMs!()).toBeLessThanOrEqual(Math.ceil(longest));
    } finally {
      await storage.close();
    }
  }, 60_000);
});
