/** Most keys one query reads: far below SQLite's and PostgreSQL's bound-parameter limits. */
const MAX_KEYS = 250;

interface Waiter<V> {
  readonly resolve: (value: V | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * TurnBatch reads, with one query per tenant, every key asked for during one turn of the event
 * loop. The worker starts a claimed batch's emails in one go, so their composers all ask within
 * the same turn: the rows of a hundred Fatal alerts come from one statement instead of a hundred
 * (statements, not rows, were what reading cost per email). Nothing is kept after the turn, so
 * each email still reads what the database holds when it is composed.
 */
export class TurnBatch<V> {
  #waiting = new Map<string, Map<string, Waiter<V>[]>>();
  #scheduled = false;

  /** `loadMany` reads some keys of one tenant and returns what it found, by key. */
  constructor(private readonly loadMany: (tenantId: string, keys: readonly string[]) => Promise<ReadonlyMap<string, V>>) {}

  /** get resolves with a key's value, or undefined when the tenant has none. */
  get(tenantId: string, key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      let keys = this.#waiting.get(tenantId);
      if (!keys) this.#waiting.set(tenantId, (keys = new Map()));
      const waiters = keys.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else keys.set(key, [{ resolve, reject }]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the I/O and promise callbacks of this turn, so every email started in it has asked.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = new Map();
    for (const [tenantId, keys] of waiting) {
      const all = [...keys.keys()];
      for (let i = 0; i < all.length; i += MAX_KEYS) {
        const chunk = all.slice(i, i + MAX_KEYS);
        this.loadMany(tenantId, chunk).then(
          (found) => {
            for (const key of chunk) for (const w of keys.get(key)!) w.resolve(found.get(key));
          },
          (err: unknown) => {
            for (const key of chunk) for (const w of keys.get(key)!) w.reject(err);
          },
        );
      }
    }
  }
}
