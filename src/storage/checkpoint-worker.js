// The idle checkpoint's thread (started by checkpoint-thread.ts): plain JavaScript loading only
// better-sqlite3 and idle-checkpoint.js, so that it starts in a few milliseconds without tsx.
// It opens its own connection to the SQLite file and runs checkpointAtIdle ('checkpoint') or a bare
// PASSIVE copy of the WAL ('copy') when asked, so that the
// main thread does not wait for the checkpoint's fsyncs; it answers each request once done.
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { checkpointAtIdle } from './idle-checkpoint.js';

const { file, fileId, walSizeLimitBytes } = workerData;

/** stillOpened throws unless the path names the file the main connection opened, and not a restored backup moved into place since. */
const stillOpened = () => {
  const now = fs.statSync(file);
  if (now.dev !== fileId.dev || now.ino !== fileId.ino) throw new Error(`${file} was replaced since the storage opened it`);
};
// Before opening, and after (a replacement in between): no statement has read the path's WAL yet.
stillOpened();
const database = new SqliteDatabase(file);
try {
  stillOpened();
} catch (err) {
  database.close();
  throw err;
}
// The same durability as the main connection's; busy_timeout 0: nothing here waits for a lock.
database.pragma('synchronous = FULL');
database.pragma('busy_timeout = 0');
// The WAL's restart, which this connection makes, is where SQLite cuts the file back to this size.
database.pragma(`journal_size_limit = ${walSizeLimitBytes}`);

parentPort.on('message', (message) => {
  if (message === 'close') {
    database.close();
    parentPort.close();
    return;
  }
  try {
    // 'copy', between busy commits: only the copy, whose restart write would take the write lock from the next commit.
    if (message === 'copy') database.pragma('wal_checkpoint(PASSIVE)');
    else checkpointAtIdle(database, (write) => write());
    parentPort.postMessage({ done: true });
  } catch (err) {
    // Busy or closing: SQLite's automatic checkpoint, or the next idle moment's, does it.
    parentPort.postMessage({ done: false, code: err?.code ?? String(err) });
  }
});
