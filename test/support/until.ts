/**
 * until waits for a condition that only a look can tell: a row another process commits, a
 * message another process sends, where no event reaches the test. It looks every `everyMs` and
 * fails naming `what` after `timeoutMs`. It waits for something to happen, never to show that
 * nothing did.
 */
export async function until(
  condition: () => Promise<boolean> | boolean,
  what: string,
  { timeoutMs = 20_000, everyMs = 50 }: { readonly timeoutMs?: number; readonly everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
