import { describe, expect, it } from 'vitest';
import { NO_PREFERENCES, type PreferenceLayer } from '../preferences/model.js';
import type { Recipient } from '../recipients/eligibility.js';
import type { EventCount } from './alert-facts.js';
import { getsImmediate, getsWindowReport, immediateDelivery } from './recipient-rules.js';

// The decisions are also made again when an email is composed (stillWants), which hid these rules
// from end-to-end tests: a row queued against them was only dropped at send time.
describe('who gets which alert email', () => {
  const reader = (own?: Partial<PreferenceLayer>): Recipient => ({
    type: 'user',
    id: 'ana',
    address: 'ana@example.com',
    name: 'Ana',
    language: 'en',
    timeZone: 'UTC',
    preferences: own ? { own: { subscriptions: {}, email: {}, ...own }, groups: [] } : NO_PREFERENCES,
    optedOut: new Set(),
  });
  const offline = { component: 'Robots', event: 'Robot.StatusChanged.Offline' };
  const events: EventCount[] = [{ severity: 'Error', ...offline, count: 2 }];

  it('mails a Fatal alert at once only to readers who turned Fatal-immediately on and subscribe to its event', () => {
    expect(getsImmediate(reader(), offline)).toBe(false);
    expect(getsImmediate(reader({ email: { fatalImmediately: true } }), offline)).toBe(true);
    expect(getsImmediate(reader({ email: { fatalImmediately: true }, subscriptions: { Robots: false } }), offline)).toBe(false);
  });

  it('sends the "all quiet" report for the daily report only, never a summary of nothing subscribed', () => {
    const robotsOff = reader({ subscriptions: { Robots: false } });
    expect(getsWindowReport(robotsOff, 'daily', events, true)).toBe(true);
    expect(getsWindowReport(robotsOff, 'summary', events, true)).toBe(false);
    expect(getsWindowReport(robotsOff, 'daily', events, false)).toBe(false);
    expect(getsWindowReport(reader(), 'summary', events, false)).toBe(true);
  });

  it('names one immediate email per flood and address, whichever of its alerts it is about', () => {
    const first = immediateDelivery('t', { groupId: 'flood-1', alertId: 'flood-1' }, reader());
    const later = immediateDelivery('t', { groupId: 'flood-1', alertId: 'alert-2' }, { ...reader(), address: 'ANA@example.com' });
    expect(later.idempotencyKey).toBe(first.idempotencyKey);
    expect(later.data).toMatchObject({ alertId: 'alert-2', groupId: 'flood-1' });
  });
});
