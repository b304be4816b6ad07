import type { CommandIo } from '../../src/cli/io.js';

/** capturedIo is a CommandIo that keeps what a command prints, for tests. */
export function capturedIo(env: NodeJS.ProcessEnv = {}): { io: CommandIo; out(): string; err(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { env, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
