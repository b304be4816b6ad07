import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import type { Dialect } from '../../../src/storage/dialect.js';
import { type TestOutboxDatabase, openTestOutboxDatabase } from '../outbox-fixtures.js';
import { type TestSmtpOptions, type TestSmtpServer, startTestSmtpServer } from '../smtp-servers.js';

const WORKER_PROCESS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker-process.ts');

/** WorkerProcesses is an outbox database, an SMTP sink, and delivery workers in processes of their own between them. */
export interface WorkerProcesses {
  readonly database: TestOutboxDatabase;
  readonly sink: TestSmtpServer;
  /**
   * start runs worker-process.ts on the database and the sink with `env` added, and resolves once it
   * says `started`; `onLog` hears every other line of its standard error (its log, warn and above).
   */
  start(env?: Record<string, string>, onLog?: (line: string) => void): Promise<ChildProcess>;
}

/**
 * useWorkerProcesses opens a migrated database of `dialect` and starts a sink with `smtp` before the
 * tests of the calling describe block, and afterwards kills every worker still running (SIGKILL)
 * and closes both.
 */
export function useWorkerProcesses(dialect: Dialect, smtp: TestSmtpOptions = {}): WorkerProcesses {
  let database: TestOutboxDatabase | undefined;
  let sink: TestSmtpServer | undefined;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    sink = await startTestSmtpServer(smtp);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await sink?.close();
    await database?.close();
  });
  return {
    get database() {
      return database!;
    },
    get sink() {
      return sink!;
    },
    start(env = {}, onLog) {
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER_PROCESS], {
        env: { ...process.env, DATABASE_URL: database!.url, SMTP_PORT: String(sink!.port), ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      return new Promise((resolve, reject) => {
        child.stderr!.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString().split('\n')) {
            if (line === 'started') resolve(child);
            else if (line) onLog?.(line);
          }
        });
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      });
    },
  };
}
