import { describe, expect, it, vi } from 'vitest';
import { HEALTH_LIST_MAX, type HealthCount, NOISIEST, dailyHealth, healthBySource } from './daily-health.js';

const count = (over: Partial<HealthCount>): HealthCount => ({ severity: 'Error', component: 'Jobs', source: null, count: 1, lastAt: 1_000, ...over });

describe('the health section of the daily report', () => {
  it('counts each component against the day before, busiest first, one that went quiet included', () => {
    const health = dailyHealth(
      [count({ component: 'Jobs', count: 3 }), count({ component: 'Jobs', severity: 'Info', count: 2 }), count({ component: 'Robots', count: 1 })],
      [count({ component: 'Robots', count: 4 }), count({ component: 'Queues', count: 7 })],
    );
    expect(health.components).toEqual([
      { component: 'Jobs', count: 5, previous: 0 },
      { component: 'Robots', count: 1, previous: 4 },
      { component: 'Queues', count: 0, previous: 7 },
    ]);
  });

  it('tells sources still failing from recovered ones: a milder alert after the last failure, or no failure since the day before', () => {
    const health = dailyHealth(
      [
        count({ source: { robot: 'R7' }, count: 4, lastAt: 5_000 }),
        count({ source: { robot: 'R7' }, severity: 'Success', lastAt: 4_000 }),
        count({ source: { process: 'Invoices' }, severity: 'Fatal', count: 2, lastAt: 3_000 }),
        count({ source: { process: 'Invoices' }, severity: 'Success', lastAt: 3_500 }),
        count({ source: { queue: 'Q1' }, severity: 'Info', count: 10, lastAt: 100 }),
        count({ source: null, count: 50 }),
      ],
      [
        count({ source: { robot: 'R9' }, lastAt: -2_000 }),
        count({ source: { robot: 'R7' }, lastAt: -1_000 }),
        count({ source: { queue: 'Q2' }, severity: 'Warn' }),
      ],
    );
    expect(health.stillFailing).toEqual([{ key: { field: 'robot', value: 'R7' }, failures: 4, lastFailureAt: 5_000 }]);
    expect(health.recovered).toEqual([
      { key: { field: 'process', value: 'Invoices' }, lastFailureAt: 3_000 },
      { key: { field: 'robot', value: 'R9' }, lastFailureAt: -2_000 },
    ]);
    // Alerts naming no source count for their component only.
    expect(health.noisiest).toEqual([
      { key: { field: 'queue', value: 'Q1' }, count: 10 },
      { key: { field: 'robot', value: 'R7' }, count: 5 },
      { key: { field: 'process', value: 'Invoices' }, count: 3 },
    ]);
  });

  it('takes no Warn after a failure for a recovery: a business exception or a stopped job after a faulted one is no sign of health', () => {
    const current = [
      count({ source: { queue: 'Invoices' }, lastAt: 1_000 }),
      count({ source: { queue: 'Invoices' }, severity: 'Warn', lastAt: 2_000 }),
      count({ source: { process: 'Billing' }, severity: 'Fatal', lastAt: 1_000 }),
      count({ source: { process: 'Billing' }, severity: 'Warn', lastAt: 2_000 }),
      count({ source: { process: 'Billing' }, severity: 'Info', lastAt: 3_000 }),
    ];
    expect(healthBySource(current).get('queue\nInvoices')).toBe('stillFailing');
    expect(healthBySource(current).get('process\nBilling')).toBe('recovered');
    const health = dailyHealth(current, []);
    expect(health.stillFailing).toEqual([{ key: { field: 'queue', value: 'Invoices' }, failures: 1, lastFailureAt: 1_000 }]);
    expect(health.recovered).toEqual([{ key: { field: 'process', value: 'Billing' }, lastFailureAt: 1_000 }]);
  });

  it('tells which of a failure and a milder alert of the same millisecond came last by the order they were stored in (one batch)', () => {
    // POST {alerts: [Error R7, Success R7]}: both occurred when the batch was stored, and R7's ids count up in the batch's order.
    const batch = (first: HealthCount, second: HealthCount) =>
      healthBySource([
        { ...first, lastId: '01a2310f-d808-7fab-a82c-7f9ab3779095' },
        { ...second, lastId: '01a2310f-d808-7fab-a82c-81206997d5da' },
      ]).get('robot\nR7');
    const failed = count({ source: { robot: 'R7' }, lastAt: 5_000 });
    const back = count({ source: { robot: 'R7' }, severity: 'Success', lastAt: 5_000 });
    expect(batch(failed, back)).toBe('recovered');
    expect(batch(back, failed)).toBe('stillFailing');
    const daily = (first: HealthCount, second: HealthCount) =>
      dailyHealth(
        [
          { ...first, lastId: '01a2310f-d808-7fab-a82c-7f9ab3779095' },
          { ...second, lastId: '01a2310f-d808-7fab-a82c-81206997d5da' },
        ],
        [],
      );
    expect(daily(failed, back).recovered).toEqual([{ key: { field: 'robot', value: 'R7' }, lastFailureAt: 5_000 }]);
    // Its last failure is the one whose flood the report asks about: "acknowledged by".
    expect(daily(back, failed).stillFailing).toEqual([
      { key: { field: 'robot', value: 'R7' }, failures: 1, lastFailureAt: 5_000, lastFailureId: '01a2310f-d808-7fab-a82c-81206997d5da' },
    ]);
  });

  it('lists sources of equal standing in the order people number them: R2 before R10', () => {
    const current = ['R10', 'R2', 'R1', 'R12'].map((robot) => count({ source: { robot } }));
    const health = dailyHealth(current, []);
    expect(health.stillFailing.map((s) => s.key.value)).toEqual(['R1', 'R2', 'R10', 'R12']);
    expect(health.noisiest.map((s) => s.key.value)).toEqual(['R1', 'R2', 'R10', 'R12']);
  });

  it(`names at most the ${NOISIEST} noisiest sources`, () => {
    const current = Array.from({ length: 8 }, (_, i) => count({ source: { robot: `R${i}` }, count: i + 1 }));
    expect(dailyHealth(current, []).noisiest.map((n) => n.key.value)).toEqual(['R7', 'R6', 'R5', 'R4', 'R3']);
  });

  it(`names at most ${HEALTH_LIST_MAX} sources still failing and ${HEALTH_LIST_MAX} recovered, and counts the others`, () => {
    const failing = Array.from({ length: 25 }, (_, i) => count({ source: { process: `P${String(i).padStart(2, '0')}` }, count: 100 - i }));
    const before = Array.from({ length: 12 }, (_, i) => count({ source: { robot: `R${i}` }, lastAt: -i }));
    const health = dailyHealth(failing, before);
    expect(health.stillFailing.map((s) => [s.key.value, s.failures])).toEqual(failing.slice(0, HEALTH_LIST_MAX).map((c) => [c.source!.process, c.count]));
    expect(health.moreStillFailing).toBe(25 - HEALTH_LIST_MAX);
    expect(health.recovered.map((s) => s.key.value)).toEqual(before.slice(0, HEALTH_LIST_MAX).map((c) => c.source!.robot));
    expect(health.moreRecovered).toBe(12 - HEALTH_LIST_MAX);
  });

  it('lists sources whose names compare alike (R1 and R01, a zero-width space) in one order, whatever order the database grouped them in', () => {
    // Names are compared as a reader sorts them (numbers by value, invisible characters skipped), which leaves
    // those ties in the order of the day's counts: SQLite's GROUP BY order, PostgreSQL's hash order.
    const robots = ['R1', 'R01', 'R\u200B1'];
    const day = robots.flatMap((robot) => [
      count({ source: { robot }, count: 2, lastAt: 1_000 }),
      count({ source: { robot }, severity: 'Success', lastAt: 2_000 }),
    ]);
    const before = robots.map((robot) => count({ source: { robot }, lastAt: -1_000 }));
    const failing = robots.map((robot) => count({ source: { robot }, count: 2, lastAt: 1_000 }));
    expect(dailyHealth([...day].reverse(), [...before].reverse())).toEqual(dailyHealth(day, before));
    expect(dailyHealth([...failing].reverse(), [])).toEqual(dailyHealth(failing, []));
  });

  it("names the same sources, in the same order, whatever the server's locale (LANG)", async () => {
    // Names were compared in the process's default locale, which Node takes from LANG: under da_DK, Danish sorts
    // « Aa » after « Z » and « Ö », so a Danish server's report named other sources among tied ones than an American
    // server's (and two instances sharing one PostgreSQL told the readers of one tenant different ones).
    // Components too, which an alert names as it likes, tied in 'Alerts by component'.
    const day = ['Zeta', 'Aarhus', 'Ölen', 'Oslo', 'ålborg', 'Andy', 'R10', 'R2'].map((name) => count({ component: name, source: { robot: name } }));
    const named = (health: ReturnType<typeof dailyHealth>) => [
      ...[health.noisiest, health.stillFailing].map((list) => list.map((s) => s.key.value)),
      health.components.map((c) => c.component),
    ];
    // The modules loaded again on a server started with LANG=da_DK.UTF-8: a collator given no locale is Danish.
    class DanishDefault extends Intl.Collator {
      constructor(locales?: string | string[], options?: Intl.CollatorOptions) {
        super(locales ?? 'da-DK', options);
      }
    }
    vi.stubGlobal('Intl', Object.assign(Object.create(Intl), { Collator: DanishDefault }));
    vi.resetModules();
    try {
      const danish = named((await import('./daily-health.js')).dailyHealth(day, []));
      expect(danish).toEqual(named(dailyHealth(day, [])));
      expect(danish[0]).toEqual(['Aarhus', 'ålborg', 'Andy', 'Ölen', 'Oslo']);
    } finally {
      vi.unstubAllGlobals();
      vi.resetModules();
    }
  });

  it('has nothing to say for two empty days', () => {
    expect(dailyHealth([], [])).toEqual({ components: [], stillFailing: [], moreStillFailing: 0, recovered: [], moreRecovered: 0, noisiest: [] });
  });
});
