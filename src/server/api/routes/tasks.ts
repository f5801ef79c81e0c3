import { z } from 'zod';
import { Task, TaskSpec } from '../../../domain/task.js';
import type { TaskRecord } from '../../../store/store.js';
import { taskResource } from '../../representations.js';
import type { Services } from '../services.js';
import { defineRoute } from '../route.js';
import { page, pageOf, PagingQuery, QueryBoolean } from './paging.js';

const Params = z.strictObject({ task: z.string().min(1).describe('uuid or name') });
const TAG = 'tasks';

type RunEnvironmentRef = { uuid: string; name: string; kind: 'local' | 'aws-ecs' };

/** The Run Environment each Task names, loaded once per distinct uuid. */
async function runEnvironmentsOf(services: Services, tasks: readonly TaskRecord[]): Promise<Map<string, RunEnvironmentRef>> {
  const envs = new Map<string, RunEnvironmentRef>();
  for (const uuid of new Set(tasks.map((t) => t.run_environment_uuid))) {
    const env = await services.ctx.store.getRunEnvironment(uuid);
    envs.set(uuid, { uuid, name: env?.name ?? 'deleted', kind: env?.kind ?? 'local' });
  }
  return envs;
}

async function resources(services: Services, tasks: readonly TaskRecord[]): Promise<Task[]> {
  const envs = await runEnvironmentsOf(services, tasks);
  return tasks.map((t) => taskResource(t, envs.get(t.run_environment_uuid)!));
}

/** The filters of a Task list: `GET /api/v1/tasks` and the dashboard's `GET /api/v1/task_summaries`. */
export const TaskListQuery = z.strictObject({
  ...PagingQuery,
  run_environment: z.string().min(1).optional().describe('Only Tasks of this Run Environment (uuid or name).'),
  search: z.string().min(1).max(100).optional().describe('Only Tasks whose name contains this (case-insensitive).'),
  enabled: QueryBoolean.optional(),
  passive: QueryBoolean.optional(),
});

/** One page of Tasks for those filters, with the Run Environment each names. */
export async function listTaskPage(services: Services, query: z.infer<typeof TaskListQuery>) {
  const env = query.run_environment ? await services.catalog.requireRunEnvironment(query.run_environment) : null;
  const { items, total } = await services.ctx.store.listTasks({
    limit: query.limit,
    offset: query.offset,
    ...(env ? { run_environment_uuid: env.uuid } : {}),
    ...(query.search ? { search: query.search } : {}),
    ...(query.enabled !== undefined ? { enabled: query.enabled } : {}),
    ...(query.passive !== undefined ? { passive: query.passive } : {}),
  });
  return { items, total, envs: await runEnvironmentsOf(services, items) };
}

export const taskRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/tasks',
    operationId: 'listTasks',
    summary: 'List Tasks by name, with filters.',
    tag: TAG,
    scope: 'reporter',
    query: TaskListQuery,
    errors: ['RUN_ENVIRONMENT_NOT_FOUND'],
    responses: { 200: { description: 'A page of Tasks.', schema: pageOf(Task) } },
    handler: async ({ query, services, request }) => {
      const { items, total, envs } = await listTaskPage(services, query);
      const results = items.map((t) => taskResource(t, envs.get(t.run_environment_uuid)!));
      return { status: 200, body: page(request.url, query.limit, query.offset, total, results) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/tasks',
    operationId: 'upsertTask',
    summary: 'Create a Task, or replace the one with the same name (fields left out get their defaults).',
    tag: TAG,
    scope: 'developer',
    body: TaskSpec,
    errors: ['RUN_ENVIRONMENT_NOT_FOUND', 'NAME_TAKEN'],
    responses: {
      200: { description: 'Replaced.', schema: Task },
      201: { description: 'Created.', schema: Task },
    },
    handler: async ({ body, services }) => {
      const { record, created } = await services.catalog.upsertTask(body);
      const [resource] = await resources(services, [record]);
      return { status: created ? 201 : 200, body: resource };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/tasks/:task',
    operationId: 'getTask',
    summary: 'One Task, by uuid or name.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    errors: ['TASK_NOT_FOUND'],
    responses: { 200: { description: 'The Task.', schema: Task } },
    handler: async ({ params, services }) => {
      const [resource] = await resources(services, [await services.catalog.requireTask(params.task)]);
      return { status: 200, body: resource };
    },
  }),
  defineRoute({
    method: 'PATCH',
    url: '/api/v1/tasks/:task',
    operationId: 'updateTask',
    summary: 'Change some fields of a Task; the result is validated as a whole.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    body: z.record(z.string(), z.unknown()).describe('Any fields of a Task.'),
    errors: ['TASK_NOT_FOUND', 'RUN_ENVIRONMENT_NOT_FOUND'],
    responses: { 200: { description: 'Updated.', schema: Task } },
    handler: async ({ params, body, services }) => {
      const [resource] = await resources(services, [await services.catalog.patchTask(params.task, body)]);
      return { status: 200, body: resource };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/tasks/:task/prune_revisions',
    operationId: 'pruneTaskRevisions',
    summary: "Deregister old ECS task definition revisions of an aws-ecs Task, keeping the newest and those in use.",
    tag: TAG,
    scope: 'developer',
    params: Params,
    body: z.strictObject({
      keep: z.number().int().min(1).max(1000).default(5).describe('How many of the newest revisions to keep. (Default: 5)'),
      dry_run: z.boolean().default(false).describe('Only say what would be removed.'),
    }),
    errors: ['TASK_NOT_FOUND', 'UNSUPPORTED_FOR_KIND'],
    responses: {
      200: {
        description: 'What was (or would be) kept and removed.',
        schema: z.object({ dry_run: z.boolean(), kept: z.array(z.string()), removed: z.array(z.string()) }),
      },
    },
    handler: async ({ params, body, services }) => ({
      status: 200,
      body: { dry_run: body.dry_run, ...(await services.catalog.pruneRevisions(params.task, body.keep, body.dry_run)) },
    }),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/v1/tasks/:task',
    operationId: 'deleteTask',
    summary: 'Delete a Task and its execution history (refused while executions are queued or running).',
    tag: TAG,
    scope: 'developer',
    params: Params,
    errors: ['TASK_NOT_FOUND', 'TASK_HAS_ACTIVE_EXECUTIONS'],
    responses: { 204: { description: 'Deleted.' } },
    handler: async ({ params, services }) => {
      await services.catalog.deleteTask(params.task);
      return { status: 204 };
    },
  }),
];
