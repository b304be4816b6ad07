import { describe, expect, it } from 'vitest';
import { normaliseAlert } from '../../alerts/input.js';
import { resolveMapping, type SourceMapping } from '../model.js';
import { mapAlertmanager } from './alertmanager.js';
import { ORCHESTRATOR_RULES, QUIET_TYPES, mapOrchestratorEvent, orchestratorStaleness, orchestratorTableRows } from './orchestrator.js';
import { type MappedAlerts, type MappingFailure, measuredJson } from './shared.js';

const defaults = (kind: 'orchestrator-webhook' | 'alertmanager') => resolveMapping(kind, undefined) as SourceMapping;
const orchestrator = (event: Record<string, unknown>, mapping = defaults('orchestrator-webhook')) => {
  const text = JSON.stringify(event);
  const result = mapOrchestratorEvent(event, text, mapping);
  if ('invalid' in result) throw new Error(result.invalid);
  return result;
};
const job = { Id: 1, Key: 'job-key', Info: 'Boom\nstack', Robot: { Name: 'r1', MachineName: 'M1' }, Release: { ProcessKey: 'Invoices' } };

/** One documented-shape event (reference §1.2) for each row of the table. */
const FIXTURES: Record<string, Record<string, unknown>> = {
  'Process.JobExecution.Faulted': { Type: 'job.faulted', Job: job },
  'Process.JobExecution.Stopped': { Type: 'job.stopped', Jobs: [job] },
  'Job.Completed': { Type: 'job.completed', Job: job },
  'Job.Suspended': { Type: 'job.suspended', Job: job },
  'Job.Resumed': { Type: 'job.resumed', Job: job },
  'Robot.StatusChanged.Offline': { Type: 'robot.status', Sessions: [{ RobotId: 1, HostMachineName: 'M1', State: 'Disconnected' }] },
  'Robot.StatusChanged.NotResponding': { Type: 'robot.status', Sessions: [{ RobotId: 1, State: 'Busy', IsUnresponsive: true }] },
  'Robot.StatusChanged.Available': { Type: 'robot.status', Sessions: [{ RobotId: 1, State: 'Available', IsUnresponsive: false }] },
  'Queue.TransactionStatus.FailedWithApplicationException': {
    Type: 'queueItem.transactionFailed',
    QueueItem: { Id: 5, Key: 'qi', RetryNumber: 0, ProcessingException: { Reason: 'Selector not found', Type: 'ApplicationException' } },
    Queue: { Name: 'invoices' },
  },
  'Queue.TransactionStatus.FailedWithBusinessException': {
    Type: 'queueItem.transactionFailed',
    QueueItem: { Id: 5, Key: 'qi', RetryNumber: 1, ProcessingException: { Reason: 'Amount too high', Type: 'BusinessException' } },
    Queue: { Name: 'invoices' },
  },
  'Queue.TransactionStatus.Abandoned': { Type: 'queueItem.transactionAbandoned', Queue: { Name: 'invoices' }, QueueItems: [{ Id: 6, Key: 'a' }] },
  'Schedule.NoJobCreated': {
    Type: 'schedule.failed',
    ProcessSchedule: { Id: 134, Name: 'nightly', Release: { ProcessKey: 'Args' } },
    Reason: 'The robots already have pending jobs for this Process',
  },
  'Schedule.MaxNumberOfJobsAlreadyExist': {
    Type: 'schedule.failed',
    ProcessSchedule: { Id: 134, Name: 'nightly' },
    Reason: 'The maximum number of jobs has been reached',
  },
  'Task.AssignmentChanged': { Type: 'task.assignmentChanged', Task: { Id: 9, Title: 'Approve invoice' } },
  'Process.Custom': { Type: 'custom', EventData: { severity: 'Warn', message: 'custom thing' } },
};

describe('the Orchestrator webhook mapping table', () => {
  it('has a fixture for every row', () => {
    expect(ORCHESTRATOR_RULES.map((r) => r.event).filter((e) => !(e in FIXTURES))).toEqual([]);
  });

  for (const row of ORCHESTRATOR_RULES) {
    it(`maps ${row.type} (${row.condition || 'always'}) to ${row.component} ${row.event}${row.alert ? '' : ' when opted in'} ${row.basis}`, () => {
      const fixture = { EventId: 'e1', Timestamp: '2026-01-02T03:04:05Z', ...FIXTURES[row.event]! };
      const optIn = row.alert ? defaults('orchestrator-webhook') : { events: { [row.type]: { alert: true } } };
      const { alerts } = orchestrator(fixture, optIn);
      expect(alerts).toHaveLength(1);
      const expected = row.event === 'Process.Custom' ? 'Warn' : row.severity;
      expect(alerts[0]).toMatchObject({ component: row.component, event: row.event, severity: expected, occurredAt: '2026-01-02T03:04:05.000Z' });
      expect(alerts[0]!.message.length).toBeGreaterThan(5);
      // What the mapping produces is valid input for the ingestion path.
      expect('alert' in normaliseAlert(alerts[0]!)).toBe(true);
      if (!row.alert) expect(orchestrator(fixture).alerts).toEqual([]);
    });
  }

  it('builds messages and sources from the payload', () => {
    const { alerts } = orchestrator({ Type: 'job.faulted', EventId: 'x', Job: job, OrganizationUnitId: 3 });
    expect(alerts[0]).toMatchObject({
      message: 'Job Invoices #1 faulted on r1 (M1): Boom',
      source: { process: 'Invoices', robot: 'r1', machine: 'M1', job: 'job-key' },
      folder: '3',
      dedupKey: 'job.faulted:job-key',
    });
    const failed = orchestrator({ EventId: 'y', ...FIXTURES['Queue.TransactionStatus.FailedWithBusinessException']! }).alerts[0]!;
    expect(failed).toMatchObject({
      message: 'Queue item 5 of queue invoices failed: BusinessException: Amount too high',
      dedupKey: 'queueItem.transactionFailed:qi:1',
    });
  });

  it('reads Jobs and QueueItems written as one object (as newer Orchestrator payload examples show them) like a list of one', () => {
    const stopped = orchestrator({ Type: 'job.stopped', EventId: 's', Jobs: job }).alerts;
    expect(stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({ message: 'Job Invoices #1 stopped on r1 (M1): Boom', source: { process: 'Invoices', job: 'job-key' } });
    const abandoned = orchestrator({
      Type: 'queueItem.transactionAbandoned',
      EventId: 'a',
      Queue: { Name: 'invoices' },
      QueueItems: { Id: 6, Key: 'a' },
    }).alerts;
    expect(abandoned).toHaveLength(1);
    expect(abandoned[0]).toMatchObject({ message: 'Queue item 6 of queue invoices was abandoned', dedupKey: 'queueItem.transactionAbandoned:a:0' });
  });

  it("reads a custom event's severity and message in either case of the key, as .NET writes them (Severity, Message) or not", () => {
    for (const EventData of [
      { Severity: 'Error', Message: 'invoice batch failed' },
      { severity: 'error', message: 'invoice batch failed' },
    ]) {
      expect(orchestrator({ Type: 'custom', EventId: 'c', EventData }).alerts[0], JSON.stringify(EventData)).toMatchObject({
        severity: 'Error',
        event: 'Process.Custom',
        message: 'invoice batch failed',
      });
    }
  });

  it('acknowledges every documented quiet type without an alert, and files an unknown type as Info under its prefix', () => {
    for (const type of QUIET_TYPES) {
      const result = orchestrator({ Type: type, EventId: type });
      expect(result, type).toMatchObject({ alerts: [], ignored: 1, deliveryKeys: [`event:${type}`] });
    }
    expect(orchestrator({ Type: 'queueItem.teleported', EventId: 'z' }).alerts[0]).toMatchObject({
      severity: 'Info',
      component: 'Transactions',
      event: 'queueItem.teleported',
    });
    expect(orchestrator({ Type: 'brand new type!', EventId: 'z' }).alerts[0]).toMatchObject({ component: 'Process', event: 'brand_new_type_' });
  });

  it('applies per-event overrides by webhook type or by Tocsin event, the event winning', () => {
    const mapping = { events: { 'job.faulted': { severity: 'Warn' as const }, 'Process.JobExecution.Faulted': { component: 'Process' } } };
    expect(orchestrator({ Type: 'job.faulted', EventId: 'o', Job: job }, mapping).alerts[0]).toMatchObject({ severity: 'Warn', component: 'Process' });
    expect(orchestrator({ Type: 'job.faulted', EventId: 'o', Job: job }, { events: { 'job.faulted': { alert: false } } })).toMatchObject({
      alerts: [],
      ignored: 1,
    });
  });

  it('takes an override keyed by a Tocsin event or an Orchestrator type written in another case, stored by its own name, rather than keep one that matches nothing', () => {
    // Saved as written, `process.custom` and `JOB.FAULTED` were answered 201 and never applied.
    const mapping = resolveMapping('orchestrator-webhook', {
      events: { 'process.custom': { severity: 'Fatal' }, 'JOB.FAULTED': { severity: 'Warn' }, 'queueitem.ADDED': { alert: true } },
    }) as SourceMapping;
    expect(Object.keys(mapping.events)).toEqual(['Process.Custom', 'job.faulted', 'queueItem.added']);
    expect(orchestrator({ Type: 'custom', EventId: 'c', EventData: { message: 'm' } }, mapping).alerts[0]).toMatchObject({ severity: 'Fatal' });
    expect(orchestrator({ Type: 'job.faulted', EventId: 'j', Job: job }, mapping).alerts[0]).toMatchObject({ severity: 'Warn' });
    // An Alertmanager alertname is the sender's own name, kept as written; a Tocsin event's is Tocsin's.
    const am = resolveMapping('alertmanager', {
      events: { NodeDown: { alert: false }, 'robot.statuschanged.offline': { severity: 'Fatal' } },
    }) as SourceMapping;
    expect(Object.keys(am.events)).toEqual(['NodeDown', 'Robot.StatusChanged.Offline']);
    // Two keys naming one event or type are one too many: the second is named.
    expect(resolveMapping('orchestrator-webhook', { events: { 'Process.Custom': {}, 'process.custom': {} } })).toMatchObject({
      invalid: 'mapping.events.process.custom',
    });
  });

  it('keys deliveries by EventId, and events about one job or item by content so that per-folder copies collapse', () => {
    const a = orchestrator({ Type: 'job.faulted', EventId: 'a', Job: job, OrganizationUnitId: 1 });
    const b = orchestrator({ Type: 'job.faulted', EventId: 'b', Job: job, OrganizationUnitId: 2 });
    expect(a.deliveryKeys[0]).toBe('event:a');
    expect(a.deliveryKeys[1]).toBe(b.deliveryKeys[1]);
    expect(orchestrator({ Type: 'robot.status', EventId: 'r', Sessions: [] }).deliveryKeys).toEqual(['event:r']);
  });

  it('files a queue item failed with no exception type as an ApplicationException (Error), as the table says', () => {
    const failed = orchestrator({
      Type: 'queueItem.transactionFailed',
      EventId: 'n',
      QueueItem: { Id: 5, Key: 'qi', ProcessingException: { Reason: 'Selector not found' } },
      Queue: { Name: 'invoices' },
    }).alerts[0];
    expect(failed).toMatchObject({ event: 'Queue.TransactionStatus.FailedWithApplicationException', severity: 'Error' });
  });

  it('calls a trigger failure MaxNumberOfJobsAlreadyExist only when its Reason is about the maximum of jobs', () => {
    const reasonOf = (Reason: string) =>
      orchestrator({ Type: 'schedule.failed', EventId: 'm', ProcessSchedule: { Id: 1, Name: 'n' }, Reason }).alerts[0]!.event;
    expect(reasonOf('Max number of jobs reached')).toBe('Schedule.MaxNumberOfJobsAlreadyExist');
    expect(reasonOf('Maximum wait time for a free robot exceeded')).toBe('Schedule.NoJobCreated');
  });

  it('reports a disconnected session as Offline (Fatal) even when it is also flagged unresponsive', () => {
    const [alert] = orchestrator({ Type: 'robot.status', EventId: 'd', Sessions: [{ RobotId: 1, State: 'Disconnected', IsUnresponsive: true }] }).alerts;
    expect(alert).toMatchObject({ event: 'Robot.StatusChanged.Offline', severity: 'Fatal' });
  });

  it("says a robot known by its id alone as 'Robot #4778', not 'Robot robot 4778', keeping 'robot 4778' as its source", () => {
    // The documented robot.status session (reference §1.2) carries RobotId and HostMachineName, no name.
    const [byId] = orchestrator({ Type: 'robot.status', EventId: 'i', Sessions: [{ RobotId: 4778, HostMachineName: 'PC-DOC', State: 'Disconnected' }] }).alerts;
    expect(byId).toMatchObject({ message: 'Robot #4778 on PC-DOC is disconnected', source: { robot: 'robot 4778', machine: 'PC-DOC' } });
    const [byName] = orchestrator({
      Type: 'robot.status',
      EventId: 'n',
      Sessions: [{ RobotId: 4778, RobotName: 'local', State: 'Busy', IsUnresponsive: true }],
    }).alerts;
    expect(byName).toMatchObject({ message: 'Robot local is not responding', source: { robot: 'local' } });
  });

  it('names the folder by its fully qualified name first, then its name, then its id', () => {
    const folderOf = (fields: Record<string, unknown>) => orchestrator({ Type: 'job.faulted', EventId: 'f', Job: job, ...fields }).alerts[0]!.folder;
    expect(folderOf({ OrganizationUnitFullyQualifiedName: 'Finance/Invoices', FolderName: 'Invoices', OrganizationUnitId: 3 })).toBe('Finance/Invoices');
    expect(folderOf({ FolderName: 'Invoices', OrganizationUnitId: 3, FolderId: 4 })).toBe('Invoices');
    expect(folderOf({ OrganizationUnitId: 3, FolderId: 4 })).toBe('3');
  });

  it('collapses the per-folder copies of a failed queue item by content too', () => {
    const failed = FIXTURES['Queue.TransactionStatus.FailedWithApplicationException']!;
    const a = orchestrator({ ...failed, EventId: 'a', OrganizationUnitId: 1 });
    const b = orchestrator({ ...failed, EventId: 'b', OrganizationUnitId: 2 });
    expect(a.deliveryKeys).toHaveLength(2);
    expect(a.deliveryKeys[1]).toBe(b.deliveryKeys[1]);
  });

  it('counts as cut only the alerts past the first 1,000 that the mapping keeps, not the sessions it ignores', () => {
    const sessions = [
      ...Array.from({ length: 1000 }, (_, i) => ({ RobotId: i, State: 'Disconnected' })),
      ...Array.from({ length: 5 }, (_, i) => ({ RobotId: 5000 + i, State: 'Available' })),
    ];
    const mapped = orchestrator({ Type: 'robot.status', EventId: 'many', Sessions: sessions });
    expect(mapped.alerts).toHaveLength(1000);
    expect(mapped.ignored).toBe(5);
    expect(mapped.alerts[0]!.data).not.toHaveProperty('truncatedAlerts');
  });

  it('takes an event dated exactly 5 minutes from now either way, and refuses one a millisecond more (API.md: over 5 minutes)', () => {
    const at = Date.parse('2026-01-02T03:04:05Z');
    const event = { Type: 'job.faulted', Timestamp: '2026-01-02T03:04:05Z' };
    expect(orchestratorStaleness(event, at + 300_000)).toBeUndefined();
    expect(orchestratorStaleness(event, at - 300_000)).toBeUndefined();
    expect(orchestratorStaleness(event, at + 300_001)).toMatch(/more than 5 minutes/);
    expect(orchestratorStaleness(event, at - 300_001)).toMatch(/more than 5 minutes/);
  });

  it('names the field a stale time was read from: Timestamp when there is one, else EventTime', () => {
    const now = Date.parse('2026-01-02T03:04:05Z');
    const old = '2026-01-02T02:00:00Z';
    expect(orchestratorStaleness({ Type: 'job.faulted', EventTime: old }, now)).toBe('EventTime 2026-01-02T02:00:00.000Z is more than 5 minutes from now');
    expect(orchestratorStaleness({ Type: 'job.faulted', Timestamp: old, EventTime: '2026-01-02T03:04:05Z' }, now)).toBe(
      'Timestamp 2026-01-02T02:00:00.000Z is more than 5 minutes from now',
    );
  });

  it("builds a job's message from the first line of its Info that has text, the names trimmed of spaces", () => {
    const spaced = { ...job, Info: '\r\n   \r\nSelector not found\r\n   at UiPath.Core', Release: { ProcessKey: '  Invoices  ' } };
    const [alert] = orchestrator({ Type: 'job.faulted', EventId: 'l', Job: spaced }).alerts;
    expect(alert).toMatchObject({ message: 'Job Invoices #1 faulted on r1 (M1): Selector not found', source: { process: 'Invoices' } });
  });

  it("reads a Timestamp without a zone as UTC whatever the server's time zone, else EventTime, else none", () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const at = (fields: Record<string, unknown>) => orchestrator({ Type: 'job.faulted', EventId: 'z', Job: job, ...fields }).alerts[0]!.occurredAt;
      expect(at({ Timestamp: '2018-11-26T14:14:26.28' })).toBe('2018-11-26T14:14:26.280Z');
      expect(at({ Timestamp: '2018-11-26T14:14:26.2812345Z' })).toBe('2018-11-26T14:14:26.281Z');
      expect(at({ Timestamp: '2018-11-26T16:14:26+02:00' })).toBe('2018-11-26T14:14:26.000Z');
      expect(at({ EventTime: '2018-11-26T14:14:26' })).toBe('2018-11-26T14:14:26.000Z');
      expect(at({ Timestamp: null, EventTime: '2018-11-26T14:14:26' })).toBe('2018-11-26T14:14:26.000Z');
      expect(at({ Timestamp: ' 2018-11-26T14:14:26Z ', EventTime: 'yesterday' })).toBe('2018-11-26T14:14:26.000Z');
      expect(at({})).toBeUndefined();
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('refuses a date the calendar has not, rather than reading the day it would roll over to', () => {
    const map = (fields: Record<string, unknown>) =>
      mapOrchestratorEvent({ Type: 'job.faulted', EventId: 'd', Job: job, ...fields }, '{}', defaults('orchestrator-webhook'));
    const at = (fields: Record<string, unknown>) => orchestrator({ Type: 'job.faulted', EventId: 'd', Job: job, ...fields }).alerts[0]!.occurredAt;
    // Read as written, 30 February was 2 March, a time the event cannot have happened at.
    expect(map({ Timestamp: '2026-02-30T10:00:00Z' })).toMatchObject({ errors: [{ path: 'Timestamp' }] });
    expect(map({ Timestamp: '2026-04-31T10:00:00', EventTime: '2026-04-30T10:00:00Z' })).toMatchObject({ errors: [{ path: 'Timestamp' }] });
    expect(map({ Timestamp: '2026-02-29T10:00:00Z' })).toMatchObject({ errors: [{ path: 'Timestamp' }] });
    expect(map({ EventTime: '2026-02-29T10:00:00Z' })).toMatchObject({ errors: [{ path: 'EventTime' }] });
    expect(at({ Timestamp: '2028-02-29T10:00:00Z' })).toBe('2028-02-29T10:00:00.000Z');
    expect(at({ Timestamp: '2026-12-31T23:59:59-05:00' })).toBe('2027-01-01T04:59:59.000Z');
  });

  it('caps the payload kept in data and refuses what is not an event', () => {
    const big = orchestrator({ Type: 'job.faulted', EventId: 'big', Job: { ...job, Info: 'x'.repeat(200_000) } });
    expect(Buffer.byteLength(JSON.stringify(big.alerts[0]!.data))).toBeLessThanOrEqual(16 * 1024);
    expect(big.alerts[0]!.message.length).toBeLessThanOrEqual(4096);
    expect(mapOrchestratorEvent([], '[]', defaults('orchestrator-webhook'))).toHaveProperty('invalid');
    expect(mapOrchestratorEvent({ EventId: 'x' }, '{}', defaults('orchestrator-webhook'))).toEqual({
      invalid: 'Type: must be the event type, e.g. job.faulted',
      errors: [{ path: 'Type', message: 'must be the event type, e.g. job.faulted' }],
    });
  });

  // Read as none, such a time stored the event at its receipt time, past the freshness check that
  // stands in for the signed time Orchestrator does not send.
  it('refuses a Timestamp, or the EventTime read without one, that is no time, naming it beside any other field refused', () => {
    const map = (fields: Record<string, unknown>) => mapOrchestratorEvent({ EventId: 'x', ...fields }, '{}', defaults('orchestrator-webhook'));
    for (const Timestamp of ['yesterday', '', '   ', 12, true, { at: 1 }, ['2026-01-02T03:04:05Z'], '+010000-01-01T00:00:00Z'])
      expect(map({ Type: 'job.faulted', Timestamp }), JSON.stringify(Timestamp)).toEqual({
        invalid: 'Timestamp: must be a date and time, such as 2018-11-26T14:14:26.28Z',
        errors: [{ path: 'Timestamp', message: 'must be a date and time, such as 2018-11-26T14:14:26.28Z' }],
      });
    expect(map({ Type: 'job.faulted', EventTime: 'now' })).toMatchObject({ errors: [{ path: 'EventTime' }] });
    expect(map({ EventTime: 'now' })).toMatchObject({ errors: [{ path: 'Type' }, { path: 'EventTime' }] });
    expect(orchestratorStaleness({ Type: 'job.faulted', Timestamp: 'yesterday' }, Date.now())).toBeUndefined();
  });

  // Orchestrator's Type is always a name (job.faulted, robot.status, custom): a number is no event of
  // its, and was taken as the unknown event "1", stored as an Info alert of the Process component.
  it('refuses a Type that is not text (a number, true, an object), naming Type', () => {
    for (const Type of [1, 0, 2.5, true, { Name: 'job.faulted' }, ['job.faulted']])
      expect(mapOrchestratorEvent({ Type, EventId: 'x' }, '{}', defaults('orchestrator-webhook')), JSON.stringify(Type)).toEqual({
        invalid: 'Type: must be the event type, e.g. job.faulted',
        errors: [{ path: 'Type', message: 'must be the event type, e.g. job.faulted' }],
      });
  });

  it("keeps the ids, names and states it copies into data within the alert's 16 KiB, however long the event writes them", () => {
    // Copied whole, one long value made data too large: a 400, which Orchestrator counts as a
    // failed delivery (its circuit breaker then skips the webhook's events for an hour).
    const long = 'k'.repeat(20_000);
    const events = [
      { Type: 'job.faulted', TenantId: long, Job: { ...job, Id: long, Key: long, State: long } },
      { Type: 'robot.status', Sessions: [{ RobotId: long, State: 'Disconnected' }] },
      { Type: 'queueItem.transactionAbandoned', Queue: { Name: 'q' }, QueueItems: [{ Id: long, Key: long, RetryNumber: { nested: long } }] },
      { Type: 'schedule.failed', ProcessSchedule: { Id: long, Name: long }, Reason: 'pending jobs' },
      { Type: 'task.assignmentChanged', Task: { Id: 7, Title: long } },
    ];
    for (const event of events) {
      const mapped = orchestrator({ EventId: `long-${event.Type}`, ...event });
      expect(mapped.alerts).toHaveLength(1);
      for (const alert of mapped.alerts) expect(normaliseAlert(alert), event.Type).not.toHaveProperty('errors');
    }
    const [faulted] = orchestrator({ EventId: 'long-kept', Type: 'job.faulted', Job: { ...job, Key: long } }).alerts;
    expect(faulted!.data).toMatchObject({ jobId: 1, jobKey: 'k'.repeat(512), process: 'Invoices' });
  });

  // Measuring data serialises it: normalising the alert takes that JSON instead of making it again
  // (some 3 CPU-µs of an event's JavaScript), and must store exactly what it would have made.
  it("hands each alert's data with the JSON it measured, what normalising the alert would store", () => {
    const big = { Type: 'job.faulted', EventId: 'cut', Job: { ...job, Info: 'x'.repeat(20_000) } };
    for (const event of [...Object.values(FIXTURES), big]) {
      for (const alert of orchestrator({ EventId: 'measured', ...event }).alerts) {
        const json = measuredJson(alert.data);
        expect(json, String(event.Type)).toBe(JSON.stringify(alert.data));
        expect(normaliseAlert(alert, json)).toEqual(normaliseAlert(alert));
      }
    }
    expect(measuredJson({ ...orchestrator(FIXTURES['Process.JobExecution.Faulted']!).alerts[0]!.data })).toBeUndefined();
    expect(measuredJson(undefined)).toBeUndefined();
  });
});

describe('the Alertmanager mapping', () => {
  const am = (alerts: Record<string, unknown>[], mapping = defaults('alertmanager')): MappedAlerts | MappingFailure =>
    mapAlertmanager({ version: '4', receiver: 'tocsin', alerts }, '', mapping);
  const firing = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    status: 'firing',
    labels: { alertname: 'HostDown', ...labels },
    annotations: { summary: 'host down', description: 'longer' },
    startsAt: '2026-05-01T10:00:00Z',
    endsAt: '0001-01-01T00:00:00Z',
    fingerprint: 'fp1',
    ...extra,
  });

  it("hands an alert's data with the JSON it measured, what normalising it would store, whole or without its annotations", () => {
    const mapped = am([firing({ instance: 'a' }), firing({ instance: 'b' }, { annotations: { description: 'd'.repeat(20_000) } })]);
    if ('invalid' in mapped) throw new Error(mapped.invalid);
    for (const alert of mapped.alerts) {
      const json = measuredJson(alert.data);
      if (json !== undefined) expect(json).toBe(JSON.stringify(alert.data));
      expect(normaliseAlert(alert, json)).toEqual(normaliseAlert(alert));
    }
    expect(measuredJson(mapped.alerts[0]!.data)).toBeDefined();
  });

  it('maps the default severity label: critical or page→Fatal, error→Error, warning→Warn, info→Info, anything else Info', () => {
    for (const [label, severity] of [
      ['critical', 'Fatal'],
      ['error', 'Error'],
      ['warning', 'Warn'],
      ['info', 'Info'],
      ['page', 'Fatal'],
      ['ticket', 'Info'],
      ['', 'Info'],
    ]) {
      const result = am([firing(label ? { severity: label } : {})]) as MappedAlerts;
      expect(result.alerts[0], label).toMatchObject({
        severity,
        event: 'HostDown',
        component: 'Process',
        message: 'host down',
        dedupKey: 'fp1',
        occurredAt: '2026-05-01T10:00:00.000Z',
      });
    }
  });

  it("applies a Tocsin event's override to an alert whose alertname is that event written in another case", () => {
    const mapping = resolveMapping('alertmanager', { events: { 'Robot.StatusChanged.Offline': { severity: 'Fatal', component: 'Robots' } } }) as SourceMapping;
    const result = am([firing({ alertname: 'robot.statuschanged.offline', severity: 'info' })], mapping) as MappedAlerts;
    expect(result.alerts[0]).toMatchObject({ severity: 'Fatal', component: 'Robots' });
  });

  it("matches the mapping's severity values in any case, as it does the label's", () => {
    const mapping = { ...defaults('alertmanager'), severityLabel: 'priority', severities: { P1: 'Fatal', sev2: 'Error' } as const };
    const result = am(
      [firing({ priority: 'P1' }), firing({ priority: 'p1' }), firing({ priority: 'SEV2' }), firing({ priority: 'P3' })],
      mapping,
    ) as MappedAlerts;
    expect(result.alerts.map((a) => a.severity)).toEqual(['Fatal', 'Fatal', 'Error', 'Info']);
  });

  it("takes a label that names one of Tocsin's own severities (fatal, Warn, success…) as that severity, after the mapping's values, spaces around ignored", () => {
    const labels = ['fatal', 'Fatal', 'warn', 'WARN', 'Success', 'Error', ' critical ', 'ERROR '];
    const result = am(labels.map((severity) => firing({ severity }))) as MappedAlerts;
    expect(result.alerts.map((a) => a.severity)).toEqual(['Fatal', 'Fatal', 'Warn', 'Warn', 'Success', 'Error', 'Fatal', 'Error']);
    // The mapping's values come first: a team that files "fatal" as Error keeps it so.
    const mapping = { ...defaults('alertmanager'), severities: { fatal: 'Error' } as const };
    expect((am([firing({ severity: 'fatal' }), firing({ severity: 'warn' })], mapping) as MappedAlerts).alerts.map((a) => a.severity)).toEqual([
      'Error',
      'Warn',
    ]);
  });

  it('makes a resolved alert a Success for the same key, at its end time', () => {
    const result = am([firing({ severity: 'critical' }, { status: 'resolved', endsAt: '2026-05-01T10:09:00Z' })]) as MappedAlerts;
    expect(result.alerts[0]).toMatchObject({ severity: 'Success', dedupKey: 'fp1', message: 'Resolved: host down', occurredAt: '2026-05-01T10:09:00.000Z' });
  });

  it('keys each alert by its episode: a retry or a re-sent group repeats its keys, a new episode or a resolution has another', () => {
    const first = am([firing({})]) as MappedAlerts;
    expect(first.deliveryKeys).toEqual([]);
    expect(first.alertKeys).toHaveLength(1);
    // The group re-sent with another alert in it: the first alert keeps its key.
    const grown = am([firing({}), firing({ instance: 'vm2' }, { fingerprint: 'fp2' })]) as MappedAlerts;
    expect(grown.alertKeys![0]).toBe(first.alertKeys![0]);
    expect(grown.alertKeys![1]).not.toBe(first.alertKeys![0]);
    expect((am([firing({}, { startsAt: '2026-05-02T00:00:00Z' })]) as MappedAlerts).alertKeys).not.toEqual(first.alertKeys);
    expect((am([firing({}, { status: 'resolved' })]) as MappedAlerts).alertKeys).not.toEqual(first.alertKeys);
  });

  it("keeps the first 1,000 alerts of a larger group, counting those cut here and by the sender in each one's data", () => {
    const many = Array.from({ length: 1_005 }, (_, i) => firing({ instance: `vm${i}` }, { fingerprint: `fp${i}` }));
    const result = mapAlertmanager({ version: '4', truncatedAlerts: 3, alerts: many }, '', defaults('alertmanager')) as MappedAlerts;
    expect(result.alerts).toHaveLength(1_000);
    expect(result.alertKeys).toHaveLength(1_000);
    expect(result.alerts[999]!.data).toMatchObject({ fingerprint: 'fp999', truncatedAlerts: 8 });
    expect((am([firing({})]) as MappedAlerts).alerts[0]!.data).not.toHaveProperty('truncatedAlerts');
  });

  it('refuses another version or a malformed alert, naming the field', () => {
    expect(mapAlertmanager({ version: '1', alerts: [] }, '', defaults('alertmanager'))).toMatchObject({ invalid: expect.stringMatching(/^version/) });
    expect(am([{ status: 'pending', labels: {} }])).toMatchObject({ invalid: expect.stringMatching(/^alerts\.0\.status/) });
  });

  it('cuts long text between characters, never inside an emoji: half of one would be stored as �', () => {
    // With the u flag a pair is one code point: only a lone half is a Surrogate (Cs).
    const HALF_CHARACTER = /\p{Cs}/u;
    const alarm = '🚨'.repeat(3_000);
    const [alert] = (am([firing({ instance: `${'x'.repeat(511)}🚨` }, { annotations: { summary: alarm } })]) as MappedAlerts).alerts;
    expect(alert!.message).not.toMatch(HALF_CHARACTER);
    expect(alert!.message).toMatch(/^(🚨)+…$/u);
    expect(alert!.message.length).toBeLessThanOrEqual(4_096);
    expect(alert!.source!.machine).toBe('x'.repeat(511));
    const custom = orchestrator({ Type: 'custom', EventId: 'e', EventData: { message: `x${alarm}` }, Robot: { Name: `${'r'.repeat(511)}🚨` } });
    expect(custom.alerts[0]!.message).not.toMatch(HALF_CHARACTER);
    expect(custom.alerts[0]!.source!.robot).toBe('r'.repeat(511));
  });

  it('falls back on the description, the default component, and a safe event name', () => {
    const result = am([
      { status: 'firing', labels: { alertname: 'disk full!', component: 'NotAComponent' }, annotations: { description: 'disk' } },
    ]) as MappedAlerts;
    expect(result.alerts[0]).toMatchObject({ message: 'disk', component: 'Process', event: 'disk_full_' });
    expect(result.alerts[0]!.dedupKey).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keeps the letters of an accented alert name without their accents, and an emoji as one character, in the event name', () => {
    const events = (am([firing({ alertname: 'Échec sauvegarde' }), firing({ alertname: 'Überlast 🚨' })]) as MappedAlerts).alerts.map((a) => a.event);
    expect(events).toEqual(['Echec_sauvegarde', 'Uberlast__']);
  });

  it('keeps the letters that have no accent to lose, as their Latin spelling: Ø, Ł, Æ, ß, Þ', () => {
    // NFKD splits no such letter into a base and an accent: 'Øst-lager nede' became 'st-lager_nede', its first letter dropped.
    const names = ['Øst-lager nede', 'Łódź backup', 'Æble Straße', 'Þjónusta'];
    const events = (am(names.map((alertname) => firing({ alertname }))) as MappedAlerts).alerts.map((a) => a.event);
    expect(events).toEqual(['Ost-lager_nede', 'Lodz_backup', 'AEble_Strasse', 'Thjonusta']);
  });

  it('takes the message annotation (kube-prometheus rules of before 2020 have only that) when there is no summary or description', () => {
    const [alert] = (am([firing({}, { annotations: { message: 'Pod web-1 is restarting 3 times / 5 minutes.' } })]) as MappedAlerts).alerts;
    expect(alert!.message).toBe('Pod web-1 is restarting 3 times / 5 minutes.');
  });
});

describe('README', () => {
  it('shows the mapping table as the code has it', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(orchestratorTableRows().filter((row) => !readme.includes(row))).toEqual([]);
  });
});
