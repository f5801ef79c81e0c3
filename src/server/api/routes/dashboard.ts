/**
 * Routes the web dashboard needs beyond the resource lists: who the caller is (to hide what its
 * scope may not do), one page of Tasks with their latest execution, success rate and next fire,
 * and the Overview's counts. Each answers from bounded queries (`store/summary-store.ts`).
 */
import { z } from 'zod';
import { ApiKeyScope } from '../../../domain/api-key.js';
import { Timestamp, Uuid } from '../../../domain/common.js';
import { EXECUTION_STATUSES, ExecutionStatus } from '../../../domain/execution-status.js';
import { Task } from '../../../domain/task.js';
import { iso, taskResource } from '../../representations.js';
import { defineRoute } from '../route.js';
import { page, pageOf } from './paging.js';
import { listTaskPage, TaskListQuery } from './tasks.js';

/** How many of a Task's newest executions its success rate is computed from. */
export const SUCCESS_RATE_WINDOW = 20;

export const WhoAmI = z.object({
  scope: ApiKeyScope.describe('What the caller may do: admin, developer (start, stop, change Tasks) or reporter (read, report).'),
  api_key: z
    .object({ uuid: Uuid, name: z.string(), prefix: z.string(), run_environment: z.object({ uuid: Uuid }).nullable() })
    .nullable()
    .describe('The key the request was made with; null for a local-only caller without a key.'),
  local_only: z.boolean().describe('Whether the server runs in local-only mode (callers on this machine need no key).'),
});

export const TaskSummary = z.object({
  task: Task,
  last_execution: z
    .object({ uuid: Uuid, status: ExecutionStatus, created_at: Timestamp, started_at: Timestamp.nullable(), finished_at: Timestamp.nullable() })
    .nullable()
    .describe('The newest execution; null when the Task never ran.'),
  recent_finished: z.number().int().describe(`How many of the Task's newest ${SUCCESS_RATE_WINDOW} executions have finished.`),
  recent_succeeded: z.number().int().describe('How many of those SUCCEEDED.'),
  success_rate: z.number().min(0).max(1).nullable().describe('recent_succeeded / recent_finished; null when none has finished.'),
  next_fire_at: Timestamp.nullable().describe("When Berth's scheduler starts it next; null when it is not scheduled by Berth."),
});

export const Overview = z.object({
  since: Timestamp.describe('Start of the window the counts cover.'),
  counts: z.record(z.string(), z.number().int()).describe(`Executions created since then, by status (${EXECUTION_STATUSES.join(', ')}); statuses with none are left out.`),
  total: z.number().int(),
  upcoming: z
    .array(
      z.object({
        kind: z.enum(['task', 'workflow']),
        uuid: Uuid,
        name: z.string(),
        schedule: z.string(),
        next_fire_at: Timestamp,
      }),
    )
    .describe('The next scheduled starts, earliest first.'),
});

export const dashboardRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/whoami',
    operationId: 'whoAmI',
    summary: "The caller's scope and key (the dashboard hides what the scope may not do).",
    tag: 'api_keys',
    scope: 'reporter',
    responses: { 200: { description: 'Who is calling.', schema: WhoAmI } },
    handler: async ({ principal, services }) => ({
      status: 200,
      body: {
        scope: principal.scope,
        api_key: principal.key
          ? {
              uuid: principal.key.uuid,
              name: principal.key.name,
              prefix: principal.key.prefix,
              run_environment: principal.key.run_environment_uuid ? { uuid: principal.key.run_environment_uuid } : null,
            }
          : null,
        local_only: services.localOnly,
      },
    }),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/task_summaries',
    operationId: 'listTaskSummaries',
    summary: 'A page of Tasks (same order and filters as GET /api/v1/tasks/), each with its latest execution, recent success rate and next fire time.',
    tag: 'tasks',
    scope: 'reporter',
    query: TaskListQuery,
    errors: ['RUN_ENVIRONMENT_NOT_FOUND'],
    responses: { 200: { description: 'A page of Task summaries.', schema: pageOf(TaskSummary) } },
    handler: async ({ query, services, request }) => {
      const { items, total, envs } = await listTaskPage(services, query);
      const summaries = await services.ctx.store.summaries.taskSummaries(
        items.map((t) => t.uuid),
        SUCCESS_RATE_WINDOW,
      );
      const results = items.map((t) => {
        const s = summaries.get(t.uuid)!;
        const last = s.last_execution;
        return {
          task: taskResource(t, envs.get(t.run_environment_uuid)!),
          last_execution: last
            ? { uuid: last.uuid, status: last.status, created_at: iso(last.created_at), started_at: iso(last.started_at), finished_at: iso(last.finished_at) }
            : null,
          recent_finished: s.finished,
          recent_succeeded: s.succeeded,
          success_rate: s.finished > 0 ? s.succeeded / s.finished : null,
          next_fire_at: iso(s.next_fire_at),
        };
      });
      return { status: 200, body: page(request.url, query.limit, query.offset, total, results) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/overview',
    operationId: 'getOverview',
    summary: 'Executions created in the last hours counted by status, and the next scheduled starts.',
    tag: 'task_executions',
    scope: 'reporter',
    query: z.strictObject({
      hours: z.coerce.number().int().min(1).max(24 * 31).default(24).describe('The window, in hours back from now (1–744). (Default: 24)'),
      upcoming: z.coerce.number().int().min(0).max(100).default(10).describe('How many scheduled starts to list (0–100). (Default: 10)'),
    }),
    responses: { 200: { description: 'The counts and the next starts.', schema: Overview } },
    handler: async ({ query, services }) => {
      const since = services.ctx.clock.now() - query.hours * 3600_000;
      const store = services.ctx.store;
      const counts = await store.summaries.countExecutionsByStatus(since);
      const upcoming = query.upcoming > 0 ? await store.summaries.listUpcomingFires(query.upcoming) : [];
      return {
        status: 200,
        body: {
          since: iso(since),
          counts,
          total: Object.values(counts).reduce((a, b) => a + b, 0),
          upcoming: upcoming.map((u) => ({ kind: u.target_kind, uuid: u.target_uuid, name: u.name, schedule: u.expression, next_fire_at: iso(u.next_fire_at) })),
        },
      };
    },
  }),
];
