import fs from 'node:fs';
import path from 'node:path';

/**
 * makeFolder makes a folder and those above it (mkdir -p), each it creates readable by its owner
 * only (0700): the data folder holds the SQLite file (alerts, addresses, password hashes) and the
 * key file, which are no other local account's, and was made 0755 by the umask. A folder that
 * exists keeps its mode: an operator who made it chose it. When a file stands where one of them
 * should be, it throws an Error saying which path is a file, not a folder: mkdir's own words were
 * "EEXIST: file already exists, mkdir '/srv/tocsin'" (or ENOTDIR for a path under that file), which
 * the start printed as they were, and which read as if the folder were fine. Another failure (no
 * permission, a full disk) is thrown as it is: its words already say why.
 */
export function makeFolder(dir: string): void {
  try {
    makeEach(path.resolve(dir));
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const file = code === 'EEXIST' || code === 'ENOTDIR' ? fileInTheWay(path.resolve(dir)) : undefined;
    if (file !== undefined) throw new Error(`${file} is a file, not a folder`);
    throw err;
  }
}

/**
 * makeEach is mkdir -p one level at a time, each made 0700. Node's own (`recursive: true`) loops
 * forever, a CPU spinning and deaf to SIGTERM, where mkdir answers ENOENT under a folder that exists
 * (/proc, some network and FUSE file systems): that answer is thrown here, once the parent is there.
 */
function makeEach(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EEXIST' && isFolder(dir)) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir || isFolder(parent)) throw err;
    makeEach(parent);
    makeEach(dir);
  }
}

function isFolder(at: string): boolean {
  try {
    return fs.statSync(at).isDirectory();
  } catch {
    return false;
  }
}

/**
 * fileInTheWay is the nearest of `dir` and the folders above it that exists, when it is not a
 * folder. A path under a file cannot be stat'ed (ENOTDIR), no more than a missing one: both are passed.
 */
function fileInTheWay(dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(at);
    } catch {
      if (path.dirname(at) === at) return undefined;
      continue;
    }
    return stat.isDirectory() ? undefined : at;
  }
}
