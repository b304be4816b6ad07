import { Gauge, type Registry } from 'prom-client';
import { DeadlineError, withinMs } from '../shared/deadline.js';
import { READ_ONLY_REASON, UNAVAILABLE_CAUSES, type UnavailableCause, takesWrites, unavailable } from '../storage/connect.js';
import { pendingMigrations } from '../storage/migrate.js';
import type { Storage } from '../storage/storage.js';

/**
 * READINESS_TIMEOUT_MS bounds the database check of /readyz and of a scrape: a server that stopped
 * answering (a partition, a frozen host) makes it "not ready", not a request that hangs forever.
 */
const READINESS_TIMEOUT_MS = 3000;

/** Readiness is what /readyz answers, and a scrape's tocsin_ready; `error` is the failure behind an unavailable database, to log. */
export type Readiness =
  | { readonly status: 'ready'; readonly database: Storage['dialect'] }
  | { readonly status: 'migrating'; readonly pending: string[] }
  | { readonly status: 'unavailable'; readonly cause: UnavailableCause; readonly reason: string; readonly error?: unknown };

/**
 * checkReadiness tells whether the process can serve: its SQLite file still the one at its path and
 * its disk not full (every write would fail while reads are answered), the database answering within
 * READINESS_TIMEOUT_MS, taking writes, and every migration applied.
 */
export async function checkReadiness(storage: Storage): Promise<Readiness> {
  const gone = storage.fileGone?.();
  if (gone) return { status: 'unavailable', cause: 'file_replaced', reason: gone };
  const full = storage.diskFull?.();
  if (full) return { status: 'unavailable', cause: 'disk_full', reason: full };
  try {
    const { readOnly, pending } = await withinMs(
      takesWrites(storage).then(async (writes) => ({ readOnly: !writes, pending: await pendingMigrations(storage) })),
      READINESS_TIMEOUT_MS,
      'the database',
    );
    if (pending.length > 0) return { status: 'migrating', pending };
    if (readOnly) return { status: 'unavailable', cause: 'read_only', reason: READ_ONLY_REASON };
    return { status: 'ready', database: storage.dialect };
  } catch (error) {
    const why = error instanceof DeadlineError ? { cause: 'unreachable' as const, reason: error.message } : unavailable(error);
    return { status: 'unavailable', ...why, error };
  }
}

/**
 * NOT_READY_CAUSES label tocsin_not_ready: a pending migration, the process still starting (its
 * stand-in answering while the database answers already), or a kind of unavailable database.
 */
const NOT_READY_CAUSES = ['migrating', 'starting', ...UNAVAILABLE_CAUSES] as const;

/** NotReadyCause is why a process cannot serve (NOT_READY_CAUSES). */
export type NotReadyCause = (typeof NOT_READY_CAUSES)[number];

/**
 * readinessGauges adds `tocsin_ready` (1 or 0) and `tocsin_not_ready{cause}` (1 for the cause now,
 * 0 for the others, each listed from the start) to a registry, as `now` says at each scrape: the
 * app's checks (watchReadiness), or a starting process's stand-in's state. Of several api
 * processes, the whole is ready only if each is (min), and a cause counts if one process has it (max).
 */
export function readinessGauges(registry: Registry, now: () => Promise<NotReadyCause | 'ready'>): void {
  new Gauge({
    name: 'tocsin_ready',
    help: 'Whether this process can serve (1) or not (0), as GET /readyz answers 200 or 503.',
    aggregator: 'min',
    registers: [registry],
    async collect() {
      this.set((await now()) === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tocsin_not_ready',
    help: 'Why this process cannot serve (1 for the cause now, else 0): a pending migration, its start, or why its database cannot be used.',
    labelNames: ['cause'] as const,
    aggregator: 'max',
    registers: [registry],
    async collect() {
      const shown = await now();
      for (const cause of NOT_READY_CAUSES) this.set({ cause }, cause === shown ? 1 : 0);
    },
  });
}

/**
 * watchReadiness adds what /readyz says to /metrics (readinessGauges), checked at each scrape:
 * Prometheus, where operators alert, saw nothing of a full disk or an unreachable database until
 * requests failed.
 */
export function watchReadiness(registry: Registry, storage: Storage): void {
  let last: Promise<Readiness> | undefined;
  // Both gauges are collected in one scrape: one check serves both.
  const check = () => {
    last ??= checkReadiness(storage).finally(() => {
      last = undefined;
    });
    return last;
  };
  readinessGauges(registry, async () => {
    const readiness = await check();
    return readiness.status === 'unavailable' ? readiness.cause : readiness.status;
  });
}
