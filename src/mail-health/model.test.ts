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
});
