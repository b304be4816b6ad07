/** Most keys one query reads: far below SQLite's and PostgreSQL's bound-parameter limits. */
const MAX_KEYS = 250;

/**
 * MAX_WAIT_MS is the longest a key asked for while a read is in flight waits for that read to end
 * before it is read anyway: a slow read must not hold the next emails for long.
 */
const MAX_WAIT_MS = 5;

interface Waiter<V> {
  readonly resolve: (value: V | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * TurnBatch reads, with one query per tenant, every key asked for during one turn of the event
 * loop. The worker starts a claimed batch's emails in one go, so their composers all ask within
 * the same turn: the rows of a hundred Fatal alerts come from one statement instead of a hundred
 * (statements, not rows, were what reading cost per email). Keys asked for while a read is in
 * flight wait for it to end (at most MAX_WAIT_MS) and are read together: a worker that starts its
 * emails one SMTP answer at a time, as one of several processes sharing a queue does, otherwise
 * read once per email. Nothing is kept after a read, so each email still reads what the database
 * holds when it is composed.
 */
export class TurnBatch<V> {
  #waiting = new Map<string, Map<string, Waiter<V>[]>>();
  #scheduled = false;
  /** Reads in flight. */
  #loading = 0;
  /** Set while keys wait for the reads in flight (or MAX_WAIT_MS) before their own. */
  #waitTimer: NodeJS.Timeout | undefined;

  /**
   * `loadMany` reads some keys of one tenant and returns what it found, by key; `maxWaitMs` bounds
   * the wait behind a read in flight (tests lengthen it, so that no scheduling delay can end it).
   */
  constructor(
    private readonly loadMany: (tenantId: string, keys: readonly string[]) => Promise<ReadonlyMap<string, V>>,
    private readonly maxWaitMs = MAX_WAIT_MS,
  ) {}

  /** get resolves with a key's value, or undefined when the tenant has none. */
  get(tenantId: string, key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      let keys = this.#waiting.get(tenantId);
      if (!keys) this.#waiting.set(tenantId, (keys = new Map()));
      const waiters = keys.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else keys.set(key, [{ resolve, reject }]);
      if (this.#scheduled) return;
      this.#scheduled = true;
      // After the I/O and promise callbacks of this turn, so every email started in it has asked;
      // behind a read in flight, once it ends.
      if (this.#loading === 0) setImmediate(() => this.#flush());
      else this.#waitTimer = setTimeout(() => this.#flush(), this.maxWaitMs);
    });
  }

  #flush(): void {
    if (!this.#scheduled) return;
    clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    this.#scheduled = false;
    const waiting = this.#waiting;
    this.#waiting = new Map();
    for (const [tenantId, keys] of waiting) {
      const all = [...keys.keys()];
      for (let i = 0; i < all.length; i += MAX_KEYS) {
        const chunk = all.slice(i, i + MAX_KEYS);
        this.#loading++;
        this.loadMany(tenantId, chunk).then(
          (found) => {
            this.#loaded();
            for (const key of chunk) for (const w of keys.get(key)!) w.resolve(found.get(key));
          },
          (err: unknown) => {
            this.#loaded();
            for (const key of chunk) for (const w of keys.get(key)!) w.reject(err);
          },
        );
      }
    }
  }

  /** #loaded ends a read; the keys that waited behind the last one are read now. */
  #loaded(): void {
    this.#loading--;
    if (this.#loading > 0 || this.#waitTimer === undefined) return;
    clearTimeout(this.#waitTimer);
    this.#waitTimer = undefined;
    setImmediate(() => this.#flush());
  }
}
