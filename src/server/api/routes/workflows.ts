import { z } from 'zod';
import { Uuid } from '../../../domain/common.js';
import {
  StartWorkflowRequest,
  UpdateWorkflowExecutionRequest,
  Workflow,
  WORKFLOW_EXECUTION_STATUSES,
  WorkflowExecution,
  WorkflowExecutionSummary,
  WorkflowSpec,
} from '../../../domain/workflow.js';
import type { WorkflowExecutionStatus } from '../../../domain/workflow.js';
import { defineRoute } from '../route.js';
import { page, pageOf, PagingQuery } from './paging.js';

const WorkflowParams = z.strictObject({ workflow: z.string().min(1).describe('uuid or name') });
const ExecutionParams = z.strictObject({ uuid: Uuid });

const StatusList = z
  .string()
  .transform((text, ctx) => {
    const out = new Set<WorkflowExecutionStatus>();
    for (const part of text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)) {
      if (part === 'IN_PROGRESS') {
        out.add('RUNNING');
        out.add('STOPPING');
      } else if ((WORKFLOW_EXECUTION_STATUSES as readonly string[]).includes(part)) out.add(part as WorkflowExecutionStatus);
      else {
        ctx.addIssue({
          code: 'custom',
          message: `unknown status "${part}"; use ${WORKFLOW_EXECUTION_STATUSES.join(', ')} or IN_PROGRESS, comma-separated`,
        });
        return z.NEVER;
      }
    }
    return [...out];
  })
  .describe('Comma-separated statuses, e.g. FAILED,STOPPED; IN_PROGRESS = RUNNING or STOPPING.');

export const workflowRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/workflows',
    operationId: 'listWorkflows',
    summary: 'List Workflows by name.',
    tag: 'workflows',
    scope: 'reporter',
    query: z.strictObject({
      ...PagingQuery,
      search: z.string().min(1).max(100).optional().describe('Only Workflows whose name contains this (case-insensitive).'),
    }),
    responses: { 200: { description: 'A page of Workflows.', schema: pageOf(Workflow) } },
    handler: async ({ query, services, request }) => {
      const { items, total } = await services.ctx.store.workflows.listWorkflows({
        limit: query.limit,
        offset: query.offset,
        ...(query.search ? { search: query.search } : {}),
      });
      return { status: 200, body: page(request.url, query.limit, query.offset, total, items.map((w) => services.workflows.workflowResource(w))) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/workflows',
    operationId: 'upsertWorkflow',
    summary: 'Create a Workflow, or replace the definition of the one with the same name (its version goes up when it changed).',
    description:
      'The definition is checked as a whole: instance names, transitions between existing instances, no cycles (the error names the cycle), start conditions that can be met, expressions that parse, and Tasks that exist and are not passive. Executions in flight keep the definition they started with.',
    tag: 'workflows',
    scope: 'developer',
    body: WorkflowSpec,
    errors: ['NAME_TAKEN'],
    responses: {
      200: { description: 'Replaced (or unchanged).', schema: Workflow },
      201: { description: 'Created.', schema: Workflow },
    },
    handler: async ({ body, services }) => {
      await services.notifications.requireReferences(body.notification_profiles);
      const { record, created } = await services.workflows.upsert(body);
      return { status: created ? 201 : 200, body: services.workflows.workflowResource(record) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/workflows/:workflow',
    operationId: 'getWorkflow',
    summary: 'One Workflow, by uuid or name.',
    tag: 'workflows',
    scope: 'reporter',
    params: WorkflowParams,
    errors: ['WORKFLOW_NOT_FOUND'],
    responses: { 200: { description: 'The Workflow.', schema: Workflow } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: services.workflows.workflowResource(await services.workflows.require(params.workflow)),
    }),
  }),
  defineRoute({
    method: 'DELETE',
    url: '/api/v1/workflows/:workflow',
    operationId: 'deleteWorkflow',
    summary: 'Delete a Workflow and its execution history (its Task Executions stay); refused while one of its executions runs.',
    tag: 'workflows',
    scope: 'developer',
    params: WorkflowParams,
    errors: ['WORKFLOW_NOT_FOUND', 'WORKFLOW_HAS_ACTIVE_EXECUTIONS'],
    responses: { 204: { description: 'Deleted.' } },
    handler: async ({ params, services }) => {
      await services.workflows.delete(params.workflow);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/workflow_executions',
    operationId: 'listWorkflowExecutions',
    summary: 'List Workflow Executions, newest first, with filters (without their graphs).',
    tag: 'workflow_executions',
    scope: 'reporter',
    query: z.strictObject({
      ...PagingQuery,
      workflow: z.string().min(1).optional().describe('Only executions of this Workflow (uuid or name).'),
      status: StatusList.optional(),
    }),
    errors: ['WORKFLOW_NOT_FOUND'],
    responses: { 200: { description: 'A page of Workflow Executions.', schema: pageOf(WorkflowExecutionSummary) } },
    handler: async ({ query, services, request }) => {
      const workflow = query.workflow ? await services.workflows.require(query.workflow) : null;
      const { items, total } = await services.ctx.store.workflows.listWorkflowExecutions({
        limit: query.limit,
        offset: query.offset,
        ...(workflow ? { workflow_uuid: workflow.uuid } : {}),
        ...(query.status ? { statuses: query.status } : {}),
      });
      return { status: 200, body: page(request.url, query.limit, query.offset, total, await services.workflows.summaries(items)) };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/workflow_executions',
    operationId: 'startWorkflowExecution',
    summary: 'Start a Workflow: a RUNNING Workflow Execution whose first instances are queued at once.',
    tag: 'workflow_executions',
    scope: 'developer',
    body: StartWorkflowRequest,
    errors: ['WORKFLOW_NOT_FOUND'],
    responses: { 201: { description: 'Started.', schema: WorkflowExecution } },
    handler: async ({ body, services }) => {
      const wfe = await services.workflows.startWorkflow(body.workflow, {
        runReason: 'EXPLICIT_START',
        ...(body.environment ? { environment: body.environment } : {}),
      });
      return { status: 201, body: await services.workflows.executionResource(wfe) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/workflow_executions/:uuid',
    operationId: 'getWorkflowExecution',
    summary: 'One Workflow Execution with its graph: nodes with their live state and executions, and edges with theirs.',
    tag: 'workflow_executions',
    scope: 'reporter',
    params: ExecutionParams,
    errors: ['WORKFLOW_EXECUTION_NOT_FOUND'],
    responses: { 200: { description: 'The Workflow Execution.', schema: WorkflowExecution } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: await services.workflows.executionResource(await services.workflows.requireExecution(params.uuid)),
    }),
  }),
  defineRoute({
    method: 'PATCH',
    url: '/api/v1/workflow_executions/:uuid',
    operationId: 'updateWorkflowExecution',
    summary: '{"status": "STOPPING"} stops it: nothing more starts and every execution in it that runs is stopped.',
    tag: 'workflow_executions',
    scope: 'developer',
    params: ExecutionParams,
    body: UpdateWorkflowExecutionRequest,
    errors: ['WORKFLOW_EXECUTION_NOT_FOUND', 'WORKFLOW_EXECUTION_NOT_RUNNING'],
    responses: { 200: { description: 'Stopping (or stopped).', schema: WorkflowExecution } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: await services.workflows.executionResource(await services.workflows.stop(params.uuid)),
    }),
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/workflow_executions/:uuid/retry',
    operationId: 'retryWorkflowExecution',
    summary: 'Retry a failed, stopped or timed-out Workflow Execution from where it failed: succeeded instances are kept, the others run again.',
    tag: 'workflow_executions',
    scope: 'developer',
    params: ExecutionParams,
    errors: ['WORKFLOW_EXECUTION_NOT_FOUND', 'WORKFLOW_EXECUTION_NOT_RETRYABLE'],
    responses: { 200: { description: 'Running again (a new attempt).', schema: WorkflowExecution } },
    handler: async ({ params, services }) => ({
      status: 200,
      body: await services.workflows.executionResource(await services.workflows.retry(params.uuid)),
    }),
  }),
];
