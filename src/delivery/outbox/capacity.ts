/**
 * Which rows a worker may take, as pure functions: a global cap on sends in flight, and a cap
 * per tenant so that one tenant's slow server can hold at most a few slots while every other
 * tenant's mail keeps flowing.
 */

/** ConcurrencyLimits bound a worker's sends in flight, overall and per tenant. */
export interface ConcurrencyLimits {
  readonly global: number;
  readonly perTenant: number;
}

/** ClaimPlan is how many rows to claim now, and from which tenants not to. */
export interface ClaimPlan {
  readonly limit: number;
  readonly excludeTenants: readonly string[];
}

/**
 * reserveOf is how many sends a worker may have in flight beyond its global limit, for the tenants
 * holding none when it is reached: a tenant's limit. Four tenants whose servers hang each held their
 * 100 of the 400 slots for a timeout (up to 10 minutes), and no other tenant's email was claimed
 * meanwhile; in the reserve each tenant starts a bunch of sends at most (admitClaimed), so it takes
 * ten more hanging servers to use it up, and their sends, too, end within a timeout.
 */
function reserveOf(limits: ConcurrencyLimits): number {
  return limits.perTenant;
}

/**
 * planClaim sizes the next claim: the free global slots (at most `batchSize`), leaving out tenants
 * already holding their limit (sending or waiting) and tenants whose endpoint's breaker is open;
 * with no global slot free, the reserve's free slots (reserveOf), for the tenants holding nothing.
 */
export function planClaim(input: {
  /** Rows each tenant holds: sending, or claimed and waiting for a slot. */
  readonly inFlightByTenant: ReadonlyMap<string, number>;
  /** Sends running (waiting rows excluded), which the global limit bounds. */
  readonly inFlightTotal: number;
  readonly limits: ConcurrencyLimits;
  readonly batchSize: number;
  readonly blockedTenants: Iterable<string>;
}): ClaimPlan {
  const exclude = new Set(input.blockedTenants);
  for (const [tenant, count] of input.inFlightByTenant) if (count >= input.limits.perTenant) exclude.add(tenant);
  const free = input.limits.global - input.inFlightTotal;
  if (free <= 0) {
    // Every slot is taken (a few tenants' hanging servers can do it): the reserve is for the others.
    for (const [tenant, count] of input.inFlightByTenant) if (count > 0) exclude.add(tenant);
  }
  const room = free > 0 ? free : free + reserveOf(input.limits);
  return { limit: Math.max(0, Math.min(input.batchSize, room)), excludeTenants: [...exclude].sort() };
}

/**
 * admitClaimed splits claimed rows into those to send now and those beyond their tenant's free
 * slots, which wait (a claim cannot cap per tenant in one statement: PostgreSQL forbids the
 * window functions it would need next to FOR UPDATE). With `bunch` > 1, a tenant's waiting rows
 * start only once it has that many free slots (or as many as it has rows waiting): a busy
 * tenant's next emails then start, and are composed, together rather than one per send that ends
 * (see admissionBunch).
 */
export function admitClaimed<T extends { readonly tenantId: string }>(
  rows: readonly T[],
  inFlightByTenant: ReadonlyMap<string, number>,
  perTenant: number,
  bunch = 1,
  /** The sends in flight in all and the global limit, past which a tenant starts `bunch` sends at most, in the reserve (reserveOf). */
  overall: { readonly sending: number; readonly global: number } = { sending: 0, global: Number.POSITIVE_INFINITY },
): { start: T[]; wait: T[] } {
  const taken = new Map(inFlightByTenant);
  const held = new Map<string, number>();
  if (bunch > 1) for (const row of rows) held.set(row.tenantId, (held.get(row.tenantId) ?? 0) + 1);
  const start: T[] = [];
  const wait: T[] = [];
  let sending = overall.sending;
  for (const row of rows) {
    const count = taken.get(row.tenantId) ?? 0;
    const enough = bunch <= 1 || perTenant - (inFlightByTenant.get(row.tenantId) ?? 0) >= Math.min(bunch, held.get(row.tenantId)!);
    const room = sending < overall.global || (count < bunch && sending < overall.global + reserveOf({ global: overall.global, perTenant }));
    if (count < perTenant && enough && room) {
      taken.set(row.tenantId, count + 1);
      sending += 1;
      start.push(row);
    } else {
      wait.push(row);
    }
  }
  return { start, wait };
}

/**
 * admissionBunch is how many free slots a tenant's waiting rows wait for (admitClaimed): a tenth
 * of its limit. A worker starts up to `perTenant` sends (100) for a sender of 10 connections per
 * server, so a busy tenant has about 90 rendered emails queued for a connection; starting one per
 * ended send composed each in an event-loop turn of its own and read its alert's facts for one
 * or two emails at a time (TurnBatch). Started by tens, an alert's recipients are composed in one
 * turn and its facts read once, still long before a connection is free. Small limits (tests, a
 * tenant throttled to a few) are unchanged.
 */
export function admissionBunch(perTenant: number): number {
  return Math.max(1, Math.floor(perTenant / 10));
}
