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

/** NOT_READY_CAUSES label tocsin_not_ready: a pending migration, or a kind of unavailable database. */
const NOT_READY_CAUSES = ['migrating', ...UNAVAILABLE_CAUSES] as const;

/**
 * watchReadiness adds what /readyz says to /metrics, checked at each scrape: `tocsin_ready` (1 or 0)
 * and `tocsin_not_ready{cause}`, 1 for the cause now and 0 for the others, each listed from the start.
 * Prometheus, where operators alert, saw nothing of a full disk or an unreachable database until
 * requests failed. Of several api processes, the whole is ready only if each is (min), and a cause
 * counts if one process has it (max).
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
  new Gauge({
    name: 'tocsin_ready',
    help: 'Whether this process can serve (1) or not (0), as GET /readyz answers 200 or 503.',
    aggregator: 'min',
    registers: [registry],
    async collect() {
      this.set((await check()).status === 'ready' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tocsin_not_ready',
    help: 'Why this process cannot serve (1 for the cause now, else 0): a pending migration, or why its database cannot be used.',
    labelNames: ['cause'] as const,
    aggregator: 'max',
    registers: [registry],
    async collect() {
      const readiness = await check();
      const now = readiness.status === 'unavailable' ? readiness.cause : readiness.status;
      for (const cause of NOT_READY_CAUSES) this.set({ cause }, cause === now ? 1 : 0);
    },
  });
}
