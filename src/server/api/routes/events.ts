import { z } from 'zod';
import { looksLikeUuid, Uuid } from '../../../domain/common.js';
import { BerthError } from '../../../domain/errors.js';
import { Event, EVENT_TYPES } from '../../../domain/event.js';
import { Timestamp } from '../../../domain/common.js';
import type { EventType } from '../../../domain/event.js';
import type { EventRecord } from '../../../store/store.js';
import type { DeliveryRecord, IncidentRecord } from '../../../store/notification-store.js';
import { iso } from '../../representations.js';
import { defineRoute } from '../route.js';
import { page, pageOf, PagingQuery } from './paging.js';

const TypeList = z
  .string()
  .transform((text, ctx) => {
    const out = new Set<EventType>();
    for (const part of text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)) {
      if ((EVENT_TYPES as readonly string[]).includes(part)) out.add(part as EventType);
      else {
        ctx.addIssue({ code: 'custom', message: `unknown event type "${part}"; use ${EVENT_TYPES.join(', ')}, comma-separated` });
        return z.NEVER;
      }
    }
    return [...out];
  })
  .describe(`Comma-separated event types: ${EVENT_TYPES.join(', ')}.`);

/** The API resource of an event. */
export function eventResource(e: EventRecord): Event {
  return {
    uuid: e.uuid,
    type: e.type,
    severity: e.severity,
    message: e.message,
    task: e.task_uuid ? { uuid: e.task_uuid, name: e.task_name ?? 'deleted' } : null,
    task_execution: e.execution_uuid ? { uuid: e.execution_uuid } : null,
    workflow: e.workflow_uuid ? { uuid: e.workflow_uuid, name: e.workflow_name ?? 'deleted' } : null,
    workflow_execution: e.workflow_execution_uuid ? { uuid: e.workflow_execution_uuid } : null,
    grouping_key: e.grouping_key ?? null,
    incident: e.incident_uuid ? { uuid: e.incident_uuid } : null,
    details: e.details,
    created_at: iso(e.created_at),
  };
}

const Delivery = z.object({
  uuid: Uuid,
  profile: z.string().describe('The Notification Profile.'),
  method: z.string().describe('The method within the profile.'),
  type: z.string().describe('webhook, slack, email or pagerduty.'),
  action: z.enum(['trigger', 'resolve', 'test']).describe('trigger: the incident was told; resolve: it is over.'),
  status: z.enum(['pending', 'sending', 'delivered', 'failed']).describe('pending (waiting for its next try), sending, delivered, or failed (gave up).'),
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  next_attempt_at: Timestamp.nullable().describe('When it is tried next (pending only).'),
  last_error: z.string().nullable().describe('Why the last try failed (or why it waits: a rate limit).'),
  response_status: z.number().int().nullable().describe('The receiver\'s last HTTP status or SMTP reply code.'),
  tries: z.array(z.object({ at: Timestamp, ok: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable() })).describe('The last tries, oldest first.'),
  created_at: Timestamp,
  delivered_at: Timestamp.nullable(),
});

const Incident = z.object({
  uuid: Uuid,
  subject: z.object({ kind: z.enum(['task', 'workflow']), uuid: Uuid, name: z.string() }),
  grouping_key: z.string(),
  event_count: z.number().int().describe('Events in the incident so far.'),
  opened_at: Timestamp,
  resolved_at: Timestamp.nullable(),
});

const EventWithDeliveries = Event.extend({
  incident: Incident.nullable().describe('The incident the event opened, joined or resolved.'),
  deliveries: z.array(Delivery).describe('The notifications sent (or being sent) for this event.'),
});

function deliveryResource(d: DeliveryRecord) {
  return {
    uuid: d.uuid,
    profile: d.profile_name,
    method: d.method_name,
    type: d.method_type,
    action: d.action,
    status: d.status,
    attempts: d.attempts,
    max_attempts: d.max_attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
    last_error: d.last_error,
    response_status: d.response_status,
    tries: d.history.map((t) => ({ at: iso(t.at), ok: t.ok, status: t.status, error: t.error })),
    created_at: iso(d.created_at),
    delivered_at: iso(d.delivered_at),
  };
}

function incidentResource(i: IncidentRecord) {
  return {
    uuid: i.uuid,
    subject: { kind: i.subject_kind, uuid: i.subject_uuid, name: i.subject_name },
    grouping_key: i.grouping_key,
    event_count: i.event_count,
    opened_at: iso(i.opened_at),
    resolved_at: iso(i.resolved_at),
  };
}

export const eventRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/events/:event',
    operationId: 'getEvent',
    summary: 'One event, with its incident and the notifications sent for it (each with its tries and last error).',
    tag: 'events',
    scope: 'reporter',
    params: z.strictObject({ event: Uuid.describe('The event\'s uuid.') }),
    errors: ['EVENT_NOT_FOUND'],
    responses: { 200: { description: 'The event.', schema: EventWithDeliveries } },
    handler: async ({ params, services }) => {
      const store = services.ctx.store.notifications;
      const event = await store.getEvent(params.event);
      if (!event) throw new BerthError('EVENT_NOT_FOUND', `No event with uuid ${params.event}. List them with \`berth events ls\`.`);
      const incident = event.incident_uuid ? await store.getIncident(event.incident_uuid) : null;
      const deliveries = await store.listDeliveries(event.uuid);
      return {
        status: 200,
        body: { ...eventResource(event), incident: incident ? incidentResource(incident) : null, deliveries: deliveries.map(deliveryResource) },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/events',
    operationId: 'listEvents',
    summary: 'List events (failed, timed-out and abandoned executions, failed starts, missing heartbeats, missed scheduled runs, resolved incidents), newest first, with filters.',
    description: 'Each event is recorded once, even when several servers notice the same thing. See docs/notifications.md.',
    tag: 'events',
    scope: 'reporter',
    query: z.strictObject({
      ...PagingQuery,
      type: TypeList.optional(),
      task: z.string().min(1).optional().describe('Only events of this Task (uuid or name; a uuid also finds events of a deleted Task).'),
      task_execution: Uuid.optional().describe('Only events of this execution.'),
      created_after: z.iso.datetime({ offset: true }).optional().describe('Only events recorded at or after this time (ISO-8601).'),
      created_before: z.iso.datetime({ offset: true }).optional().describe('Only events recorded before this time (ISO-8601).'),
    }),
    errors: ['TASK_NOT_FOUND'],
    responses: { 200: { description: 'A page of events.', schema: pageOf(Event) } },
    handler: async ({ query, services, request }) => {
      let taskUuid: string | undefined;
      if (query.task) {
        const task = await services.ctx.store.getTask(query.task);
        if (task) taskUuid = task.uuid;
        else if (looksLikeUuid(query.task)) taskUuid = query.task.toLowerCase();
        else throw new BerthError('TASK_NOT_FOUND', `No Task named "${query.task}". List them with \`berth tasks ls\`, or filter by the uuid of a deleted one.`);
      }
      const { items, total } = await services.ctx.store.listEvents({
        limit: query.limit,
        offset: query.offset,
        ...(query.type ? { types: query.type } : {}),
        ...(taskUuid ? { task_uuid: taskUuid } : {}),
        ...(query.task_execution ? { execution_uuid: query.task_execution.toLowerCase() } : {}),
        ...(query.created_after ? { created_after: Date.parse(query.created_after) } : {}),
        ...(query.created_before ? { created_before: Date.parse(query.created_before) } : {}),
      });
      return { status: 200, body: page(request.url, query.limit, query.offset, total, items.map(eventResource)) };
    },
  }),
];
