import crypto from 'node:crypto';
import { type AlertInput, MAX_BATCH } from '../../alerts/input.js';
import { type Severity, parseSeverity } from '../../alerts/severity.js';
import type { SourceMapping } from '../model.js';
import { MAX_TIMESTAMP_SKEW_MS } from '../signatures.js';
import {
  type MappedAlerts,
  type MappingFailure,
  type Resolved,
  applyOverride,
  clip,
  cut,
  deliveryKey,
  eventName,
  firstLine,
  instantOf,
  mappingFailure,
  obj,
  str,
  withPayload,
} from './shared.js';

type Payload = Record<string, unknown>;

/** OrchestratorRule is one row of the mapping table: a webhook type (and condition) and the alert it becomes. */
export interface OrchestratorRule {
  /** The webhook `Type`. */
  readonly type: string;
  /** When the type yields several rows (or one per item), what picks this one; for the README. */
  readonly condition: string;
  readonly component: string;
  readonly event: string;
  readonly severity: Severity;
  /** Whether it raises an alert unless the source's mapping says otherwise. */
  readonly alert: boolean;
  /** How the row is known (reference/sources.md §1.6). */
  readonly basis: string;
}

const rule = (type: string, condition: string, component: string, event: string, severity: Severity, alert: boolean, basis: string): OrchestratorRule =>
  Object.freeze({ type, condition, component, event, severity, alert, basis });

/**
 * ORCHESTRATOR_RULES is the mapping table of Orchestrator webhook events (reference §1.6), with
 * the reference's basis for each row. Rows whose `alert` is false are acknowledged and counted but
 * store nothing unless the source's mapping opts them in (`{"events": {"queueItem.added": {"alert": true}}}`).
 */
export const ORCHESTRATOR_RULES: readonly OrchestratorRule[] = Object.freeze([
  rule('job.faulted', '', 'Jobs', 'Process.JobExecution.Faulted', 'Error', true, '[D]'),
  rule('job.stopped', 'each of Jobs[]', 'Jobs', 'Process.JobExecution.Stopped', 'Warn', true, '[I] no Orchestrator alert'),
  rule('job.completed', '', 'Jobs', 'Job.Completed', 'Success', false, '[I]'),
  rule('job.suspended', '', 'Jobs', 'Job.Suspended', 'Info', false, '[I]'),
  rule('job.resumed', '', 'Jobs', 'Job.Resumed', 'Info', false, '[I]'),
  rule('robot.status', 'a session Disconnected', 'Robots', 'Robot.StatusChanged.Offline', 'Fatal', true, '[D] severity; name [D-weak]'),
  rule('robot.status', 'a session IsUnresponsive', 'Robots', 'Robot.StatusChanged.NotResponding', 'Error', true, '[D]'),
  rule(
    'robot.status',
    'a session Available',
    'Robots',
    'Robot.StatusChanged.Available',
    'Info',
    false,
    '[D] severity; "after Disconnected" needs the last state [I], so off by default',
  ),
  rule(
    'queueItem.transactionFailed',
    'ProcessingException.Type ApplicationException or none',
    'Transactions',
    'Queue.TransactionStatus.FailedWithApplicationException',
    'Error',
    true,
    '[D]',
  ),
  rule(
    'queueItem.transactionFailed',
    'ProcessingException.Type BusinessException',
    'Transactions',
    'Queue.TransactionStatus.FailedWithBusinessException',
    'Warn',
    true,
    '[D]',
  ),
  rule('queueItem.transactionAbandoned', 'each of QueueItems[]', 'Transactions', 'Queue.TransactionStatus.Abandoned', 'Warn', true, '[I] no documented alert'),
  rule('schedule.failed', 'Reason not about the maximum of jobs', 'Schedules', 'Schedule.NoJobCreated', 'Error', true, '[D]; Reason match [I]'),
  rule(
    'schedule.failed',
    'Reason mentions the maximum number of jobs',
    'Schedules',
    'Schedule.MaxNumberOfJobsAlreadyExist',
    'Error',
    true,
    '[D]; Reason match [I]',
  ),
  rule('task.assignmentChanged', '', 'Tasks', 'Task.AssignmentChanged', 'Info', true, '[D] severity; name [I]'),
  rule(
    'custom',
    'severity: EventData.severity (or Severity) when valid, else Info',
    'Process',
    'Process.Custom',
    'Info',
    true,
    '[I]; Raise Alert → Process [D]',
  ),
]);

/**
 * QUIET_TYPES are the documented webhook types that are not alert-worthy (reference §1.1, §1.6:
 * "everything else … drop (opt-in Info audit)" [I]): acknowledged and counted, no alert unless the
 * source opts one in, then an Info alert under the component its prefix names.
 */
export const QUIET_TYPES: readonly string[] = Object.freeze([
  'ping',
  'job.created',
  'job.started',
  'job.stopping',
  'job.terminating',
  'robot.created',
  'robot.updated',
  'robot.deleted',
  'queue.created',
  'queue.updated',
  'queue.deleted',
  'queueItem.added',
  'queueItem.transactionStarted',
  'queueItem.transactionCompleted',
  'queueItem.deferred',
  'queueItem.deleted',
  'queueItem.retried',
  'queueItem.reviewStatusChanged',
  'queueItem.updated',
  'process.created',
  'process.updated',
  'process.deleted',
  'task.created',
  'task.completed',
  'task.deleted',
  'task.forwarded',
  'task.saved',
  'task.updated',
  'task.sla.evaluate',
  'task.sla.update',
  'alert.subscribed',
  'alert.unsubscribed',
  'deploymentsetting.updated',
  'blobfile.uploaded',
  'blobfile.deleted',
  'stc.task.update',
]);

const QUIET = new Set(QUIET_TYPES);

/**
 * The component an opted-in quiet type or an unknown type is filed under, by its prefix. A Map,
 * not an object: a type such as `constructor` or `toString.x` must not find Object's methods.
 */
const COMPONENT_BY_PREFIX: ReadonlyMap<string, string> = new Map([
  ['job', 'Jobs'],
  ['robot', 'Robots'],
  ['queue', 'Queues'],
  ['queueItem', 'Transactions'],
  ['process', 'Process'],
  ['task', 'Tasks'],
  ['schedule', 'Schedules'],
]);

/** componentOfType files a type outside the table under its prefix's component, else Process. */
const componentOfType = (type: string) => COMPONENT_BY_PREFIX.get(type.split('.')[0]!) ?? 'Process';

const ruleFor = (type: string, event: string) => ORCHESTRATOR_RULES.find((r) => r.type === type && r.event === event)!;

/** One alert-to-be before overrides: the table row, what the message says, and where it came from. */
interface Draft {
  rule: Pick<OrchestratorRule, 'component' | 'event' | 'severity' | 'alert'>;
  message: string;
  source: AlertInput['source'];
  dedupKey: string | undefined;
  /** Entity fields for `data`. */
  facts: Record<string, unknown>;
}

const compact = <T extends Record<string, string | undefined>>(o: T) => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
};

/**
 * entities reads a list of entities (`Jobs`, `QueueItems`) as the documented examples write it, an
 * array, or as one object (newer examples write `"Jobs": {…}`), else the single entity (`Job`).
 */
function entities(list: unknown, single: unknown): Payload[] {
  if (Array.isArray(list)) return list.map(obj);
  return [list !== null && typeof list === 'object' ? obj(list) : obj(single)];
}

const processOf = (job: Payload) => str(obj(job.Release).ProcessKey) ?? str(obj(job.Release).Name) ?? str(job.ReleaseName);

function jobDraft(job: Payload, event: string, verb: string, type: string): Draft {
  const robot = obj(job.Robot);
  const process = processOf(job);
  const robotName = str(robot.Name);
  const machine = str(robot.MachineName) ?? str(job.HostMachineName);
  const reason = firstLine(job.Info) ?? str(obj(job.Error).title) ?? str(job.ErrorCode);
  const where = robotName ? ` on ${robotName}${machine ? ` (${machine})` : ''}` : '';
  const key = str(job.Key) ?? str(job.Id);
  return {
    rule: ruleFor(type, event),
    message: `Job ${process ?? 'unknown process'}${str(job.Id) ? ` #${str(job.Id)}` : ''} ${verb}${where}${reason ? `: ${reason}` : ''}`,
    source: compact({ process, robot: robotName, machine, job: key }),
    dedupKey: key ? `${type}:${key}` : undefined,
    facts: { jobId: job.Id ?? null, jobKey: job.Key ?? null, jobState: job.State ?? null, process: process ?? null, robot: robotName ?? null },
  };
}

function robotDrafts(payload: Payload): Draft[] {
  const sessions = Array.isArray(payload.Sessions) ? payload.Sessions.map(obj) : [];
  return sessions.flatMap((session): Draft[] => {
    const state = str(session.State);
    const event =
      state === 'Disconnected'
        ? 'Robot.StatusChanged.Offline'
        : session.IsUnresponsive === true
          ? 'Robot.StatusChanged.NotResponding'
          : state === 'Available'
            ? 'Robot.StatusChanged.Available'
            : undefined;
    if (!event) return [];
    const named = str(session.RobotName) ?? str(obj(session.Robot).Name);
    const robotId = str(session.RobotId);
    // The documented sessions carry the robot's id alone: the source names it `robot 4778` (what a
    // mute or a summary's group reads), the message `Robot #4778`, as a job's reads `Job P #148671`.
    const robotName = named ?? (robotId ? `robot ${robotId}` : undefined);
    const robotLabel = named ?? (robotId ? `#${robotId}` : 'unknown');
    const machine = str(session.HostMachineName) ?? str(session.MachineName);
    const what = {
      'Robot.StatusChanged.Offline': 'is disconnected',
      'Robot.StatusChanged.NotResponding': 'is not responding',
      'Robot.StatusChanged.Available': 'is available',
    }[event];
    const license = str(session.LicenseErrorCode);
    return [
      {
        rule: ruleFor('robot.status', event),
        message: `Robot ${robotLabel}${machine ? ` on ${machine}` : ''} ${what}${license ? ` (license error ${license})` : ''}`,
        source: compact({ robot: robotName, machine }),
        dedupKey: `robot.status:${robotId ?? robotName ?? machine ?? 'unknown'}:${event}`,
        facts: { robotId: session.RobotId ?? null, state: state ?? null, isUnresponsive: session.IsUnresponsive ?? null, machine: machine ?? null },
      },
    ];
  });
}

function queueItemDraft(item: Payload, queue: Payload, event: string, type: string, detail: string | undefined): Draft {
  const queueName = str(queue.Name) ?? str(item.QueueDefinitionName);
  const key = str(item.Key) ?? str(item.Id);
  const verb = event.endsWith('Abandoned') ? 'was abandoned' : 'failed';
  return {
    rule: ruleFor(type, event),
    message: `Queue item ${str(item.Reference) ?? str(item.Id) ?? 'unknown'} of queue ${queueName ?? 'unknown'} ${verb}${detail ? `: ${detail}` : ''}`,
    source: compact({ queue: queueName, robot: str(obj(item.Robot).Name) }),
    dedupKey: key ? `${type}:${key}:${str(item.RetryNumber) ?? '0'}` : undefined,
    facts: { queueItemId: item.Id ?? null, queueItemKey: item.Key ?? null, queue: queueName ?? null, retryNumber: item.RetryNumber ?? null },
  };
}

/** drafts turns one authentic event into its alert drafts per the table; an unknown type gives one Info draft. */
function drafts(type: string, payload: Payload): Draft[] | 'quiet' {
  switch (type) {
    case 'job.faulted':
      return [jobDraft(obj(payload.Job), 'Process.JobExecution.Faulted', 'faulted', type)];
    case 'job.stopped':
      return entities(payload.Jobs, payload.Job).map((job) => jobDraft(job, 'Process.JobExecution.Stopped', 'stopped', type));
    case 'job.completed':
    case 'job.suspended':
    case 'job.resumed': {
      const event = ORCHESTRATOR_RULES.find((r) => r.type === type)!.event;
      return [jobDraft(obj(payload.Job), event, type.slice('job.'.length), type)];
    }
    case 'robot.status':
      return robotDrafts(payload);
    case 'queueItem.transactionFailed': {
      const item = obj(payload.QueueItem);
      const exception = obj(item.ProcessingException);
      const business = str(exception.Type) === 'BusinessException';
      const event = business ? 'Queue.TransactionStatus.FailedWithBusinessException' : 'Queue.TransactionStatus.FailedWithApplicationException';
      const detail = [str(exception.Type), firstLine(exception.Reason), firstLine(exception.Details)].filter(Boolean).join(': ');
      return [queueItemDraft(item, obj(payload.Queue), event, type, detail || undefined)];
    }
    case 'queueItem.transactionAbandoned': {
      const items = entities(payload.QueueItems, payload.QueueItem);
      return items.map((item) => queueItemDraft(item, obj(payload.Queue), 'Queue.TransactionStatus.Abandoned', type, undefined));
    }
    case 'schedule.failed': {
      const schedule = obj(payload.ProcessSchedule);
      const reason = str(payload.Reason, 2000);
      const max = reason !== undefined && /max/i.test(reason) && /jobs?/i.test(reason);
      const event = max ? 'Schedule.MaxNumberOfJobsAlreadyExist' : 'Schedule.NoJobCreated';
      const process = str(obj(schedule.Release).ProcessKey) ?? str(schedule.ReleaseName);
      return [
        {
          rule: ruleFor(type, event),
          message: `Trigger ${str(schedule.Name) ?? 'unknown'}${process ? ` (${process})` : ''} created no job${reason ? `: ${reason}` : ''}`,
          source: compact({ process }),
          dedupKey: `${type}:${str(schedule.Id) ?? str(schedule.Name) ?? 'unknown'}:${event}`,
          facts: { scheduleId: schedule.Id ?? null, schedule: schedule.Name ?? null, reason: reason ?? null },
        },
      ];
    }
    case 'task.assignmentChanged': {
      const task = obj(payload.Task);
      const assignee = str(obj(task.AssignedToUser).UserName) ?? str(obj(task.AssignedToUser).EmailAddress) ?? str(task.AssignedToUserId);
      return [
        {
          rule: ruleFor(type, 'Task.AssignmentChanged'),
          message: `Task ${str(task.Title) ?? str(task.Id) ?? 'unknown'} ${assignee ? `assigned to ${assignee}` : 'assignment changed'}`,
          source: undefined,
          dedupKey: undefined,
          facts: { taskId: task.Id ?? null, title: task.Title ?? null },
        },
      ];
    }
    case 'custom': {
      const data = obj(payload.EventData);
      // The robot's workflow names the keys: `Severity` as .NET spells it, or `severity`.
      const named = data.severity ?? data.Severity;
      const severity = typeof named === 'string' ? parseSeverity(named) : undefined;
      const robot = obj(payload.Robot);
      return [
        {
          rule: { ...ruleFor(type, 'Process.Custom'), severity: severity ?? 'Info' },
          message: str(data.message, 4000) ?? str(data.Message, 4000) ?? `Custom event${str(robot.Name) ? ` from ${str(robot.Name)}` : ''}`,
          source: compact({ robot: str(robot.Name), process: str(obj(payload.Process).Name) ?? str(payload.ProcessName) }),
          dedupKey: undefined,
          facts: {},
        },
      ];
    }
    default:
      if (QUIET.has(type)) return 'quiet';
      return [
        {
          rule: {
            component: componentOfType(type),
            event: eventName(type, 'Orchestrator.Unknown'),
            severity: 'Info',
            alert: true,
          },
          message: `Orchestrator event ${type}`,
          source: undefined,
          dedupKey: undefined,
          facts: {},
        },
      ];
  }
}

/** quietDraft is an opted-in quiet type: an Info alert under its prefix's component, the type as event. */
function quietDraft(type: string): Draft {
  return {
    rule: { component: componentOfType(type), event: type, severity: 'Info', alert: false },
    message: `Orchestrator event ${type}`,
    source: undefined,
    dedupKey: undefined,
    facts: {},
  };
}

const folderOf = (payload: Payload) =>
  str(payload.OrganizationUnitFullyQualifiedName, 256) ?? str(payload.FolderName, 256) ?? str(payload.OrganizationUnitId, 256) ?? str(payload.FolderId, 256);

/** The fields an event's time is read from, the first one present used. */
const TIME_FIELDS = ['Timestamp', 'EventTime'] as const;

/** TimeField is a field an event's time is read from. */
type TimeField = (typeof TIME_FIELDS)[number];

/**
 * EventTime is when an event happened (epoch ms; undefined when it carries no time) and the field
 * it was read from, or the field it is read from that holds no time.
 */
type EventTime = { readonly at: number | undefined; readonly field?: TimeField } | { readonly unreadable: TimeField };

/**
 * eventTime is when an event happened: its Timestamp (UTC), else its EventTime, else none (null is
 * none). The field it would be read from holding no time ("yesterday", "", 12, 30 February) is
 * named instead: read as none, such an event was stored at its receipt time and passed the
 * freshness check that stands in for the signed time Orchestrator does not send (reference §1.3, §5.3).
 */
function eventTime(payload: Payload): EventTime {
  for (const field of TIME_FIELDS) {
    const value = payload[field];
    if (value === undefined || value === null) continue;
    const at = typeof value === 'string' ? instantOf(value.trim()) : undefined;
    return at === undefined ? { unreadable: field } : { at, field };
  }
  return { at: undefined };
}

/** UNREADABLE_TIME says what an event's time must look like, with Orchestrator's own example. */
const UNREADABLE_TIME = 'must be a date and time, such as 2018-11-26T14:14:26.28Z';

/**
 * orchestratorStaleness says why an authentic event is too old (or too far ahead) to be a delivery,
 * or undefined when its time is within MAX_TIMESTAMP_SKEW_MS of now, or it carries none, or none
 * readable (mapOrchestratorEvent refuses that one, naming the field). Orchestrator
 * signs no time of its own but signs the body, Timestamp included, and its signatures never expire,
 * so without it a captured request replayed once its delivery keys are purged (DELIVERY_KEY_DAYS)
 * would store its alerts again (reference §1.3, §5.3).
 */
export function orchestratorStaleness(body: unknown, nowMs: number): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const time = eventTime(body as Payload);
  if (!('at' in time) || time.at === undefined || Math.abs(nowMs - time.at) <= MAX_TIMESTAMP_SKEW_MS) return undefined;
  // The field named is the one read: an event without a Timestamp is dated by its EventTime.
  return `${time.field} ${new Date(time.at).toISOString()} is more than 5 minutes from now`;
}

const hash = (text: string) => crypto.createHash('sha256').update(text).digest('base64url');

/** MAX_FACT_CHARS bounds an id, name or state copied into an alert's data (the payload keeps the rest). */
const MAX_FACT_CHARS = 512;

/**
 * fact is a value of the event copied into data as it came, a text cut to MAX_FACT_CHARS and
 * anything longer dropped: copied whole, one long id or title made data too large for the alert,
 * a 400 that Orchestrator counts as a failed delivery.
 */
function fact(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return cut(value, MAX_FACT_CHARS);
  if (typeof value !== 'object') return value;
  return JSON.stringify(value).length <= MAX_FACT_CHARS ? value : null;
}

const factsOf = (facts: Record<string, unknown>) => Object.fromEntries(Object.entries(facts).map(([key, value]) => [key, fact(value)]));

/**
 * mapOrchestratorEvent turns one authentic Orchestrator webhook event into alerts per the table
 * and the source's overrides. The delivery keys are the EventId (a redelivery) and, for events
 * about shared entities, a content key (one copy per folder sharing a queue, reference §1.5).
 */
export function mapOrchestratorEvent(body: unknown, rawText: string, mapping: SourceMapping): MappedAlerts | MappingFailure {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return mappingFailure([{ path: '(root)', message: 'must be an Orchestrator webhook event (a JSON object)' }]);
  const payload = body as Payload;
  // A name always (job.faulted, custom): a number, which str() reads as text for ids, is no event type.
  const type = typeof payload.Type === 'string' ? str(payload.Type, 128) : undefined;
  const time = eventTime(payload);
  const errors = [
    ...(type ? [] : [{ path: 'Type', message: 'must be the event type, e.g. job.faulted' }]),
    ...('unreadable' in time ? [{ path: time.unreadable, message: UNREADABLE_TIME }] : []),
  ];
  if (!type || 'unreadable' in time) return mappingFailure(errors);
  const eventId = str(payload.EventId, 100_000);
  const deliveryKeys = [eventId ? deliveryKey('event', eventId) : `event:${hash(rawText)}`];

  let found = drafts(type, payload);
  if (found === 'quiet') found = [quietDraft(type)];
  const occurredAt = time.at === undefined ? undefined : new Date(time.at).toISOString();
  const folder = folderOf(payload);
  const kept: [Draft, Resolved][] = [];
  for (const draft of found) {
    const resolved: Resolved = applyOverride({ ...draft.rule }, mapping.events, type, draft.rule.event);
    if (resolved.alert) kept.push([draft, resolved]);
  }
  const ignored = found.length - kept.length;
  // An event that lists more (robot.status sessions, stopped jobs, abandoned items) keeps its first
  // MAX_BATCH alerts, as POST /alerts takes and an Alertmanager group is cut, each counting the
  // others: stored whole, some 13,000 were more flood locks than PostgreSQL holds in one
  // transaction (max_locks_per_transaction 64), a 503 at every retry, so the event was never stored.
  const truncated = Math.max(0, kept.length - MAX_BATCH);
  const alerts: AlertInput[] = [];
  for (const [draft, resolved] of kept.slice(0, MAX_BATCH)) {
    const data = withPayload(
      {
        eventId: eventId?.slice(0, 200) ?? null,
        type,
        tenantId: fact(payload.TenantId),
        folder: folder ?? null,
        ...factsOf(draft.facts),
        ...(truncated > 0 ? { truncatedAlerts: truncated } : {}),
      },
      payload,
      rawText,
    );
    alerts.push({
      severity: resolved.severity,
      component: resolved.component,
      event: draft.rule.event,
      message: clip(draft.message),
      data,
      ...(draft.source ? { source: draft.source } : {}),
      ...(folder ? { folder } : {}),
      ...(draft.dedupKey ? { dedupKey: draft.dedupKey.slice(0, 256) } : {}),
      ...(occurredAt ? { occurredAt } : {}),
    });
  }
  const contentKeys = alerts.flatMap((a) => (a.dedupKey && CONTENT_KEYED.has(type) ? [a.dedupKey] : []));
  if (contentKeys.length > 0) deliveryKeys.push(`content:${hash(contentKeys.sort().join('\n'))}`);
  return { alerts, deliveryKeys, ignored };
}

/** Types whose per-folder copies carry the same entity: their content key collapses the copies. */
const CONTENT_KEYED = new Set(['job.faulted', 'job.stopped', 'queueItem.transactionFailed', 'queueItem.transactionAbandoned']);

/**
 * orchestratorTableRows renders ORCHESTRATOR_RULES as the rows of README's mapping table (a test
 * keeps README in step with the table).
 */
export function orchestratorTableRows(): string[] {
  return ORCHESTRATOR_RULES.map(
    (r) =>
      `| \`${r.type}\`${r.condition ? ` (${r.condition})` : ''} | ${r.component} | \`${r.event}\` | ${r.severity}${r.alert ? '' : ' (off by default)'} | ${r.basis} |`,
  );
}
