import { describe, expect, it } from 'vitest';
import { captureWarnings } from '../../test/support/log-capture.js';
import { OutageLog, REMIND_EVERY_MS } from './outage-log.js';

/** A refusal as node-postgres raises it when the server is gone. */
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('OutageLog', () => {
  it('warns once, with the error and its reason, for five failures in a row, and says once when it works again', () => {
    let now = 1_000;
    const { log, entries } = captureWarnings('info');
    const outage = new OutageLog(log, { failed: 'the loop failed; backing off', back: 'the loop works again' }, { now: () => now });
    for (let n = 0; n < 5; n += 1) {
      outage.failed(refused(), 100 * 2 ** n);
      now += 1_000;
    }
    outage.worked();
    outage.worked();
    expect(entries.map((e) => e.msg)).toEqual(['the loop failed; backing off', 'the loop works again']);
    expect(entries[0]).toMatchObject({
      level: 40,
      reason: 'database unreachable (ECONNREFUSED)',
      retryInMs: 100,
      err: { message: 'connect ECONNREFUSED 127.0.0.1:5432' },
    });
    expect(entries[1]).toMatchObject({ level: 30, failures: 5, outageMs: 5_000, reason: 'database unreachable (ECONNREFUSED)' });
  });

  it('keeps each retry at debug, without the stack, so that the backoff stays visible to who asks for it', () => {
    const { log, entries } = captureWarnings('debug');
    const outage = new OutageLog(log, { failed: 'the loop failed; backing off', back: 'the loop works again' }, { now: () => 0 });
    for (const wait of [15, 30, 60]) outage.failed(refused(), wait);
    expect(entries.map((e) => [e.level, e.retryInMs])).toEqual([
      [40, 15],
      [20, 30],
      [20, 60],
    ]);
    expect(entries.slice(1).every((e) => e.err === undefined && e.reason === 'database unreachable (ECONNREFUSED)')).toBe(true);
  });

  it('reminds, without the stack, every REMIND_EVERY_MS the outage lasts, saying for how long', () => {
    let now = 0;
    const { log, entries } = captureWarnings('info');
    const outage = new OutageLog(log, { failed: 'the loop failed; backing off', back: 'the loop works again' }, { now: () => now });
    // A 31-minute outage, a failure every 15 s: the first warning and six reminders, not 124 lines.
    for (; now <= 31 * 60_000; now += 15_000) outage.failed(refused(), 15_000);
    const reminders = entries.slice(1);
    expect(entries[0]!.msg).toBe('the loop failed; backing off');
    expect(reminders.map((e) => e.msg)).toEqual([5, 10, 15, 20, 25, 30].map((m) => `the loop failed; backing off (still, for ${m} min)`));
    expect(reminders[0]).toMatchObject({ level: 40, outageMs: REMIND_EVERY_MS, failures: 21, reason: 'database unreachable (ECONNREFUSED)' });
    expect(reminders.every((e) => e.err === undefined)).toBe(true);
  });

  it('starts a new outage after it worked again: its first failure warns again', () => {
    const { log, entries } = captureWarnings('info');
    const outage = new OutageLog(log, { failed: 'failed', back: 'works again' }, { now: () => 0 });
    outage.failed(refused());
    outage.worked();
    outage.failed(refused());
    outage.failed(refused());
    expect(entries.map((e) => e.msg)).toEqual(['failed', 'works again', 'failed']);
  });

  it('warns anew when the line told from the error changes (a new state), once per state, and the outage keeps its start', () => {
    let now = 0;
    const { log, entries } = captureWarnings('info');
    const full = Object.assign(new Error('the disk is full'), { code: 'SQLITE_FULL' });
    const line = (err: unknown) => ((err as { code?: string }).code === 'SQLITE_FULL' ? 'free space' : 'cannot connect');
    const outage = new OutageLog(log, { failed: line, back: 'works again' }, { now: () => now });
    for (const err of [refused(), refused(), full, full, full, refused()]) {
      outage.failed(err);
      now += 1_000;
    }
    outage.worked();
    expect(entries.map((e) => e.msg)).toEqual(['cannot connect', 'free space', 'cannot connect', 'works again']);
    expect(entries.at(-1)).toMatchObject({ failures: 6, outageMs: 6_000 });
  });
});
