/**
 * OutboxDoorbell lets code that has just committed deliveries tell the workers of this process
 * to look now instead of at their next poll, so an immediate email leaves within milliseconds.
 * Workers in other processes still find the rows at their next poll.
 */
export class OutboxDoorbell {
  readonly #listeners = new Set<() => void>();

  /** ring wakes every subscribed worker; call it after the enqueuing transaction commits. */
  ring(): void {
    for (const listener of this.#listeners) listener();
  }

  /** subscribe registers a listener and returns how to unsubscribe it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
