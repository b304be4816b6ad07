/** FatalCommit names the Fatal alerts of one tenant that a just-committed ingest transaction stored. */
export interface FatalCommit {
  readonly tenantId: string;
  readonly alertIds: readonly string[];
  /**
   * Whether the tenant's alert emails are on, as the commit's insert read them in its transaction
   * (PostgreSQL, writeAlertsTelling); undefined when nobody read it.
   */
  readonly mailing?: boolean | undefined;
}

/**
 * FatalSignal lets ingestion tell this process's immediate decider that Fatal alerts were just
 * committed, so their immediate emails are decided at once. An alert whose signal is lost (the
 * process died first) stays stored as undecided, and a decider's sweep decides it later.
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
