import { Writable } from 'node:stream';
import pino from 'pino';
import { expect } from 'vitest';

/** LogEntry is one captured log line: its message and whatever fields it carried. */
export type LogEntry = { msg: string; [field: string]: unknown };

/** captureWarnings is a logger that keeps the messages of its warnings and errors, with their fields. */
export function captureWarnings() {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      entries.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { log: pino({ level: 'warn' }, stream), entries };
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
 * expectBackingOff checks a loop's first three failures of a run: each logged with `retryInMs`, each
 * wait longer than the one before (doubling from a tick), not a tick each time.
 */
export function expectBackingOff(failures: readonly LogEntry[], tickMs: number): void {
  const waits = failures.slice(0, 3).map((e) => e.retryInMs as number);
  expect(waits[0]).toBeGreaterThanOrEqual(tickMs / 2);
  expect(waits[1]).toBeGreaterThan(waits[0]!);
  expect(waits[2]).toBeGreaterThan(waits[1]!);
}
