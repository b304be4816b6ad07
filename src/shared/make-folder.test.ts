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
});
