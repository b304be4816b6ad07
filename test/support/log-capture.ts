import { Writable } from 'node:stream';
import pino from 'pino';

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
