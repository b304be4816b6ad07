import { describe, expect, it } from 'vitest';
import { admitClaimed, planClaim } from './capacity.js';

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
    expect(
      planClaim({
        inFlightByTenant: new Map([
          ['a', 3],
          ['b', 3],
          ['c', 3],
          ['d', 3],
        ]),
        inFlightTotal: 10,
        limits,
        batchSize: 4,
        blockedTenants: [],
      }).limit,
    ).toBe(0);
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
});
