/**
 * statement-times: a preload that times every better-sqlite3 statement of a process, by SQL text
 * (wall time, including a commit's fsync, and the process's CPU time during the call), and writes
 * the totals, largest first, to `<tmpdir>/statement-times-<pid>.txt` every second and at exit. It
 * tells which statements an SQLite worker spends its time in, which a CPU profile cannot (Kysely's
 * driver calls them after an await, so the profile shows one `executeQuery` for all of them).
 *
 *   NODE_OPTIONS="--import ./bench/statement-times.mjs" npm run bench -- --quick --runs 1 --only delivery
 *
 * (the worker processes inherit NODE_OPTIONS; timing each call adds a little CPU of its own.)
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const Database = createRequire(import.meta.url)('better-sqlite3');
const totals = new Map();
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (source) {
  const statement = prepare.call(this, source);
  const key = source.replace(/\s+/g, ' ').slice(0, 100);
  for (const method of ['run', 'all', 'get', 'iterate']) {
    const call = statement[method];
    statement[method] = function (...args) {
      const wall = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      try {
        return call.apply(this, args);
      } finally {
        const used = process.cpuUsage(cpu);
        const total = totals.get(key) ?? { calls: 0, wallMs: 0, cpuMs: 0 };
        total.calls += 1;
        total.wallMs += Number(process.hrtime.bigint() - wall) / 1e6;
        total.cpuMs += (used.user + used.system) / 1000;
        totals.set(key, total);
      }
    };
  }
  return statement;
};

function write() {
  if (totals.size === 0) return;
  const lines = [...totals]
    .sort((a, b) => b[1].wallMs - a[1].wallMs)
    .map(([sql, t]) => `${t.calls}\t${t.wallMs.toFixed(0)} ms wall\t${t.cpuMs.toFixed(0)} ms CPU\t${sql}`);
  fs.writeFileSync(path.join(os.tmpdir(), `statement-times-${process.pid}.txt`), `calls\twall\tCPU\tstatement\n${lines.join('\n')}\n`);
}
setInterval(write, 1_000).unref();
process.on('exit', write);
