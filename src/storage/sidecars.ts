import fs from 'node:fs';

/** Sidecars are the -wal and -shm files SQLite keeps beside a file it has open in WAL mode. */
export interface Sidecars {
  /**
   * note records which files they are, once SQLite has made them: at the open of a file already in
   * WAL mode, at the first commit of a new one. Called at each commit; a boolean once recorded.
   */
  note(): void;
  /**
   * setAside takes them from beside the path once the file they belong to was removed or replaced
   * (the connection closed): the WAL is renamed `<file>-wal.replaced-<time>`, the -shm (an index of
   * it, rebuilt from it) removed. A path that no longer names the files recorded is left alone.
   */
  setAside(now: Date): void;
}

const SUFFIXES = ['-wal', '-shm'] as const;

/**
 * sidecarsOf follows the -wal and -shm files of the SQLite `file` a connection opened. SQLite writes
 * nothing into a file moved or removed while open (SQLITE_READONLY_DBMOVED), so its close can neither
 * checkpoint the WAL nor delete it, and the next connection to the path (a restored backup moved into
 * place, README: Backups) read that WAL as its own: the replaced file's pages over the restored ones,
 * a mix of both or "database disk image is malformed". Renamed, the WAL still holds the replaced
 * file's last commits, for an operator who kept that file aside.
 */
export function sidecarsOf(file: string): Sidecars {
  let recorded: { readonly path: string; readonly stat: fs.Stats | undefined }[] | undefined;
  const note = () => {
    if (recorded) return;
    const stats = SUFFIXES.map((suffix) => ({ path: `${file}${suffix}`, stat: fs.statSync(`${file}${suffix}`, { throwIfNoEntry: false }) }));
    if (stats[0]!.stat) recorded = stats;
  };
  note();
  return {
    note,
    setAside(now) {
      for (const { path, stat } of recorded ?? []) {
        const there = fs.statSync(path, { throwIfNoEntry: false });
        if (!stat || there?.ino !== stat.ino || there.dev !== stat.dev) continue;
        if (path.endsWith('-shm')) fs.rmSync(path, { force: true });
        else fs.renameSync(path, `${path}.replaced-${now.toISOString().replaceAll(':', '')}`);
      }
    },
  };
}
