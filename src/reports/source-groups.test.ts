import { describe, expect, it } from 'vitest';
import { SourceTally, groupBySource, sourceKeyOf } from './source-groups.js';

const line = (over: Partial<Parameters<typeof groupBySource>[0][number]> & { id: string }) => ({
  severity: 'Error' as const,
  component: 'Jobs',
  source: null,
  count: 1,
  firstAt: 1_000,
  lastAt: 1_000,
  ...over,
});

describe('grouping alert lines by what failed', () => {
  it('keys an alert by its process, else robot, else queue, else component', () => {
    const machineOnly: Record<string, string> = { machine: 'M' };
    expect(sourceKeyOf({ component: 'Jobs', source: { robot: 'R7', process: 'Invoices', queue: 'Q' } })).toEqual({ field: 'process', value: 'Invoices' });
    expect(sourceKeyOf({ component: 'Jobs', source: { robot: 'R7', queue: 'Q', ...machineOnly } })).toEqual({ field: 'robot', value: 'R7' });
    expect(sourceKeyOf({ component: 'Queues', source: { queue: 'Q', process: '' } })).toEqual({ field: 'queue', value: 'Q' });
    expect(sourceKeyOf({ component: 'Queues', source: machineOnly })).toEqual({ field: 'component', value: 'Queues' });
    expect(sourceKeyOf({ component: 'Queues', source: null })).toEqual({ field: 'component', value: 'Queues' });
  });

  it('puts each line under its source with the count, first and last time, the worst and busiest group first', () => {
    const groups = groupBySource([
      line({ id: 'a', source: { robot: 'R7' }, count: 3, firstAt: 500, lastAt: 900 }),
      line({ id: 'b', source: { process: 'Invoices', robot: 'R8' }, firstAt: 2_000, lastAt: 2_000 }),
      line({ id: 'c', source: { robot: 'R7' }, severity: 'Fatal', firstAt: 1_500, lastAt: 1_600 }),
      line({ id: 'd', source: { process: 'Invoices' }, count: 4, firstAt: 100, lastAt: 3_000 }),
      line({ id: 'e', component: 'Queues' }),
    ]);
    expect(groups.map((g) => [g.key.field, g.key.value, g.severity, g.count, g.firstAt, g.lastAt, g.lines.map((l) => l.id)])).toEqual([
      ['robot', 'R7', 'Fatal', 4, 500, 1_600, ['c', 'a']],
      ['process', 'Invoices', 'Error', 5, 100, 3_000, ['d', 'b']],
      ['component', 'Queues', 'Error', 1, 1_000, 1_000, ['e']],
    ]);
  });

  it("takes a group's figures from the whole period's tally, and lists only the groups of the lines shown", () => {
    const all = [
      line({ id: 'a', source: { robot: 'R7' }, count: 2, firstAt: 100, lastAt: 200 }),
      line({ id: 'b', source: { robot: 'R7' }, count: 5, firstAt: 300, lastAt: 4_000 }),
      line({ id: 'c', source: { queue: 'Q1' }, count: 9, firstAt: 50, lastAt: 60 }),
    ];
    const tally = new SourceTally();
    for (const l of all) tally.add(l);
    const groups = groupBySource([all[0]!], tally.totals());
    expect(groups.map((g) => [g.key.value, g.count, g.firstAt, g.lastAt, g.lines.map((l) => l.id)])).toEqual([['R7', 7, 100, 4_000, ['a']]]);
    // A line the tally missed keeps its own figures.
    expect(groupBySource([all[2]!], []).map((g) => [g.key.value, g.count])).toEqual([['Q1', 9]]);
  });

  it('gives no group for no lines', () => {
    expect(groupBySource([])).toEqual([]);
  });
});
