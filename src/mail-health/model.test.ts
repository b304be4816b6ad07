import { describe, expect, it } from 'vitest';
import { FAILING_AFTER_MS, HEALTHY, type MailHealth, type MailHealthSignal, nextHealth, showMailHealth } from './model.js';

const T0 = Date.UTC(2026, 10, 30, 9);
const transient: MailHealthSignal = { kind: 'transient', code: 451, error: '451 4.3.0 try again later' };
const permanent: MailHealthSignal = { kind: 'permanent', code: 535, error: '535 5.7.8 authentication failed' };

function fold(signals: readonly [MailHealthSignal, number][], from: MailHealth = HEALTHY) {
  const transitions: string[] = [];
  let health = from;
  for (const [signal, at] of signals) {
    const next = nextHealth(health, signal, at);
    health = next.health;
    if (next.transition) transitions.push(next.transition);
  }
  return { health, transitions };
}

describe('mail health decisions', () => {
  it('fails at once on a permanent refusal, with the server reply, and recovers on a delivery', () => {
    const failing = fold([[permanent, T0]]);
    expect(failing.transitions).toEqual(['failing']);
    expect(showMailHealth(failing.health)).toEqual({ state: 'failing', since: new Date(T0).toISOString(), lastCode: 535, lastError: permanent.error });
    const again = fold(
      [
        [permanent, T0 + 1_000],
        [{ kind: 'delivered' }, T0 + 60_000],
      ],
      failing.health,
    );
    expect(again.transitions).toEqual(['recovered']);
    expect(showMailHealth(again.health)).toEqual({ state: 'ok', since: new Date(T0 + 60_000).toISOString() });
    expect(again.health.incident).toBe(1);
  });

  it('waits more than 15 minutes of transient failures before failing, and a delivery between resets the wait', () => {
    expect(
      fold([
        [transient, T0],
        [transient, T0 + FAILING_AFTER_MS],
      ]).transitions,
    ).toEqual([]);
    expect(
      fold([
        [transient, T0],
        [{ kind: 'delivered' }, T0 + 60_000],
        [transient, T0 + FAILING_AFTER_MS + 1],
      ]).transitions,
    ).toEqual([]);
    const failing = fold([
      [transient, T0],
      [transient, T0 + 5 * 60_000],
      [transient, T0 + FAILING_AFTER_MS + 1],
    ]);
    expect(failing.transitions).toEqual(['failing']);
    expect(failing.health).toMatchObject({ state: 'failing', since: T0, lastCode: 451, permanent: false, incident: 1 });
  });

  it('fails at once when a transient failure ends its email at the deadline, before the 15 minutes', () => {
    const failing = fold([
      [transient, T0],
      [{ ...transient, gaveUp: true } as MailHealthSignal, T0 + 60_000],
    ]);
    expect(failing.transitions).toEqual(['failing']);
    expect(failing.health).toMatchObject({ state: 'failing', since: T0, lastCode: 451, permanent: false, incident: 1 });
  });

  it('fails when a mailbox that refused for now is given up on only if the server took no email since its first failure', () => {
    const full: MailHealthSignal = { kind: 'transient', code: 452, error: '452 4.2.2 mailbox full', mailboxSince: T0 + 1_000 };
    const givenUp = { ...full, gaveUp: true } as MailHealthSignal;
    const alone = fold([
      [full, T0 + 1_000],
      [full, T0 + 30_000],
      [givenUp, T0 + 6 * 60_000],
    ]);
    expect(alone.transitions).toEqual(['failing']);
    const amongOthers = fold([
      [full, T0 + 1_000],
      [{ kind: 'delivered' }, T0 + 20_000],
      [full, T0 + 30_000],
      [givenUp, T0 + 6 * 60_000],
    ]);
    expect(amongOthers.transitions).toEqual([]);
    expect(amongOthers.health.state).toBe('ok');
  });

  it("fails on a relay refusal only when the server took no email lately: one reader refused among delivered ones is that reader's problem", () => {
    const MINUTE = 60_000;
    const relay = (tookEmailAt: number | null): MailHealthSignal => ({
      kind: 'permanent',
      code: 554,
      error: '554 5.7.1 <reader@example.com>: Relay access denied',
      relayDenied: true,
      tookEmailAt,
    });
    const delivered: MailHealthSignal = { kind: 'delivered' };
    // A server that never took an email: it refuses every reader, an incident at once (as before).
    const never = fold([[relay(null), T0]]);
    expect(never.transitions).toEqual(['failing']);
    expect(never.health).toMatchObject({ state: 'failing', since: T0, lastCode: 554, permanent: true, incident: 1 });
    // Windows 25 minutes apart, the refused reader's email before or after the other reader's.
    const mixed = fold([
      [delivered, T0],
      [relay(T0), T0 + 1_000],
      [relay(T0), T0 + 25 * MINUTE],
      [delivered, T0 + 25 * MINUTE + 1_000],
      [relay(T0 + 25 * MINUTE + 1_000), T0 + 50 * MINUTE],
      [delivered, T0 + 50 * MINUTE + 1_000],
      [delivered, T0 + 75 * MINUTE],
      [relay(T0 + 75 * MINUTE), T0 + 75 * MINUTE + 1_000],
    ]);
    expect(mixed.transitions).toEqual([]);
    expect(mixed.health.state).toBe('ok');
    // The same server then refusing every reader: an incident once it has taken nothing for more than FAILING_AFTER_MS of refusals.
    const refusingAll = fold([
      [delivered, T0],
      [relay(T0), T0 + MINUTE],
      [relay(T0), T0 + 20 * MINUTE],
      [relay(T0), T0 + 30 * MINUTE],
      [relay(T0), T0 + 20 * MINUTE + FAILING_AFTER_MS],
    ]);
    expect(refusingAll.transitions).toEqual([]);
    const failing = fold([[relay(T0), T0 + 20 * MINUTE + FAILING_AFTER_MS + 1]], refusingAll.health);
    expect(failing.transitions).toEqual(['failing']);
    expect(failing.health).toMatchObject({ state: 'failing', since: T0 + 20 * MINUTE, lastCode: 554, permanent: true, incident: 1 });
    // Refused exactly FAILING_AFTER_MS after the last delivery is still "lately": that reader's
    // problem, no start of a run, so a second refusal as long after it is no incident yet.
    const atTheEdge = fold([
      [delivered, T0],
      [relay(T0), T0 + FAILING_AFTER_MS],
      [relay(T0), T0 + 2 * FAILING_AFTER_MS + 1],
    ]);
    expect(atTheEdge.transitions).toEqual([]);
    expect(atTheEdge.health.state).toBe('ok');
    // An incident already running goes on through such a refusal, until an email gets through.
    expect(fold([[relay(T0 + 50 * MINUTE), T0 + 50 * MINUTE + 1]], failing.health).health.state).toBe('failing');
  });

  it('counts one incident however many failures follow, and a new one after a delivery', () => {
    const { health, transitions } = fold([
      [permanent, T0],
      [permanent, T0 + 1],
      [transient, T0 + 2],
      [{ kind: 'delivered' }, T0 + 3],
      [permanent, T0 + 4],
    ]);
    expect(transitions).toEqual(['failing', 'recovered', 'failing']);
    expect(health.incident).toBe(2);
  });

  it('changes nothing for a delivery by a healthy tenant', () => {
    expect(nextHealth(HEALTHY, { kind: 'delivered' }, T0).health).toBe(HEALTHY);
    expect(showMailHealth(HEALTHY)).toEqual({ state: 'ok' });
  });

  it('starts the run of emails held out by a paused server when they were first held, and fails once it goes on for more than 15 minutes', () => {
    const held = (heldSince: number): MailHealthSignal => ({ kind: 'transient', error: 'connect: paused', heldSince });
    expect(fold([[held(T0), T0 + FAILING_AFTER_MS]]).transitions).toEqual([]);
    const failing = fold([[held(T0), T0 + FAILING_AFTER_MS + 1]]);
    expect(failing.transitions).toEqual(['failing']);
    expect(failing.health.since).toBe(T0);
    // An earlier failure of its own began the run: it stays the start.
    expect(
      fold([
        [transient, T0 - 60_000],
        [held(T0), T0 + FAILING_AFTER_MS - 30_000],
      ]).transitions,
    ).toEqual(['failing']);
    expect(
      fold([
        [held(T0), T0 + 60_000],
        [{ kind: 'delivered' }, T0 + 120_000],
      ]).health.transientSince,
    ).toBeNull();
  });
});
