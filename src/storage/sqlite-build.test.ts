/**
 * The SQLite that better-sqlite3 is built with (deps/better-sqlite3/sqlite3.c, named by .npmrc):
 * better-sqlite3's own compile options, and fdatasync(2) for each WAL commit on Linux instead of
 * fsync(2), which also journals the file's mtime (bench/hot-paths.md, 2026-12-02).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const packageDir = path.dirname(require.resolve('better-sqlite3/package.json'));
const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** The `NAME=value` (or bare `NAME`) entries of better-sqlite3's deps/defines.gypi, as `NAME value`. */
function bundledOptions(): string[] {
  const gypi = readFileSync(path.join(packageDir, 'deps/defines.gypi'), 'utf8');
  return [...gypi.matchAll(/^\s*'([A-Z0-9_]+)(?:=([^']*))?',$/gm)].map(([, name, value]) => `${name} ${value ?? '1'}`);
}

describe("better-sqlite3's SQLite build", () => {
  it("compiles the bundled amalgamation with the bundled build's options, and fdatasync on Linux", () => {
    const source = readFileSync(path.join(REPO_ROOT, 'deps/better-sqlite3/sqlite3.c'), 'utf8');
    const defined = [...source.matchAll(/^#define ([A-Z0-9_]+) (\S+)$/gm)].map(([, name, value]) => `${name} ${value}`);
    expect(bundledOptions().length).toBeGreaterThan(30);
    expect(defined.sort()).toEqual([...bundledOptions(), 'HAVE_FDATASYNC 1'].sort());
  });

  // Only a clean install builds with .npmrc's amalgamation (CI's `npm ci`); a node_modules built
  // before .npmrc named it keeps fsync until `npm rebuild better-sqlite3`.
  it.runIf(process.platform === 'linux' && process.env.CI)('loads a build that syncs with fdatasync', () => {
    // SQLite without HAVE_FDATASYNC defines fdatasync as fsync, so the name is not linked at all.
    const binary = readFileSync(path.join(packageDir, 'build/Release/better_sqlite3.node'));
    expect(binary.includes('fdatasync')).toBe(true);
  });
});
