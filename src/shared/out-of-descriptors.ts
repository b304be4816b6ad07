import fs from 'node:fs';
import os from 'node:os';

/**
 * OUT_OF_DESCRIPTORS are the codes of a process (EMFILE) or a machine (ENFILE) with no file
 * descriptor left for a new socket: many clients or SMTP connections at once. One frees as they end,
 * so it is a failure for now, and this machine's, not the server's it was to reach.
 */
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

/** outOfDescriptors is whether a system error's code says no file descriptor was left. */
export function outOfDescriptors(code: unknown): code is 'EMFILE' | 'ENFILE' {
  return typeof code === 'string' && OUT_OF_DESCRIPTORS.has(code);
}

/** RAISE_THE_LIMIT is what an operator does about it. */
export const RAISE_THE_LIMIT = 'raise the open-files limit (ulimit -n, LimitNOFILE) or ease the load';

/**
 * descriptorShortage tries to open a descriptor now and says which code refused it, if one did:
 * for failures whose own code hides a shortage (glibc's lookup of a host name, out of descriptors,
 * answers ENOTFOUND, as for a name that does not exist).
 */
export function descriptorShortage(): 'EMFILE' | 'ENFILE' | undefined {
  try {
    fs.closeSync(fs.openSync(os.devNull, 'r'));
    return undefined;
  } catch (err) {
    const { code } = err as NodeJS.ErrnoException;
    return outOfDescriptors(code) ? code : undefined;
  }
}
