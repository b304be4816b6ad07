import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, vi } from 'vitest';

/** LogEntry is one captured log line: its message and whatever fields it carried. */
export type LogEntry = { msg: string; [field: string]: unknown };

/**
 * captureWarnings is a logger that keeps the messages of its warnings and errors (or of every line
 * from `level` up), with their fields.
 */
export function captureWarnings(level: pino.Level = 'warn') {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      entries.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { log: pino({ level }, stream), entries };
}

/**
 * expectWarnedOnceAmong waits until a loop that keeps failing has logged `msg` `times` times, and
 * checks that it told the outage once (OutageLog): the first at warn with its error, the others at debug.
 */
export async function expectWarnedOnceAmong(entries: readonly LogEntry[], msg: string, times = 5): Promise<void> {
  const logged = () => entries.filter((e) => e.msg === msg);
  await vi.waitFor(() => expect(logged().length).toBeGreaterThanOrEqual(times), { timeout: 10_000, interval: 5 });
  expect(logged().filter((e) => e.level !== 20)).toHaveLength(1);
  expect(logged()[0]).toMatchObject({ level: 40, err: { type: 'Error' } });
}

/** captureLog is a logger at `level` that keeps all it writes as text, to scan for what must never be logged. */
export function captureLog(level: pino.Level = 'trace') {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { log: pino({ level }, stream), text: () => text };
}

/**
 * expectBackingOff checks a loop's first three failures of a run: each logged with `retryInMs`, the
 * n-th wait within its jittered doubling of a tick (half to all of tick × 2^n), not a tick each time.
 * Not "each longer than the one before": rounded, two jittered waits tie at their ranges' common edge
 * (20 and 20 ms), which CI met once (connector-outage.test.ts, 'expected 20 to be greater than 20').
 */
export function expectBackingOff(failures: readonly LogEntry[], tickMs: number): void {
  const waits = failures.slice(0, 3).map((e) => e.retryInMs as number);
  expect(waits).toHaveLength(3);
  waits.forEach((wait, n) => {
    const ceiling = tickMs * 2 ** n;
    expect(wait, `wait ${n + 1} of ${waits.join(', ')} ms`).toBeGreaterThanOrEqual(Math.round(ceiling / 2));
    expect(wait, `wait ${n + 1} of ${waits.join(', ')} ms`).toBeLessThanOrEqual(ceiling);
  });
}
