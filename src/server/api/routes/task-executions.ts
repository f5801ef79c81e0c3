import { z } from 'zod';
import { Uuid } from '../../../domain/common.js';
import { EXECUTION_STATUSES } from '../../../domain/execution-status.js';
import type { ExecutionStatus } from '../../../domain/execution-status.js';
import { CreateExecutionRequest, LogPage, TaskExecution, UpdateExecutionRequest } from '../../../domain/task-execution.js';
import { ExecutionService } from '../../execution-service.js';
import { defineRoute } from '../route.js';
import { page, pageOf, PagingQuery, QueryBoolean } from './paging.js';

const Params = z.strictObject({ uuid: Uuid });
const TAG = 'task_executions';

const StatusList = z
  .string()
  .transform((text, ctx) => {
    const out = new Set<ExecutionStatus>();
    for (const part of text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)) {
      if (part === 'IN_PROGRESS') ExecutionService.IN_PROGRESS.forEach((s) => out.add(s));
      else if ((EXECUTION_STATUSES as readonly string[]).includes(part)) out.add(part as ExecutionStatus);
      else {
        ctx.addIssue({
          code: 'custom',
          message: `unknown status "${part}"; use ${EXECUTION_STATUSES.join(', ')} or IN_PROGRESS, comma-separated`,
        });
        return z.NEVER;
      }
    }
    return [...out];
  })
  .describe('Comma-separated statuses, e.g. RUNNING,FAILED; IN_PROGRESS = queued, starting, running or stopping.');

export const taskExecutionRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/task_executions',
    operationId: 'listTaskExecutions',
    summary: 'List Task Executions, newest first, with filters.',
    tag: TAG,
    scope: 'reporter',
    query: z.strictObject({
      ...PagingQuery,
      task: z.string().min(1).optional().describe('Only executions of this Task (uuid or name).'),
      run_environment: z.string().min(1).optional().describe('Only executions in this Run Environment (uuid or name).'),
      status: StatusList.optional(),
      created_after: z.iso.datetime({ offset: true }).optional().describe('Only executions created at or after this time (ISO-8601).'),
    }),
    errors: ['TASK_NOT_FOUND', 'RUN_ENVIRONMENT_NOT_FOUND'],
    responses: { 200: { description: 'A page of executions.', schema: pageOf(TaskExecution) } },
    handler: async ({ query, services, request }) => {
      const task = query.task ? await services.catalog.requireTask(query.task) : null;
      const env = query.run_environment ? await services.catalog.requireRunEnvironment(query.run_environment) : null;
      const { items, total } = await services.ctx.store.listExecutions({
        limit: query.limit,
        offset: query.offset,
        ...(task ? { task_uuid: task.uuid } : {}),
        ...(env ? { run_environment_uuid: env.uuid } : {}),
        ...(query.status ? { statuses: query.status } : {}),
        ...(query.created_after ? { created_after: Date.parse(query.created_after) } : {}),
      });
      const results = await services.executions.toResources(items);
      return { status: 200, body: page(request.url, query.limit, query.offset, total, results) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/task_executions',
    operationId: 'startTaskExecution',
    summary: 'Start a Task (QUEUED, the launcher starts it), or take a wrapper\'s report of a run it started (RUNNING).',
    description:
      'Without status: starts the Task. With max_concurrency reached, the execution waits in QUEUED, or the request fails with 409 MAX_CONCURRENCY_REACHED when the Task says on_concurrency_limit: reject. ' +
      'With status (RUNNING): a wrapper such as proc_wrapper reports a run it started itself; the execution is RUNNING with run_reason REPORTED, the Task is created passive if the wrapper asks (task.was_auto_created) and the key may, and 409 MAX_CONCURRENCY_REACHED means the Task is at its limit (the wrapper retries). ' +
      'Unknown fields are ignored. See docs/protocol.md.',
    tag: TAG,
    scope: 'reporter',
    body: CreateExecutionRequest,
    errors: ['TASK_NOT_FOUND', 'RUN_ENVIRONMENT_NOT_FOUND', 'TASK_DISABLED', 'TASK_IS_PASSIVE', 'EXECUTOR_DISABLED', 'MAX_CONCURRENCY_REACHED'],
    responses: { 201: { description: 'Created.', schema: TaskExecution } },
    handler: async ({ body, principal, services }) => {
      const { execution, task, env } =
        body.status === undefined
          ? await services.executions.startWithContext(body, principal)
          : await services.executions.report(body, principal);
      return { status: 201, body: services.executions.resourceWith(execution, task, env) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/task_executions/:uuid',
    operationId: 'getTaskExecution',
    summary: 'One Task Execution.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    errors: ['TASK_EXECUTION_NOT_FOUND'],
    responses: { 200: { description: 'The execution.', schema: TaskExecution } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: await services.executions.toResource(await services.executions.require(params.uuid)),
    }),
  }),
  defineRoute({
    method: 'PATCH',
    url: '/api/v1/task_executions/:uuid',
    operationId: 'updateTaskExecution',
    summary: 'Report progress or change status: {"status": "STOPPING"} requests a stop.',
    description:
      'What a wrapper sends: the manual start (RUNNING), heartbeats (RUNNING with counts; 409 STOP_REQUESTED when a stop was requested: end the command), and the final report (SUCCEEDED, FAILED, TERMINATED_AFTER_TIME_OUT, EXITED_AFTER_MARKED_DONE, ABORTED with exit_code and log tails). Unknown fields are ignored. See docs/protocol.md.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    query: z.strictObject({
      content: QueryBoolean.optional().describe('false: answer 204 with no body (what wrappers send for heartbeats).'),
    }),
    body: UpdateExecutionRequest,
    errors: ['TASK_EXECUTION_NOT_FOUND', 'INVALID_TRANSITION', 'STOP_REQUESTED'],
    responses: {
      200: { description: 'Updated.', schema: TaskExecution },
      204: { description: 'Updated (content=false).' },
    },
    handler: async ({ params, query, body, principal, services }) => {
      const execution = await services.executions.update(params.uuid, body, principal);
      if (query.content === false) return { status: 204 };
      return { status: 200, body: await services.executions.toResource(execution) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/task_executions/:uuid/logs',
    operationId: 'getTaskExecutionLogs',
    summary: "A page of an attempt's output; pass next_cursor back to continue (follow = poll with it).",
    tag: TAG,
    scope: 'reporter',
    params: Params,
    query: z.strictObject({
      cursor: z.string().max(2000).optional().describe('next_cursor of the previous page; omit to start at the beginning.'),
      attempt: z.coerce.number().int().min(1).optional().describe('Attempt number. (Default: the latest)'),
      limit: z.coerce.number().int().min(1).max(1_048_576).default(65_536).describe('Most bytes to return. (Default: 65536)'),
    }),
    errors: ['TASK_EXECUTION_NOT_FOUND', 'LOGS_UNAVAILABLE'],
    responses: { 200: { description: 'Log lines.', schema: LogPage } },
    handler: async ({ params, query, services }) => ({
      status: 200,
      body: await services.executions.readLogs(params.uuid, query),
    }),
  }),
];
