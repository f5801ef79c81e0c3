import { z } from 'zod';
import { looksLikeUuid, Uuid } from '../../../domain/common.js';
import { BerthError } from '../../../domain/errors.js';
import { Event, EVENT_TYPES } from '../../../domain/event.js';
import type { EventType } from '../../../domain/event.js';
import type { EventRecord } from '../../../store/store.js';
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
    details: e.details,
    created_at: iso(e.created_at),
  };
}

export const eventRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/events',
    operationId: 'listEvents',
    summary: 'List events (missed scheduled runs, missing heartbeats, failed starts), newest first, with filters.',
    description: 'Each event is recorded once, even when several servers notice the same thing. See docs/liveness.md.',
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
