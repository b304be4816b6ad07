/**
 * WindowCache remembers what a few recent windows hold, because every recipient's email of one
 * window reads the same alerts: 10,000 daily reports must not aggregate 100,000 alerts 10,000
 * times. The windows are in the past once decided, so their contents no longer change (a purge
 * or a deleted alert may still show in an email rendered seconds later, which is harmless).
 */
export class WindowCache<T> {
  readonly #entries = new Map<string, Promise<T>>();

  constructor(private readonly maxEntries = 16) {}

  /** get returns the cached value of a key, loading it once; a failed load is not kept. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = load();
      entry.catch(() => this.#entries.delete(key));
      this.#entries.set(key, entry);
      // Maps iterate in insertion order: the first key is the oldest.
      if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return entry;
  }
}
