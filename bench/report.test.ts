import { describe, expect, it } from 'vitest';
import { alertmanagerConfig } from './alertmanager.js';
import { formatNumber, ratio, renderReport } from './report.js';

describe('the benchmark report', () => {
  const report = renderReport({
    startedAt: new Date('2026-11-28T00:05:00.123Z'),
    minutes: 11.2,
    budgetMinutes: 14,
    runs: 3,
    machine: { cpuModel: 'AMD EPYC', cores: 2, memoryGb: 23.5, kernel: 'Linux 6', loadAverage: [1, 2, 3] },
    loadAfter: [2, 2, 2],
    versions: { Tocsin: 'abc1234', 'Prometheus Alertmanager': '0.25.0' },
    targets: [
      { goal: 'ingestion ≥ 2× Alertmanager', figure: '2.4×', met: true },
      { goal: 'p95 ≤ Alertmanager', figure: '2,000 ms vs 12 ms', met: false },
      { goal: 'reports', figure: 'n/a', met: undefined },
      { goal: 'scale-out ≤ 1.1×', figure: 'pairs 1.05×, 1.30×', met: 'undecided' },
    ],
    sections: [
      { title: 'Ingestion', method: 'How.', figures: [{ label: 'Tocsin', runs: [3, 1, 2], unit: 'alerts/s', command: 'npm run bench' }], notes: ['a note'] },
    ],
    caveats: ['ingest: 2 runs instead of 3.'],
  });

  it('states every target as met, missed, undecided or not measured', () => {
    expect(report).toContain('| ingestion ≥ 2× Alertmanager | 2.4× | **met** |');
    expect(report).toContain('| p95 ≤ Alertmanager | 2,000 ms vs 12 ms | **missed** |');
    expect(report).toContain('| reports | n/a | not measured |');
    expect(report).toContain('| scale-out ≤ 1.1× | pairs 1.05×, 1.30× | **undecided** (the runs scatter more than the margin) |');
  });

  it('shows each figure as the median of its runs, with the runs and the command', () => {
    expect(report).toContain('| Tocsin | **2.0** alerts/s | 3.0, 1.0, 2.0 | `npm run bench` |');
    expect(report).toContain('median of 3 runs');
  });

  it('names the machine, the versions and the caveats', () => {
    expect(report).toContain('| CPU | AMD EPYC, 2 cores |');
    expect(report).toContain('| Prometheus Alertmanager | 0.25.0 |');
    expect(report).toContain('- ingest: 2 runs instead of 3.');
  });

  it('carries the hand-written sections across a regeneration, the takeover after kill -9 that README cites among them', () => {
    const withHand = renderReport({
      startedAt: new Date('2026-11-28T00:05:00.123Z'),
      minutes: 1,
      budgetMinutes: 14,
      runs: 1,
      machine: { cpuModel: 'AMD EPYC', cores: 2, memoryGb: 23.5, kernel: 'Linux 6', loadAverage: [1, 2, 3] },
      loadAfter: [2, 2, 2],
      versions: {},
      targets: [],
      sections: [],
      caveats: [],
      workerRss: '## Worker memory\n\nrss',
      takeover: '## Takeover after kill -9\n\nfirst resent',
      startup: '## Start-up\n\nstart',
      hotPaths: '## Hot paths\n\nhot',
    });
    const order = ['## Worker memory', '## Takeover after kill -9', '## Start-up', '## Hot paths'].map((title) => withHand.indexOf(title));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('formats numbers and ratios', () => {
    expect(formatNumber(12345.6)).toBe('12,346');
    expect(formatNumber(9.87)).toBe('9.9');
    expect(formatNumber(Number.NaN)).toBe('n/a');
    expect(ratio(5, 2)).toBe('2.50×');
    expect(ratio(1, 0)).toBe('n/a');
  });
});

describe('the Alertmanager config', () => {
  it('notifies a new group at once through one email receiver without TLS', () => {
    const yaml = alertmanagerConfig({ smtpPort: 2525, groupBy: ['...'] });
    expect(yaml).toContain("smtp_smarthost: '127.0.0.1:2525'");
    expect(yaml).toContain("group_by: ['...']");
    expect(yaml).toContain('group_wait: 0s');
    expect(yaml).toContain('require_tls: false');
  });

  it('has a receiver that sends nothing when there is no sink', () => {
    const yaml = alertmanagerConfig({ smtpPort: undefined, groupBy: ['alertname'] });
    expect(yaml).not.toContain('smtp_');
    expect(yaml).toContain('- name: nowhere');
  });
});
