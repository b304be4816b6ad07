/**
 * pg-statements: a preload that counts every statement a process sends to PostgreSQL through
 * node-postgres, by SQL text (its first 90 characters), with the rows each returned or changed,
 * and writes the totals to `$TOCSIN_PG_STATEMENTS_DIR/<pid>.json` every 500 ms and at exit; a
 * process on SQLite has its better-sqlite3 statements counted the same way.
 * A first SIGUSR2 sets every count back to zero and a second one stops counting, so a benchmark
 * counts only its timed window (the worker processes' start-up and shutdown excluded). bench/scale-out.ts reads it to tell what one email costs
 * in statements with 1 and 2 worker processes; PostgreSQL itself counts commits, not statements,
 * without pg_stat_statements. It counts the process's garbage collections the same way, as
 * `gc minor|major|incremental|weakcb`, with their wall time in µs in place of rows.
 *
 *   TOCSIN_PG_STATEMENTS_DIR=/tmp/x NODE_OPTIONS="--import ./bench/pg-statements.mjs" tocsin serve …
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const dir = process.env.TOCSIN_PG_STATEMENTS_DIR;
if (dir) {
  const pg = createRequire(import.meta.url)('pg');
  let totals = new Map();
  /** The timed window: counting from the first SIGUSR2 to the second. */
  let window = 'before';
  const count = (text, rows) => {
    if (window === 'closed') return;
    const key = String(text).replace(/\s+/g, ' ').trim().slice(0, 90);
    const total = totals.get(key) ?? { calls: 0, rows: 0, empty: 0 };
    total.calls += 1;
    total.rows += rows;
    if (rows === 0) total.empty += 1;
    totals.set(key, total);
  };
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, values, callback) {
    const result = query.call(this, config, values, callback);
    const text = typeof config === 'string' ? config : config?.text;
    if (text && result && typeof result.then === 'function') {
      result.then(
        (r) => count(text, Number((Array.isArray(r) ? r.at(-1) : r)?.rowCount ?? 0)),
        () => count(text, 0),
      );
    }
    return result;
  };
  // better-sqlite3's statements likewise (a worker on SQLite): by SQL text, the rows each returned
  // or changed; a statement refused for the write lock (SQLITE_BUSY, tried again) counts as `busy`.
  const sqlite = createRequire(import.meta.url)('better-sqlite3');
  const prepare = sqlite.prototype.prepare;
  let patched = false;
  sqlite.prototype.prepare = function (...args) {
    const statement = prepare.apply(this, args);
    if (!patched) {
      patched = true;
      const proto = Object.getPrototypeOf(statement);
      for (const method of ['run', 'get', 'all']) {
        const original = proto[method];
        proto[method] = function (...params) {
          try {
            const result = original.apply(this, params);
            count(this.source, method === 'run' ? Number(result?.changes ?? 0) : method === 'all' ? result.length : result === undefined ? 0 : 1);
            return result;
          } catch (err) {
            count(err?.code === 'SQLITE_BUSY' ? `busy: ${this.source}` : this.source, 0);
            throw err;
          }
        };
      }
    }
    return statement;
  };
  // Garbage collections in the window, as pseudo-statements: `gc <kind>`, their time in µs as rows.
  const GC_KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) count(`gc ${GC_KINDS[e.detail?.kind] ?? e.detail?.kind}`, Math.round(e.duration * 1000));
  }).observe({ entryTypes: ['gc'] });
  const write = () => fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(Object.fromEntries(totals)));
  setInterval(write, 500).unref();
  process.on('exit', write);
  process.on('SIGUSR2', () => {
    if (window === 'before') totals = new Map();
    else if (window === 'open') write();
    window = window === 'before' ? 'open' : 'closed';
  });
}
