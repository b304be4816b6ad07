import pg from 'pg';
import type { NewAlert } from './input.js';
import { type CurrentFlood, currentFlood } from './store.js';

/**
 * On PostgreSQL the ingest's group commit reads its time floor and the floods of its dedup keys in
 * the round trip of its `begin`: `begin; select … from alert_floods_after_floor(…)` (migration
 * 20261207-30), one simple query, where the flood probe was a statement and a round trip of its
 * own after the floor's, in most group commits (each a write and a wake-up on either side). The
 * function probes after taking the floor's lock, each key with a snapshot of its own, as the probe
 * sent after the floor did. A simple query takes no parameters, so the keys go as literals, quoted
 * by pg; the function's probes are planned once per connection (PL/pgSQL), the call itself is
 * parsed each time, a few microseconds for the keys of a commit.
 */

/** FloodProbe is what a group commit asks at its begin: the floods of these keys as of `now`. */
export interface FloodProbe {
  /** Each tenant's dedup keys, every pair once. */
  readonly keys: readonly (readonly [tenantId: string, dedupKey: string])[];
  /** The clock when the commit began: the alerts are stamped max(now, floor), the window ends there. */
  readonly now: number;
  readonly windowMs: number;
}

/** FoundFloods are a FloodProbe's floods by tenant, then by key; every probed tenant has its map, a key with no flood absent. */
export type FoundFloods = ReadonlyMap<string, ReadonlyMap<string, CurrentFlood>>;

/** floodProbe lists the dedup keys of a commit's batches, or undefined when none has one. */
export function floodProbe(
  batches: readonly { readonly tenantId: string; readonly alerts: readonly NewAlert[] }[],
  now: number,
  windowMs: number,
): FloodProbe | undefined {
  const keys: [string, string][] = [];
  const seen = new Map<string, Set<string>>();
  for (const { tenantId, alerts } of batches) {
    for (const { dedupKey } of alerts) {
      if (dedupKey === null) continue;
      const ofTenant = seen.get(tenantId) ?? seen.set(tenantId, new Set()).get(tenantId)!;
      if (ofTenant.has(dedupKey)) continue;
      ofTenant.add(dedupKey);
      keys.push([tenantId, dedupKey]);
    }
  }
  return keys.length === 0 ? undefined : { keys, now, windowMs };
}

/** floodsAtBeginSql is the select that follows `begin; ` for `probe`, its values quoted as literals. */
export function floodsAtBeginSql(probe: FloodProbe): string {
  const texts = (values: readonly string[]) => `array[${values.map((v) => pg.escapeLiteral(v)).join(',')}]::text[]`;
  const integer = (n: number) => String(Math.trunc(n));
  return (
    'select floor_at, flood_tenant, flood_key, flood_group, flood_at, flood_severity from alert_floods_after_floor(' +
    `${texts(probe.keys.map(([tenantId]) => tenantId))}, ${texts(probe.keys.map(([, key]) => key))}, ${integer(probe.now)}, ${integer(probe.windowMs)})`
  );
}

/** A row of alert_floods_after_floor: the floor alone first, then a key's newest alert in its window. */
export interface FloodsAtBeginRow {
  readonly floor_at: number | string | null;
  readonly flood_tenant: string | null;
  readonly flood_key: string | null;
  readonly flood_group: string | null;
  readonly flood_at: number | string | null;
  readonly flood_severity: number | string | null;
}

/** readFloodsAtBegin reads the floor and the floods of `probe` from the function's rows. */
export function readFloodsAtBegin(probe: FloodProbe, rows: readonly FloodsAtBeginRow[]): { floor: number; floods: FoundFloods } {
  const floods = new Map<string, Map<string, CurrentFlood>>();
  for (const [tenantId] of probe.keys) if (!floods.has(tenantId)) floods.set(tenantId, new Map());
  for (const row of rows) {
    if (row.flood_tenant === null || row.flood_key === null) continue;
    const flood = currentFlood({ dedup_key: row.flood_key, group_id: row.flood_group, created_at: row.flood_at ?? 0, severity: row.flood_severity ?? 0 });
    if (flood) floods.get(row.flood_tenant)?.set(row.flood_key, flood);
  }
  return { floor: Number(rows[0]?.floor_at ?? 0), floods };
}
