/** FatalCommit names the Fatal alerts of one tenant that a just-committed ingest transaction stored. */
export interface FatalCommit {
  readonly tenantId: string;
  readonly alertIds: readonly string[];
}

/**
 * FatalSignal lets ingestion tell this process's report scheduler that Fatal alerts were just
 * committed, so their immediate emails are decided at once instead of at the scheduler's next
 * poll (which waits for alerts to settle). Schedulers in other processes still find the alerts by
 * polling, and deciding a flood twice queues nothing more, so a missed signal only costs time.
 */
export class FatalSignal {
  readonly #listeners = new Set<(commit: FatalCommit) => void>();

  /** notify tells every listener; call it only after the transaction that stored the alerts committed. */
  notify(commit: FatalCommit): void {
    for (const listener of this.#listeners) listener(commit);
  }

  /** subscribe registers a listener and returns how to unsubscribe it. */
  subscribe(listener: (commit: FatalCommit) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
