import { randomUUID } from 'node:crypto';
import { EVENT_DEFAULTS } from '../domain/event.js';
import type { EventSeverity, EventType, GroupingKey } from '../domain/event.js';
import type { Store } from '../store/store.js';

/** What a part of the server says happened; `raiseEvent` fills in the rest. */
export interface RaiseEventInput {
  type: EventType;
  /** For people: what happened and what to check. Never a secret. */
  message: string;
  /** The Task it is about (its name is kept, so the event outlives the Task). */
  task?: { uuid: string; name: string } | null;
  execution_uuid?: string | null;
  /** The Workflow it is about, when it is a Workflow's event. */
  workflow?: { uuid: string; name: string } | null;
  workflow_execution_uuid?: string | null;
  /** Facts behind the message (shown by the API, sent in webhooks). */
  details?: Record<string, unknown>;
  /**
   * Unique per occurrence: raising the same key twice (two servers noticing the same thing)
   * records one event. E.g. `SERVICE_BELOW_DESIRED_COUNT:<task uuid>:<since epoch ms>`.
   */
  dedupe_key: string;
  /** (Default: the type's, `EVENT_DEFAULTS`.) */
  severity?: EventSeverity;
  /** Which incident it joins or resolves. (Default: the type's; required for RESOLVED.) */
  grouping_key?: GroupingKey | string;
  /** (Default: now.) */
  at?: number;
}

/**
 * Records an event for the notifier, which groups it into the subject's open incident and sends
 * it through the Notification Profiles of its Task (or Workflow). Returns the event's uuid, or
 * null when an event with the same `dedupe_key` exists already (then nothing is sent twice).
 * Works inside a transaction (`store` may be a `tx`): the event commits with the caller's change.
 *
 * A problem and its end, e.g. from a service watcher:
 *
 * @example
 * await raiseEvent(store, now, {
 *   type: 'SERVICE_BELOW_DESIRED_COUNT',
 *   task: { uuid: task.uuid, name: task.name },
 *   message: `Service "${task.name}" runs 1 of 3 desired tasks`,
 *   details: { running: 1, desired: 3 },
 *   dedupe_key: `SERVICE_BELOW_DESIRED_COUNT:${task.uuid}:${since}`,
 * });
 * // later, when it is back to its desired count:
 * await raiseEvent(store, now, {
 *   type: 'RESOLVED',
 *   grouping_key: 'service',
 *   task: { uuid: task.uuid, name: task.name },
 *   message: `Service "${task.name}" runs 3 of 3 desired tasks again`,
 *   dedupe_key: `RESOLVED:service:${task.uuid}:${since}`,
 * });
 */
export async function raiseEvent(store: Store, now: number, input: RaiseEventInput): Promise<string | null> {
  const defaults = EVENT_DEFAULTS[input.type];
  const groupingKey = input.grouping_key ?? defaults.grouping_key;
  if (input.type === 'RESOLVED' && !groupingKey) throw new Error('raiseEvent: a RESOLVED event needs the grouping_key of the incident it resolves');
  const uuid = randomUUID();
  const recorded = await store.recordEvent({
    uuid,
    type: input.type,
    severity: input.severity ?? defaults.severity,
    message: input.message,
    task_uuid: input.task?.uuid ?? null,
    task_name: input.task?.name ?? null,
    execution_uuid: input.execution_uuid ?? null,
    workflow_uuid: input.workflow?.uuid ?? null,
    workflow_name: input.workflow?.name ?? null,
    workflow_execution_uuid: input.workflow_execution_uuid ?? null,
    details: input.details ?? {},
    dedupe_key: input.dedupe_key,
    grouping_key: groupingKey,
    created_at: input.at ?? now,
  });
  return recorded ? uuid : null;
}
