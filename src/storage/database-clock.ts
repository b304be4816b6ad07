import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import type { Storage } from './storage.js';

/** How often a process reads the database server's clock again (a machine's clock drifts, or is stepped). */
const REMEASURE_MS = 60_000;
/** Reads per measure; the one with the shortest round trip sets the offset. */
const SAMPLES = 3;
/**
 * Below this the machine's own clock is kept as it is (the few milliseconds a read is off by are
 * noise, and time stays exactly the machine's where the database runs beside it); past it the
 * offset is applied and the start warns: the leases of emails last 10 s.
 */
const OFF_BY_MS = 1_000;

/** DatabaseClock is a Clock that keeps the database server's time; `stop` ends its re-reads. */
export interface DatabaseClock extends Clock {
  stop(): void;
}

/**
 * databaseClock is the time a process keeps: on PostgreSQL, the server's clock when `machine` is a
 * second or more off it (read at start and every minute, its offset applied between reads), so that processes on machines
 * whose clocks disagree agree on when an email's lease runs out, when a summary window ends and
 * when an alert was raised. A worker a minute ahead of the others would otherwise take the emails
 * they hold and send them twice. On SQLite every process is on the database's machine, so it is
 * `machine` itself. A failed re-read keeps the last offset.
 */
export async function databaseClock(storage: Storage, machine: Clock, logger: Logger): Promise<DatabaseClock> {
  if (storage.dialect !== 'postgres') return { now: () => machine.now(), stop: () => {} };
  let offset = await measureOffset(storage, machine);
  warnIfOff(offset, logger);
  const timer = setInterval(() => {
    measureOffset(storage, machine).then(
      (measured) => {
        offset = measured;
      },
      (err: unknown) => logger.debug({ err }, "could not read PostgreSQL's clock; keeping the last offset"),
    );
  }, REMEASURE_MS);
  timer.unref();
  return { now: () => machine.now() + offset, stop: () => clearInterval(timer) };
}

async function measureOffset(storage: Storage, machine: Clock): Promise<number> {
  let best: { roundTrip: number; offset: number } | undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const sent = machine.now();
    const { rows } = await sql<{ ms: number | string }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(storage.db);
    const received = machine.now();
    const roundTrip = received - sent;
    const offset = Math.round(Number(rows[0]!.ms) - (sent + received) / 2);
    if (!best || roundTrip < best.roundTrip) best = { roundTrip, offset };
  }
  return Math.abs(best!.offset) < OFF_BY_MS ? 0 : best!.offset;
}

function warnIfOff(offset: number, logger: Logger): void {
  if (offset === 0) return;
  const seconds = Math.round(Math.abs(offset) / 1000);
  logger.warn(
    { offsetMs: offset },
    `this machine's clock is ${seconds} s ${offset < 0 ? 'ahead of' : 'behind'} PostgreSQL's: Tocsin keeps the database's time ` +
      "(emails' leases, summary windows, alert times); set the machine's clock right (NTP)",
  );
}
