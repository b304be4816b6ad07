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
/**
 * How far the machine's clock may move from its monotonic clock since the last read before it
 * counts as stepped (NTP stepping it, a VM resumed, an operator's `date -s`): far beyond the
 * drift NTP slews between two reads (0.5 ms a second, 30 ms a minute).
 */
const STEPPED_MS = 1_000;
/** How often, at most, a stepped clock has the server's read again (one at a time: a database away is not asked in a loop). */
const STEP_REREAD_MS = 1_000;
/**
 * How often a process checks, with one read, that the server's own clock was not stepped (NTP on the
 * database's machine, its VM resumed): well within an email's 10 s lease, so that no process keeps the
 * old time long enough for another, on the new one, to take the emails it holds, or it theirs.
 */
const SERVER_CHECK_MS = 1_500;
/**
 * How far the server's clock may be from the time kept before the check counts it as stepped: twice
 * OFF_BY_MS, so that a machine about OFF_BY_MS off, whose offset is kept at one read and dropped as
 * noise at the next, is not read again at every check; a step this small is within what the leases
 * leave (a lease is renewed with 5 s left, a send starts with 3.3 s).
 */
const SERVER_STEPPED_MS = 2 * OFF_BY_MS;

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
 * `machine` itself. A failed re-read keeps the last offset. Every SERVER_CHECK_MS one read of the
 * server's clock checks that it was not stepped itself (NTP on the database's machine): one that was
 * is read again at once, so that every process moves to its new time within seconds of the others.
 * Re-read only every minute, a server stepped an hour ahead left the processes an hour apart for up
 * to a minute, and the workers on the new time took over the emails the others were sending.
 *
 * The machine's clock stepped since the last read (by more than STEPPED_MS against the monotonic
 * clock), the offset read then no longer holds: until the server's clock is read again, at once,
 * the time is the last read's carried forward by the monotonic clock. Keeping the stepped clock
 * for up to a minute, a worker stepped an hour back left its leases unrenewed (an hour left, to
 * it) and another worker took and sent again every email it held; one stepped ahead took theirs.
 */
export async function databaseClock(storage: Storage, machine: Clock, logger: Logger): Promise<DatabaseClock> {
  const monotonic = () => performance.now();
  if (storage.dialect !== 'postgres') return { now: () => machine.now(), stop: () => {} };
  /** The last read: its offset, and the machine's and the monotonic clock's readings when it was taken. */
  let read = { offset: await measureOffset(storage, machine), wall: machine.now(), mono: monotonic() };
  warnIfOff(read.offset, logger);
  let reading: Promise<void> | undefined;
  let lastTry = Number.NEGATIVE_INFINITY;
  const readAgain = () => {
    lastTry = monotonic();
    reading ??= measureOffset(storage, machine)
      .then(
        (offset) => {
          read = { offset, wall: machine.now(), mono: monotonic() };
        },
        (err: unknown) => logger.debug({ err }, "could not read PostgreSQL's clock; keeping the last offset"),
      )
      .finally(() => {
        reading = undefined;
      });
  };
  const now = () => {
    const wall = machine.now();
    const mono = monotonic();
    const elapsed = mono - read.mono;
    if (Math.abs(wall - read.wall - elapsed) <= STEPPED_MS) return wall + read.offset;
    if (reading === undefined && mono - lastTry >= STEP_REREAD_MS) readAgain();
    // Whole milliseconds, as every clock gives: the monotonic clock's fractions were refused by the bigint columns.
    return Math.round(read.wall + read.offset + elapsed);
  };
  // The server's clock read between two readings of this one: outside them by more than SERVER_STEPPED_MS, it was stepped.
  let checking = false;
  const checkServer = () => {
    if (checking || reading !== undefined) return;
    checking = true;
    const before = now();
    serverMs(storage)
      .then(
        (server) => {
          if (server < before - SERVER_STEPPED_MS || server > now() + SERVER_STEPPED_MS) readAgain();
        },
        (err: unknown) => logger.debug({ err }, "could not read PostgreSQL's clock; keeping the last offset"),
      )
      .finally(() => {
        checking = false;
      });
  };
  const timers = [setInterval(readAgain, REMEASURE_MS), setInterval(checkServer, SERVER_CHECK_MS)];
  for (const timer of timers) timer.unref();
  return { now, stop: () => timers.forEach(clearInterval) };
}

/** serverMs reads PostgreSQL's clock (clock_timestamp(): the time of the read, not of its transaction's start). */
async function serverMs(storage: Storage): Promise<number> {
  const { rows } = await sql<{ ms: number | string }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(storage.db);
  return Number(rows[0]!.ms);
}

async function measureOffset(storage: Storage, machine: Clock): Promise<number> {
  let best: { roundTrip: number; offset: number } | undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const sent = machine.now();
    const server = await serverMs(storage);
    const received = machine.now();
    const roundTrip = received - sent;
    const offset = Math.round(server - (sent + received) / 2);
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
