import { performance } from 'node:perf_hooks';

/**
 * LEASED_READS_MAX_AGE_MS is how long what a commit read for its leased rows stands in for reading
 * it again: about the time from a commit to its rows' first bytes at the SMTP server. A row that
 * waits longer (its tenant's connections are busy) reads afresh, as a claimed row does.
 */
export const LEASED_READS_MAX_AGE_MS = 1_000;

/** How many commits' reads are kept at most: far more than commit within LEASED_READS_MAX_AGE_MS on one Fatal path. */
export const LEASED_READS_MAX_COMMITS = 256;

interface Entry {
  readonly at: number;
  /** The count of changes (`changes`) before the commit read what the entry holds. */
  readonly changes: number;
  readonly values: Map<string, unknown>;
}

/**
 * LeasedReads keeps what the transaction that queued rows leased to this process's worker read for
 * sending them (a tenant's mail settings and names, an alert's facts, a reader's address and
 * permissions), by the rows' lease token: the worker sends them right after the commit without
 * reading them again. Each value is the database's, as
 * that transaction read it, and stands only for LEASED_READS_MAX_AGE_MS after the read and until
 * the next change made through the API (`changes`, the ReadCache's forget: a reader deleted or
 * readdressed, a role removed, the mail settings saved); a row of another lease (a claim), or one
 * started later or after such a change, reads what it needs when it is sent.
 */
export class LeasedReads {
  readonly #entries = new Map<string, Entry>();

  /**
   * `now` is a monotonic clock in ms (tests move it); `changes` counts the changes made through
   * the API (ReadCache's generation), after any of which nothing read before stands.
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly changes: () => number = () => 0,
  ) {}

  /**
   * stamp is the count of changes now, taken before a commit reads what it puts: a change that
   * commits meanwhile (on PostgreSQL, another connection's) and is forgotten before the put is
   * still seen as later than the read.
   */
  stamp(): number {
    return this.changes();
  }

  /** put keeps `value` under `key` for the rows leased with `token`, read since `stamp` (stamp()). */
  put(token: string, key: string, value: unknown, stamp: number): void {
    let entry = this.#entries.get(token);
    if (!entry) {
      // Maps iterate in insertion order: the first is the oldest commit.
      if (this.#entries.size >= LEASED_READS_MAX_COMMITS) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(token, (entry = { at: this.now(), changes: stamp, values: new Map() }));
    }
    entry.values.set(key, value);
  }

  /** get is what the commit that leased rows with `token` read under `key`, while it still stands; else undefined. */
  get<T>(token: string | null, key: string): T | undefined {
    if (token === null) return undefined;
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    if (this.now() - entry.at > LEASED_READS_MAX_AGE_MS || this.changes() !== entry.changes) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry.values.get(key) as T | undefined;
  }
}

/** The keys under which the commit of a Fatal alert keeps what its leased emails need. */
export const LEASED_KEYS = {
  /** A tenant's mail settings with the saved system default (readSendSettings). */
  sendSettings: (tenantId: string) => `settings:${tenantId}`,
  /** An alert's row, flood so far and acknowledgement (immediateFactsOf). */
  immediateFacts: (alertId: string) => `facts:${alertId}`,
  /** How many emails about an alert the commit queued. */
  alertEmails: (alertId: string) => `emails:${alertId}`,
  /** What composing an email reads of its tenant and its reader, by the key a claim shares it under (READER_READS). */
  readerRead: (what: string) => `read:${what}`,
};
