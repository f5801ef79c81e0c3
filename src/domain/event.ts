import { z } from 'zod';
import { Name, Timestamp, Uuid } from './common.js';
import { EVENT_TYPES } from './event-types.js';

/**
 * Events: things Berth noticed that a person may need to act on, kept as history
 * (`GET /api/v1/events`, `berth events ls`). The notifier groups them into incidents and sends
 * them through Notification Profiles (docs/notifications.md). Each event is recorded once, even
 * with several servers: it has a unique key (for a missed run, the Task and the expected time).
 */
export { EVENT_TYPES };
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  MISSED_SCHEDULED_RUN:
    'A passive Task with a schedule had no run reported within max_schedule_lateness_seconds of an expected run.',
  MISSING_HEARTBEAT:
    'An execution stopped sending heartbeats for longer than heartbeat_interval_seconds + max_heartbeat_lateness_seconds; it is ABANDONED (and stopped if Berth started it).',
  FAILED_TO_START: 'An execution was not seen RUNNING within its start deadline; it FAILED (and was stopped if Berth started it).',
  EXECUTION_FAILED: 'An execution ended FAILED (non-zero exit code, signal, or a start the executor refused), after its retries.',
  EXECUTION_TIMED_OUT: 'An execution ran longer than its timeout_seconds and ended TERMINATED_AFTER_TIME_OUT.',
  EXECUTION_ABANDONED: 'An execution ended ABANDONED for another reason than a missing heartbeat (its process or ECS task vanished).',
  WORKFLOW_FAILED: 'A Workflow Execution ended FAILED or TERMINATED_AFTER_TIME_OUT.',
  SERVICE_BELOW_DESIRED_COUNT:
    'A Service has run fewer copies than its service.minimum_healthy_count (by default its desired count) for longer than service.below_minimum_grace_seconds (docs/services.md).',
  RESOLVED:
    'The open incident of a Task or Workflow (by grouping key) is over: its next execution succeeded, or the service is back to its desired count.',
};

/**
 * Grouping keys: events of one Task (or Workflow) with the same key belong to one incident, open
 * until a RESOLVED event with that key. Failures of every kind share `failure`, so ten failures in
 * a row are one incident whatever each one's reason.
 */
export const GROUPING_KEYS = ['failure', 'missed_schedule', 'service'] as const;
export type GroupingKey = (typeof GROUPING_KEYS)[number];

/** The grouping key and severity each type gets unless its recorder says otherwise. */
export const EVENT_DEFAULTS: Record<EventType, { grouping_key: GroupingKey | null; severity: EventSeverity }> = {
  MISSED_SCHEDULED_RUN: { grouping_key: 'missed_schedule', severity: 'error' },
  MISSING_HEARTBEAT: { grouping_key: 'failure', severity: 'error' },
  FAILED_TO_START: { grouping_key: 'failure', severity: 'error' },
  EXECUTION_FAILED: { grouping_key: 'failure', severity: 'error' },
  EXECUTION_TIMED_OUT: { grouping_key: 'failure', severity: 'error' },
  EXECUTION_ABANDONED: { grouping_key: 'failure', severity: 'error' },
  WORKFLOW_FAILED: { grouping_key: 'failure', severity: 'error' },
  SERVICE_BELOW_DESIRED_COUNT: { grouping_key: 'service', severity: 'error' },
  // Which incident it resolves is always given by its recorder.
  RESOLVED: { grouping_key: null, severity: 'info' },
};

/** Severities from least to most severe, for `min_severity` comparisons. */
export const SEVERITY_RANK: Record<EventSeverity, number> = { info: 0, warning: 1, error: 2 };

export const EventSeverity = z.enum(['error', 'warning', 'info']).describe('error: something failed; warning: something may be wrong; info: news, such as a resolved incident.');
export type EventSeverity = z.infer<typeof EventSeverity>;

/** An event as the API returns it. */
export const Event = z.object({
  uuid: Uuid,
  type: EventType.describe(
    `${EVENT_TYPES.join(', ')} (see docs/notifications.md and docs/liveness.md).`,
  ),
  severity: EventSeverity,
  message: z.string().describe('What happened and what to check, for people.'),
  task: z.object({ uuid: Uuid, name: Name }).nullable().describe('The Task it is about (its name as it was, if since deleted).'),
  task_execution: z.object({ uuid: Uuid }).nullable().describe('The execution it is about, if any.'),
  workflow: z.object({ uuid: Uuid, name: Name }).nullable().describe('The Workflow it is about (WORKFLOW_FAILED, or RESOLVED of a Workflow).'),
  workflow_execution: z.object({ uuid: Uuid }).nullable().describe('The Workflow Execution it is about, if any.'),
  grouping_key: z
    .string()
    .nullable()
    .describe('Events of one Task or Workflow with the same grouping key form one incident until it is resolved: failure, missed_schedule or service.'),
  incident: z.object({ uuid: Uuid }).nullable().describe('The incident the event opened, joined or resolved (null until the notifier has routed it, or when there was none to resolve).'),
  details: z
    .record(z.string(), z.unknown())
    .describe('Facts behind the message, by type: expected_at and deadline (missed run), last_seen_at, timeout_seconds (heartbeat), deadline_seconds (start).'),
  created_at: Timestamp.describe('When Berth recorded it.'),
});
export type Event = z.infer<typeof Event>;
