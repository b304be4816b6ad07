/**
 * WINDOW_CACHE_MAX_AGE_MS is how long a window's contents are reused: long enough for every
 * recipient's email of one window, rendered together, to read them once; short enough that an
 * email rendered later (a retry after its server was down, hours on) reads the window afresh, so
 * that it shows no alert deleted meanwhile.
 */
export const WINDOW_CACHE_MAX_AGE_MS = 30_000;

/**
 * WindowCache remembers what a few recent windows hold, because every recipient's email of one
 * window reads the same alerts: 10,000 daily reports must not aggregate 100,000 alerts 10,000
 * times. The windows are in the past once decided, so their contents change only when alerts are
 * deleted or purged: an email rendered within WINDOW_CACHE_MAX_AGE_MS of the read may still show
 * one, which is harmless; one rendered later reads the window again.
 */
export class WindowCache<T> {
  readonly #entries = new Map<string, { readonly value: Promise<T>; readonly at: number }>();

  /** `now` is the machine's clock in milliseconds (tests move it). */
  constructor(
    private readonly maxEntries = 16,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** get returns the cached value of a key, loading it once a while; a failed load is not kept. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    const entry = this.#entries.get(key);
    if (entry && now - entry.at <= WINDOW_CACHE_MAX_AGE_MS) return entry.value;
    const value = load();
    const fresh = { value, at: now };
    value.catch(() => {
      if (this.#entries.get(key) === fresh) this.#entries.delete(key);
    });
    // Maps iterate in insertion order: the first key is the oldest.
    this.#entries.delete(key);
    this.#entries.set(key, fresh);
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return value;
  }
}
