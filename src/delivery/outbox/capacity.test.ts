import { describe, expect, it } from 'vitest';
import { admissionBunch, admitClaimed, planClaim } from './capacity.js';

const limits = { global: 10, perTenant: 3 };

describe('claim capacity', () => {
  it('claims up to the free global slots, at most a batch', () => {
    expect(planClaim({ inFlightByTenant: new Map(), inFlightTotal: 0, limits, batchSize: 4, blockedTenants: [] }).limit).toBe(4);
    expect(
      planClaim({
        inFlightByTenant: new Map([
          ['a', 2],
          ['b', 2],
          ['c', 2],
          ['d', 2],
        ]),
        inFlightTotal: 8,
        limits,
        batchSize: 4,
        blockedTenants: [],
      }).limit,
    ).toBe(2);
  });

  it('with every global slot taken, claims the reserve (a tenant’s limit) for the tenants holding nothing', () => {
    const held = new Map([
      ['a', 3],
      ['b', 3],
      ['c', 2],
      ['d', 2],
    ]);
    expect(planClaim({ inFlightByTenant: held, inFlightTotal: 10, limits, batchSize: 4, blockedTenants: ['z'] })).toEqual({
      limit: 3,
      excludeTenants: ['a', 'b', 'c', 'd', 'z'],
    });
    expect(planClaim({ inFlightByTenant: held, inFlightTotal: 12, limits, batchSize: 4, blockedTenants: [] }).limit).toBe(1);
    expect(planClaim({ inFlightByTenant: held, inFlightTotal: 13, limits, batchSize: 4, blockedTenants: [] }).limit).toBe(0);
  });

  it('leaves a tenant holding a single row out of the reserve: its one hanging send is enough to keep it out', () => {
    const held = new Map([
      ['a', 3],
      ['b', 3],
      ['c', 3],
      ['d', 1],
    ]);
    expect(planClaim({ inFlightByTenant: held, inFlightTotal: 10, limits, batchSize: 4, blockedTenants: [] }).excludeTenants).toEqual(['a', 'b', 'c', 'd']);
  });

  it('starts a bunch of sends at most for each tenant in the reserve, past the global limit', () => {
    const rows = ['y', 'y', 'w', 'v'].map((tenantId, i) => ({ tenantId, i }));
    // Global 10 full, a reserve of 3, a bunch of 1: one each for y and w, and v once the reserve is full waits too.
    const { start, wait } = admitClaimed(rows, new Map(), 3, 1, { sending: 10, global: 10 });
    expect(start.map((r) => r.i)).toEqual([0, 2, 3]);
    expect(wait.map((r) => r.i)).toEqual([1]);
    expect(admitClaimed(rows, new Map(), 3, 1, { sending: 12, global: 10 }).start.map((r) => r.i)).toEqual([0]);
  });

  it('starts no send past the global limit for a tenant already sending a bunch: the reserve is for the others', () => {
    // At exactly the global limit: one more of x's would have been the 11th of 10, outside the reserve's rule.
    const rows = ['x', 'y'].map((tenantId, i) => ({ tenantId, i }));
    const { start, wait } = admitClaimed(rows, new Map([['x', 1]]), 3, 1, { sending: 10, global: 10 });
    expect(start.map((r) => r.i)).toEqual([1]);
    expect(wait.map((r) => r.i)).toEqual([0]);
  });

  it('does not let rows waiting for a busy tenant use up the global slots', () => {
    const plan = planClaim({ inFlightByTenant: new Map([['x', 8]]), inFlightTotal: 3, limits, batchSize: 10, blockedTenants: [] });
    expect(plan).toEqual({ limit: 7, excludeTenants: ['x'] });
  });

  it('leaves out tenants at their limit and tenants whose endpoint is paused', () => {
    const plan = planClaim({
      inFlightByTenant: new Map([
        ['x', 3],
        ['y', 1],
      ]),
      inFlightTotal: 4,
      limits,
      batchSize: 4,
      blockedTenants: ['z'],
    });
    expect(plan.excludeTenants).toEqual(['x', 'z']);
  });

  it('admits claimed rows up to each tenant’s free slots and keeps the rest waiting', () => {
    const rows = ['x', 'x', 'y', 'x', 'y'].map((tenantId, i) => ({ tenantId, i }));
    const { start, wait } = admitClaimed(rows, new Map([['x', 1]]), 3);
    expect(start.map((r) => r.i)).toEqual([0, 1, 2, 4]);
    expect(wait.map((r) => r.i)).toEqual([3]);
  });

  it('starts a busy tenant’s waiting rows only once a bunch of its slots is free, or as many as it has waiting', () => {
    const rows = ['x', 'x', 'x', 'y'].map((tenantId, i) => ({ tenantId, i }));
    // x: 2 free slots, 3 rows waiting, a bunch of 3: x waits; y: 1 row waiting, so 1 free slot is enough.
    expect(
      admitClaimed(
        rows,
        new Map([
          ['x', 8],
          ['y', 9],
        ]),
        10,
        3,
      ).start.map((r) => r.i),
    ).toEqual([3]);
    // x: 3 free slots: all three start.
    expect(admitClaimed(rows, new Map([['x', 7]]), 10, 3).start.map((r) => r.i)).toEqual([0, 1, 2, 3]);
    // A bunch of 1 is the plain rule: every free slot is taken at once.
    expect(admitClaimed(rows, new Map([['x', 9]]), 10, 1).start.map((r) => r.i)).toEqual([0, 3]);
  });

  it('bunches a tenth of the per-tenant limit, and small limits not at all', () => {
    expect(admissionBunch(100)).toBe(10);
    expect(admissionBunch(19)).toBe(1);
    expect(admissionBunch(1)).toBe(1);
  });
});
