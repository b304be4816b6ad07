import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolder } from './make-folder.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

describe('makeFolder', () => {
  const tempDir = useTempDirs('tocsin-folder-');

  it("makes the folders it creates readable by their owner only (0700), as the data folder's database and key are no one else's, and leaves an existing folder as it is", () => {
    // Made with the umask's 0755, the data folder let every local account read tocsin.db (alerts,
    // addresses, password hashes) beside the key file kept 0600.
    const root = tempDir();
    fs.chmodSync(root, 0o755);
    makeFolder(path.join(root, 'data', 'sqlite'));
    expect(fs.statSync(path.join(root, 'data')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(root, 'data', 'sqlite')).mode & 0o777).toBe(0o700);
    makeFolder(root);
    expect(fs.statSync(root).mode & 0o777).toBe(0o755);
  });

  it.runIf(fs.existsSync('/proc/self'))(
    "fails at once where mkdir answers ENOENT under a folder that exists (/proc), where Node's recursive mkdir looped forever",
    () => {
      // TOCSIN_DATA_DIR=/proc/tocsin (or sqlite:/proc/x/tocsin.db) spun a CPU at start-up, deaf to SIGTERM, for good:
      // fs.mkdirSync(dir, { recursive: true }) retries the parent without end when the kernel says ENOENT there.
      const module = new URL('./make-folder.ts', import.meta.url).href;
      const script = `const { makeFolder } = await import(${JSON.stringify(module)});
        try { makeFolder('/proc/tocsin-make-folder-test/data'); console.log('made'); } catch (err) { console.log(err.code); }`;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 20_000,
        killSignal: 'SIGKILL',
      });
      expect(run.signal).toBeNull();
      expect(run.stdout.trim()).toBe('ENOENT');
    },
    30_000,
  );
});
