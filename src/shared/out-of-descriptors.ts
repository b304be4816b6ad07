import fs from 'node:fs';
import os from 'node:os';
import { StageError } from './stage-error.js';

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
 * lookupShortage says whether a host name's lookup that failed with `code` failed for want of a
 * file descriptor: glibc's lookup, out of them, answers ENOTFOUND as for a name that does not exist,
 * so a descriptor is tried now and the code that refused it, if one did, is returned.
 */
export function lookupShortage(code: unknown): 'EMFILE' | 'ENFILE' | undefined {
  if (code !== 'ENOTFOUND') return undefined;
  try {
    fs.closeSync(fs.openSync(os.devNull, 'r'));
    return undefined;
  } catch (err) {
    const { code: refused } = err as NodeJS.ErrnoException;
    return outOfDescriptors(refused) ? refused : undefined;
  }
}

/**
 * LookupShortageError is a host name's lookup that failed for want of a file descriptor
 * (lookupShortage): this machine's limit, not the name's or its server's fault, and worth retrying.
 */
export class LookupShortageError extends StageError {
  override readonly name = 'LookupShortageError';
  readonly retryable = true;

  constructor(
    readonly code: 'EMFILE' | 'ENFILE',
    host: string,
  ) {
    super(`this process has no file descriptor left to look up ${host} (${code}), a limit of this machine: ${RAISE_THE_LIMIT}`);
  }
}
