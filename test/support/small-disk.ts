import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** SmallDisk is a real 2 MB file system of a test's own, to fill up and free as a full disk is. */
export interface SmallDisk {
  readonly folder: string;
  /** fill takes every block left with one file. */
  fill(): void;
  /** free removes that file. */
  free(): void;
  /** remove unmounts the disk and removes its folder. */
  remove(): void;
}

/** mountSmallDisk mounts a 2 MB tmpfs on a new folder (root only), or returns undefined where it cannot. */
export function mountSmallDisk(): SmallDisk | undefined {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', folder], { stdio: 'ignore' });
  } catch {
    fs.rmSync(folder, { recursive: true, force: true });
    return undefined;
  }
  const filler = path.join(folder, 'filler');
  return {
    folder,
    fill: () => execFileSync('sh', ['-c', `dd if=/dev/zero of=${filler} bs=64k 2>/dev/null || true`]),
    free: () => fs.rmSync(filler),
    remove: () => {
      // Lazily: the worker may still hold a descriptor of the folder for a moment.
      execFileSync('umount', ['-l', folder]);
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}
