/** DueSource is a source whose poll is due, with its tenant and the time it fell due. */
export interface DueSource<T> {
  readonly row: T;
  readonly tenantId: string;
  readonly dueAt: number;
}

/**
 * takeTurn removes from `due` and returns the source to poll next: of the tenants with the fewest
 * polls under way (`polls`), the source due the longest. Taken in the order the table lists them, a
 * tenant's sources listed first, due again as each of their slow polls ended, took every slot a
 * worker frees, and a tenant listed after them was never polled. So a tenant's due source waits
 * for at most one poll to end, however many sources another tenant has.
 */
export function takeTurn<T>(due: DueSource<T>[], polls: ReadonlyMap<string, number>): DueSource<T> | undefined {
  const under = (source: DueSource<T>) => polls.get(source.tenantId) ?? 0;
  let best: number | undefined;
  for (let i = 0; i < due.length; i += 1) {
    const [a, b] = [due[i]!, best === undefined ? undefined : due[best]!];
    if (b === undefined || under(a) < under(b) || (under(a) === under(b) && a.dueAt < b.dueAt)) best = i;
  }
  return best === undefined ? undefined : due.splice(best, 1)[0];
}
