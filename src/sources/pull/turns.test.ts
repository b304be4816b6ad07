import { expect, it } from 'vitest';
import { type DueSource, takeTurn } from './turns.js';

it('gives the next turn to the tenant with the fewest polls under way, then to the source due the longest', () => {
  const due: DueSource<string>[] = [
    { row: 'busy-1', tenantId: 'busy', dueAt: 1 },
    { row: 'busy-2', tenantId: 'busy', dueAt: 2 },
    { row: 'other-late', tenantId: 'other', dueAt: 9 },
    { row: 'other-early', tenantId: 'other', dueAt: 5 },
  ];
  const polls = new Map([['busy', 7]]);
  expect(takeTurn(due, polls)?.row).toBe('other-early');
  polls.set('other', 1);
  expect(takeTurn(due, polls)?.row).toBe('other-late');
  polls.set('other', 8);
  expect(takeTurn(due, polls)?.row).toBe('busy-1');
  expect(takeTurn(due, polls)?.row).toBe('busy-2');
  expect(takeTurn(due, polls)).toBeUndefined();
});
