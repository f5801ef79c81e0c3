import { z } from 'zod';
import { Name, Timestamp, Uuid } from './common.js';

/**
 * Events: things Berth noticed that a person may need to act on, kept as history
 * (`GET /api/v1/events`, `berth events ls`). Notifications (webhooks, Slack, e-mail) will be sent
 * from them. Each event is recorded once, even with several servers: it has a unique key (for a
 * missed run, the Task and the expected time).
 */
export const EVENT_TYPES = ['MISSED_SCHEDULED_RUN', 'MISSING_HEARTBEAT', 'FAILED_TO_START'] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  MISSED_SCHEDULED_RUN:
    'A passive Task with a schedule had no run reported within max_schedule_lateness_seconds of an expected run.',
  MISSING_HEARTBEAT:
    'An execution stopped sending heartbeats for longer than heartbeat_interval_seconds + max_heartbeat_lateness_seconds; it is ABANDONED (and stopped if Berth started it).',
  FAILED_TO_START: 'An execution was not seen RUNNING within its start deadline; it FAILED (and was stopped if Berth started it).',
};

export const EventSeverity = z.enum(['error', 'warning', 'info']).describe('error: something failed; warning: something may be wrong.');
export type EventSeverity = z.infer<typeof EventSeverity>;

/** An event as the API returns it. */
export const Event = z.object({
  uuid: Uuid,
  type: EventType.describe(
    'MISSED_SCHEDULED_RUN, MISSING_HEARTBEAT or FAILED_TO_START (see docs/liveness.md).',
  ),
  severity: EventSeverity,
  message: z.string().describe('What happened and what to check, for people.'),
  task: z.object({ uuid: Uuid, name: Name }).nullable().describe('The Task it is about (its name as it was, if since deleted).'),
  task_execution: z.object({ uuid: Uuid }).nullable().describe('The execution it is about, if any.'),
  details: z
    .record(z.string(), z.unknown())
    .describe('Facts behind the message, by type: expected_at and deadline (missed run), last_seen_at, timeout_seconds (heartbeat), deadline_seconds (start).'),
  created_at: Timestamp.describe('When Berth recorded it.'),
});
export type Event = z.infer<typeof Event>;
