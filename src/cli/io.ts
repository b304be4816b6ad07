/** CommandIo is where a command reads its environment and writes; tests pass their own. */
export interface CommandIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}
