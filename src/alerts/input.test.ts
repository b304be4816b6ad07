import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENTS } from './catalogue.js';
import { alertInput, alertsBody, normaliseAlert, parseAlertsBody, quickInputs } from './input.js';

/** NOW is the server's clock these bodies are read at: their occurredAt, 2026-11-27T10:00:00Z, is an hour before it. */
const NOW = Date.parse('2026-11-27T11:00:00Z');
const text = (max: number) => fc.oneof(fc.string({ maxLength: max + 2 }), fc.constant(''), fc.string({ minLength: max, maxLength: max + 1 }));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof(arb, fc.constant(null), fc.integer() as fc.Arbitrary<unknown>), { nil: undefined });
const source = fc.oneof(
  fc.record({ process: text(512), robot: text(512), machine: text(512), queue: text(512), job: text(512) }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom('robot', 'job', 'extra', '__proto__'), fc.string({ maxLength: 3 })),
  fc.constant([]),
);
const data = fc.oneof(fc.object({ maxDepth: 2 }), fc.jsonValue(), fc.constant(JSON.parse('{"__proto__": {"a": 1}}')));
const alert = fc.record(
  {
    severity: fc.oneof(text(32), fc.constantFrom('Fatal', 'warning')),
    component: fc.oneof(text(64), fc.constant('Robots')),
    event: maybe(text(128)),
    message: fc.oneof(text(4096), fc.constant('m')),
    data: maybe(data),
    source: maybe(source),
    folder: maybe(text(256)),
    dedupKey: maybe(text(256)),
    occurredAt: maybe(fc.oneof(fc.constant('2026-11-27T10:00:00Z'), fc.constant('2026-11-27T10:00:00+01:00'), fc.string())),
    extra: fc.constant(1),
  },
  { requiredKeys: [] },
);

describe('the fast path of alert validation', () => {
  it('accepts only what the schema accepts, and returns what the schema returns', () => {
    fc.assert(
      fc.property(fc.oneof(alert, fc.record({ alerts: fc.array(alert, { maxLength: 3 }) }), fc.anything()), (body) => {
        const isBatch = typeof body === 'object' && body !== null && 'alerts' in body;
        const quick = quickInputs(body, isBatch);
        if (quick === undefined) return;
        const parsed = alertsBody.safeParse(body);
        expect(parsed.success).toBe(true);
        const expected = 'alerts' in parsed.data! ? parsed.data.alerts : [parsed.data];
        // Stringified too: the stored JSON of source follows the key order.
        expect(JSON.stringify(quick)).toBe(JSON.stringify(expected));
        expect(quick).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });

  it('takes the bodies robots send, with every optional field', () => {
    const full = {
      severity: 'Error',
      component: 'Robots',
      event: 'Robot.StatusChanged.NotResponding',
      message: 'not responding',
      data: { attempt: 3 },
      source: { job: 'j1', robot: 'R1' },
      folder: 'Finance',
      dedupKey: 'robot-1',
      occurredAt: '2026-11-27T10:00:00Z',
    };
    expect(quickInputs(full, false)).toEqual([alertInput.parse(full)]);
    expect(quickInputs({ alerts: [full, { severity: 'Info', component: 'Jobs', message: 'm' }] }, true)).toHaveLength(2);
  });

  it('leaves invalid bodies to the schema, which names each field', () => {
    expect(quickInputs({ alerts: [{ severity: 'Info', component: 'Jobs', message: '' }] }, true)).toBeUndefined();
    expect(
      parseAlertsBody(
        {
          alerts: [
            { severity: 'Info', component: 'Jobs', message: 'm' },
            { severity: 'Info', component: 'Jobs', message: '' },
          ],
        },
        NOW,
      ),
    ).toEqual({
      errors: [{ path: 'alerts.1.message', message: expect.any(String) }],
    });
  });

  it('reads an optional field set to null, event and source fields too, as left out', () => {
    const result = parseAlertsBody(
      { severity: 'Info', component: 'Jobs', message: 'm', event: null, source: { process: 'P', robot: null }, folder: null },
      NOW,
    );
    expect(result).toEqual({
      alerts: [expect.objectContaining({ event: 'Process.RaiseAlert', source: JSON.stringify({ process: 'P' }), folder: null })],
    });
    expect(parseAlertsBody({ severity: 'Info', component: 'Jobs', message: 'm', source: { robot: null } }, NOW)).toEqual({
      alerts: [expect.objectContaining({ source: '{}' })],
    });
  });

  it('names a field that is not part of an alert by its own path', () => {
    const result = parseAlertsBody({ severity: 'Info', component: 'Jobs', message: 'm', colour: 'red', source: { robot: 'R1', site: 'Lyon' } }, NOW);
    expect(result).toEqual({
      errors: expect.arrayContaining([
        { path: 'colour', message: 'is not a known field' },
        { path: 'source.site', message: 'is not a known field' },
      ]),
    });
  });
});

describe('event names', () => {
  it('takes every catalogue event in any case under its canonical name, and refuses invalid names', () => {
    for (const { name } of EVENTS) {
      for (const given of [name, name.toLowerCase(), name.toUpperCase()]) {
        expect(normaliseAlert({ severity: 'Info', component: 'Robots', message: 'm', event: given }), given).toMatchObject({ alert: { event: name } });
      }
    }
    expect(normaliseAlert({ severity: 'Info', component: 'Robots', message: 'm', event: 'My.Own-Event:1' })).toMatchObject({
      alert: { event: 'My.Own-Event:1' },
    });
    expect(normaliseAlert({ severity: 'Info', component: 'Robots', message: 'm', event: '.starts with a dot' })).toMatchObject({
      errors: [{ path: 'event' }],
    });
  });
});

describe("a message's length", () => {
  const alert = (message: string) => ({ severity: 'Info', component: 'Jobs', message });
  const paths = (body: unknown) => {
    const result = parseAlertsBody(body, NOW);
    return 'errors' in result ? result.errors.map((e) => e.path) : [];
  };

  it('counts characters as a reader does: an emoji, a letter with its combining accent, a family of joined emoji are one each', () => {
    const emoji = '\u{1F6A8}';
    const accented = 'e\u0301';
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
    for (const one of ['x', emoji, accented, family, '\u{1F1EB}\u{1F1F7}']) {
      expect(paths(alert(one.repeat(4096))), one).toEqual([]);
      expect(paths(alert(`${'x'.repeat(4095)}${one}`)), one).toEqual([]);
      expect(paths(alert(one.repeat(4097))), one).toEqual(['message']);
      // In a batch, where the fast path reads it, as alone.
      expect(paths({ alerts: [alert('m'), alert(one.repeat(4096))] }), one).toEqual([]);
      expect(paths({ alerts: [alert('m'), alert(one.repeat(4097))] }), one).toEqual(['alerts.1.message']);
    }
    expect(parseAlertsBody(alert(accented.repeat(4096)), NOW)).toEqual({ alerts: [expect.objectContaining({ message: accented.repeat(4096) })] });
  });

  it('still bounds what one character may hold, so that a letter under a hundred thousand accents is no way around the limit', () => {
    expect(paths(alert(`a${'\u0301'.repeat(200_000)}`))).toEqual(['message']);
    expect(paths(alert(''))).toEqual(['message']);
  });
});

describe("an alert's occurredAt", () => {
  const at = (occurredAt: string) => ({ severity: 'Error', component: 'Jobs', message: 'm', occurredAt });
  const minutes = (n: number) => new Date(NOW + n * 60_000).toISOString();
  const days = (n: number) => new Date(NOW + n * 86_400_000).toISOString();

  it('refuses a time more than a day ahead of the clock or older than the longest retention, naming it in its batch, where year 1 and 9999 were stored', () => {
    // Year 1 was emailed as "Jan 1, 0001", at Paris's local mean time (+00:09:21); 9999 as an alert yet to come.
    for (const refused of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', days(1.00001), days(-3650.001)]) {
      const result = parseAlertsBody({ alerts: [at(minutes(0)), at(refused)] }, NOW);
      expect(result, refused).toEqual({
        errors: [
          {
            path: 'alerts.1.occurredAt',
            message: expect.stringMatching(
              /^must be within the last 3,650 days and at most a day ahead of the server's clock \(now 2026-11-27T11:00:00.000Z\)$/,
            ),
          },
        ],
      });
    }
    // A robot whose clock is fast, or that labels its local time Z (Auckland: 13 hours ahead), keeps its alerts.
    for (const taken of [minutes(5), minutes(6), '2026-11-28T00:00:00Z', days(1), minutes(-1), days(-3650), '2026-11-27T12:04:00+01:00']) {
      expect(parseAlertsBody(at(taken), NOW), taken).toEqual({ alerts: [expect.objectContaining({ occurredAt: Date.parse(taken) })] });
    }
  });
});
