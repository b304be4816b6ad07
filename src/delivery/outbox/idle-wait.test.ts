import { describe, expect, it } from 'vitest';
import { type AfterClaim, idleWaitMs } from './idle-wait.js';

const NOW = 1_000_000;
const claimSaid = (overrides: Partial<AfterClaim>): AfterClaim => ({
  nextDueAt: null,
  now: NOW,
  pollMs: 250,
  idlePollMs: 60_000,
  heard: 'watched',
  paused: false,
  ...overrides,
});

describe('idleWaitMs', () => {
  it('sleeps until the next row falls due, at most the idle poll, when it hears of other processes’ rows', () => {
    expect(idleWaitMs(claimSaid({ nextDueAt: NOW + 5_000 }))).toBe(5_000);
    expect(idleWaitMs(claimSaid({ nextDueAt: null }))).toBe(60_000);
    expect(idleWaitMs(claimSaid({ nextDueAt: NOW + 120_000 }))).toBe(60_000);
    expect(idleWaitMs(claimSaid({ nextDueAt: NOW - 10 }))).toBe(0);
    expect(idleWaitMs(claimSaid({ heard: 'notified', idlePollMs: 2_000, nextDueAt: NOW + 5_000 }))).toBe(2_000);
  });

  it('polls when the claim said nothing of the next row, or no idle poll is set', () => {
    expect(idleWaitMs(claimSaid({ nextDueAt: undefined }))).toBe(250);
    expect(idleWaitMs(claimSaid({ idlePollMs: undefined, nextDueAt: NOW + 5_000 }))).toBe(250);
  });

  it('polls on SQLite when the file could not be read, or while a tenant is paused (times no row tells)', () => {
    expect(idleWaitMs(claimSaid({ heard: 'unseen', nextDueAt: NOW + 5_000 }))).toBe(250);
    expect(idleWaitMs(claimSaid({ paused: true, nextDueAt: NOW + 5_000 }))).toBe(250);
    // PostgreSQL's idle poll (2 s) is its look at the paused tenants' settings.
    expect(idleWaitMs(claimSaid({ heard: 'notified', idlePollMs: 2_000, paused: true }))).toBe(2_000);
  });
});
