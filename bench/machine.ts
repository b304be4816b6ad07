/** What a benchmark ran on: the machine and the versions of everything measured. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { ROOT } from './lifecycle.js';

/** Machine describes the hardware and its load. */
export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly kernel: string;
  readonly loadAverage: readonly number[];
}

/** machine reads the CPU model, core count, memory, kernel and the 1/5/15-minute load now. */
export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** versions names everything the figures depend on; `alertmanager` comes from the running binary. */
export async function versions(pgUrl: string | undefined, alertmanager: string): Promise<Record<string, string>> {
  const sqlite = new SqliteDatabase(':memory:');
  const sqliteVersion = (sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v;
  sqlite.close();
  let postgres = 'not configured';
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl, user: decodeURIComponent(new URL(pgUrl).username) || 'postgres' });
    await client.connect();
    try {
      postgres = (await client.query('show server_version')).rows[0].server_version;
    } finally {
      await client.end();
    }
  }
  const dirty = git('status', '--porcelain', '--untracked-files=no') ? ' (with uncommitted changes)' : '';
  return {
    Tocsin: `${git('rev-parse', '--short', 'HEAD')}${dirty}`,
    'Node.js': process.version,
    'Prometheus Alertmanager': alertmanager,
    PostgreSQL: postgres,
    SQLite: `${sqliteVersion} (better-sqlite3 ${packageVersion('better-sqlite3')})`,
    nodemailer: packageVersion('nodemailer'),
    fastify: packageVersion('fastify'),
  };
}
