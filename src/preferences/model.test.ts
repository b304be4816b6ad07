import { describe, expect, it } from 'vitest';
import { type Preferences, applyPatch, effectiveSubscriptions, isSubscribed, wantsEmail } from './model.js';

const layer = (subscriptions: Record<string, boolean>, email = {}) => ({ subscriptions, email });

describe('alert preference resolution', () => {
  it('subscribes everyone to every component by default, with both reports on and Fatal-immediately off', () => {
    const none: Preferences = { own: undefined, groups: [] };
    expect(isSubscribed(none, 'Robots', 'Robot.StatusChanged.Offline')).toBe(true);
    expect(wantsEmail(none, 'tenMinuteSummary')).toBe(true);
    expect(wantsEmail(none, 'dailyReport')).toBe(true);
    expect(wantsEmail(none, 'fatalImmediately')).toBe(false);
  });

  it('lets an event entry override its component entry', () => {
    const prefs: Preferences = { own: layer({ Robots: false, 'Robot.StatusChanged.Offline': true }), groups: [] };
    expect(isSubscribed(prefs, 'Robots', 'Robot.StatusChanged.Offline')).toBe(true);
    expect(isSubscribed(prefs, 'Robots', 'Robot.StatusChanged.Available')).toBe(false);
    expect(isSubscribed(prefs, 'Jobs', 'Process.JobExecution.Faulted')).toBe(true);
  });

  it('reads an event named like a property of every object (toString, constructor) by its component when no entry names it', () => {
    const prefs: Preferences = { own: layer({ Process: false }), groups: [layer({ Process: false })] };
    for (const event of ['toString', 'constructor', 'valueOf', 'hasOwnProperty']) {
      expect(isSubscribed(prefs, 'Process', event), event).toBe(false);
      expect(isSubscribed({ own: undefined, groups: prefs.groups }, 'Process', event), event).toBe(false);
    }
    expect(isSubscribed({ own: layer({ Process: false, toString: true }), groups: [] }, 'Process', 'toString')).toBe(true);
    const shown = effectiveSubscriptions({ own: layer({ toString: false }), groups: [] }, { components: ['Process'], events: [] });
    expect(shown).toEqual({ Process: true, toString: false });
  });

  it('applies the union of group rules where the user set nothing, and the user wins where it did', () => {
    const groups = [layer({ Robots: false, Jobs: false }, { dailyReport: false }), layer({ Jobs: true }, { dailyReport: false })];
    const prefs: Preferences = { own: layer({ Queues: false }), groups };
    expect(isSubscribed(prefs, 'Robots', 'Robot.StatusChanged.Offline')).toBe(false);
    expect(isSubscribed(prefs, 'Jobs', 'Process.JobExecution.Faulted')).toBe(true);
    expect(isSubscribed(prefs, 'Queues', 'Queue.Sla.Breached')).toBe(false);
    expect(wantsEmail(prefs, 'dailyReport')).toBe(false);
    const own: Preferences = { own: layer({ Robots: true }, { dailyReport: true }), groups };
    expect(isSubscribed(own, 'Robots', 'Robot.StatusChanged.Offline')).toBe(true);
    expect(wantsEmail(own, 'dailyReport')).toBe(true);
  });

  it('subscribes a member when any of its groups subscribes and turns an email on when any turns it on, whichever group comes first', () => {
    // The union is of every group with a say: a group first in the list that says yes is not undone by a later no,
    // and a group that says nothing of a choice does not hide another's.
    const yes = layer({ Robots: true }, { fatalImmediately: true, dailyReport: true });
    const no = layer({ Robots: false }, { fatalImmediately: false, dailyReport: false });
    const silent = layer({});
    for (const groups of [
      [yes, no],
      [no, yes],
      [silent, no, yes],
    ]) {
      const prefs: Preferences = { own: undefined, groups };
      expect(isSubscribed(prefs, 'Robots', 'Robot.StatusChanged.Offline')).toBe(true);
      expect(wantsEmail(prefs, 'fatalImmediately')).toBe(true);
      expect(wantsEmail(prefs, 'dailyReport')).toBe(true);
    }
    const quiet: Preferences = { own: undefined, groups: [silent, no] };
    expect(isSubscribed(quiet, 'Robots', 'Robot.StatusChanged.Offline')).toBe(false);
    expect(wantsEmail(quiet, 'dailyReport')).toBe(false);
  });

  it("lists an event outside the catalogue that only a member's group names, as that group set it", () => {
    // A group turning off an Alertmanager alertname must show in the member's preferences, not only in the group's.
    const prefs: Preferences = { own: layer({ Queues: false }), groups: [layer({ node_down: false })] };
    const shown = effectiveSubscriptions(prefs, { components: ['Queues'], events: [] });
    expect(shown).toEqual({ Queues: false, node_down: false });
  });

  it('keeps what a patch leaves out and clears what it sets to null', () => {
    const before = layer({ Robots: false, Jobs: false }, { dailyReport: false, fatalImmediately: true });
    const after = applyPatch(before, { subscriptions: { Robots: null, Queues: false }, email: { fatalImmediately: null } });
    expect(after).toEqual({ subscriptions: { Jobs: false, Queues: false }, email: { dailyReport: false } });
    expect(applyPatch(before, { subscriptions: null }).subscriptions).toEqual({});
    expect(applyPatch(before, { email: null })).toEqual({ subscriptions: { Robots: false, Jobs: false }, email: {} });
  });
});
