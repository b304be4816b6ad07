import { performance } from 'node:perf_hooks';

/**
 * READ_CACHE_MS is how long what the send path read of access (the tenant's names and a
 * recipient's permissions; never mail settings, which are read for every email) serves the next
 * emails without asking the database again. Changes made through this process's API take effect at once (forget); a change
 * made by another process (a second `api` process, the CLI) within this time, as for the
 * principals of API tokens (PRINCIPAL_CACHE_MS).
 */
export const READ_CACHE_MS = 2_000;
// Bounds the memory; when full it starts over (a refill costs one resolution per tenant).
const MAX_ENTRIES = 10_000;

interface Entry {
  readonly value: Promise<unknown>;
  readonly until: number;
  readonly generation: number;
}

/**
 * ReadCache keeps what the send path read, by key (each key names its tenant, user or the system
 * default), so that a storm of Fatal alerts does not read and open the same settings and rows for
 * every email on the way to the SMTP server. Failures are never kept: a refusal or a database
 * error is asked again by the next email.
 */
export class ReadCache {
  readonly #entries = new Map<string, Entry>();
  // Bumped by forget, so that a resolution that raced a change is not served after it.
  #generation = 0;

  constructor(
    private readonly ttlMs = READ_CACHE_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** get returns the kept value of a key, or loads it (and keeps it, unless it fails). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    const hit = this.#entries.get(key);
    if (hit && hit.generation === this.#generation && hit.until > now) return hit.value as Promise<T>;
    const value = load();
    const entry: Entry = { value, until: now + this.ttlMs, generation: this.#generation };
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, entry);
    value.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return value;
  }

  /** generation counts the calls of forget: what was read under an earlier one may be stale. */
  get generation(): number {
    return this.#generation;
  }

  /** drop forgets one key, found stale (changed by another process). */
  drop(key: string): void {
    this.#entries.delete(key);
  }

  /** forget drops everything kept: called after any change made through this process's API. */
  forget(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}
