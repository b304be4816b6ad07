import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFolder } from './make-folder.js';

describe('makeFolder', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-folder-'));
    dirs.push(dir);
    return dir;
  };

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
