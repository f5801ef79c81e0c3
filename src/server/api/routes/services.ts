import { z } from 'zod';
import { minimumHealthyCount } from '../../../domain/service.js';
import type { ServiceView } from '../../service-manager.js';
import { defineRoute } from '../route.js';

const TAG = 'services';
const Params = z.strictObject({ task: z.string().min(1).describe('The Service\'s Task: uuid or name') });

const Step = z.object({
  resource: z.string().describe('load balancer stack, task definition, ECS service or autoscaling'),
  name: z.string(),
  action: z.enum(['create', 'update', 'unchanged', 'delete']),
  detail: z.string(),
});

const Deployment = z.object({
  id: z.string(),
  status: z.string().describe('PRIMARY (the newest), ACTIVE (being replaced)'),
  task_definition: z.string(),
  desired_count: z.number().int(),
  running_count: z.number().int(),
  pending_count: z.number().int(),
  failed_tasks: z.number().int(),
  rollout_state: z.string().nullable().describe('IN_PROGRESS, COMPLETED or FAILED'),
  rollout_state_reason: z.string().nullable(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
});

/** A Service as the API returns it. */
export const ServiceResource = z.object({
  task: z.object({ uuid: z.string(), name: z.string() }),
  run_environment: z.object({ uuid: z.string(), name: z.string() }),
  name: z.string().nullable().describe('The ECS service name (null until observed).'),
  status: z.string().nullable().describe('ACTIVE, DRAINING, MISSING (ECS does not know it: not deployed yet, or deleted); null until observed.'),
  health: z
    .enum(['healthy', 'deploying', 'below_minimum', 'failed', 'not_deployed', 'unknown'])
    .describe('healthy: the deployed revision runs at its desired count; deploying: a rollout is in progress; below_minimum: fewer running than minimum_healthy_count; failed: the last rollout failed; not_deployed; unknown: not observed yet.'),
  desired_count: z.number().int().nullable(),
  running_count: z.number().int().nullable(),
  pending_count: z.number().int().nullable(),
  minimum_healthy_count: z.number().int(),
  task_definition: z.string().nullable().describe('The revision the service runs (its primary deployment).'),
  deployed_task_definition: z.string().nullable().describe('The revision Berth last deployed (or rolled back to).'),
  previous_task_definition: z.string().nullable(),
  deployed_at: z.string().nullable(),
  rollout: z
    .object({ state: z.enum(['in_progress', 'stable', 'failed']), message: z.string() })
    .nullable()
    .describe('How the rollout of deployed_task_definition stands.'),
  below_minimum_since: z.string().nullable(),
  deployments: z.array(Deployment),
  events: z.array(z.object({ created_at: z.string().nullable(), message: z.string() })).describe('Recent ECS service events, newest first.'),
  load_balancer: z
    .object({
      stack_name: z.string(),
      stack_status: z.string().nullable(),
      dns_name: z.string().nullable(),
      target_group_arn: z.string().nullable(),
      listener_arn: z.string().nullable(),
      service_security_group_id: z.string().nullable(),
      load_balancer_security_group_id: z.string().nullable(),
    })
    .nullable(),
  observed_at: z.string().nullable(),
});
export type ServiceResource = z.infer<typeof ServiceResource>;

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function serviceResource(v: ServiceView): ServiceResource {
  const s = v.status;
  const settings = v.task.spec.service!;
  const minimum = minimumHealthyCount(settings);
  const health: ServiceResource['health'] = !s
    ? 'unknown'
    : s.status === 'MISSING'
      ? 'not_deployed'
      : v.rollout?.state === 'failed'
        ? 'failed'
        : s.running_count < minimum
          ? 'below_minimum'
          : v.rollout?.state === 'in_progress'
            ? 'deploying'
            : 'healthy';
  return {
    task: { uuid: v.task.uuid, name: v.task.name },
    run_environment: { uuid: v.env.uuid, name: v.env.name },
    name: s?.name ?? null,
    status: s?.status ?? null,
    health,
    desired_count: s ? s.desired_count : null,
    running_count: s ? s.running_count : null,
    pending_count: s ? s.pending_count : null,
    minimum_healthy_count: minimum,
    task_definition: s?.task_definition ?? null,
    deployed_task_definition: v.state?.deployed_task_definition ?? null,
    previous_task_definition: v.state?.previous_task_definition ?? null,
    deployed_at: iso(v.state?.deployed_at),
    rollout: v.rollout,
    below_minimum_since: iso(v.state?.below_minimum_since),
    deployments: s?.deployments ?? [],
    events: s?.events ?? [],
    load_balancer: s?.load_balancer ?? null,
    observed_at: iso(v.state?.observed_at),
  };
}

const DeployResult = z.object({
  dry_run: z.boolean(),
  steps: z.array(Step),
  task_definition_arn: z.string().nullable().describe('The revision being rolled out (null for a dry run).'),
  previous_task_definition_arn: z.string().nullable(),
});

const SERVICE_ERRORS = ['TASK_NOT_FOUND', 'NOT_A_SERVICE', 'EXECUTOR_DISABLED', 'UNSUPPORTED_FOR_KIND', 'AWS_CALL_FAILED'] as const;

export const serviceRoutes = [
  defineRoute({
    method: 'GET',
    url: '/api/v1/services',
    operationId: 'listServices',
    summary: 'Every Service (Task with service: settings) with its health, counts and revision as last observed.',
    description: 'Answers from what the monitor last observed (every monitor cycle); no AWS call. GET /api/v1/services/{task} asks ECS now.',
    tag: TAG,
    scope: 'reporter',
    responses: { 200: { description: 'The Services.', schema: z.object({ count: z.number().int(), results: z.array(ServiceResource) }) } },
    handler: async ({ services }) => {
      const results = (await services.services.list()).map(serviceResource);
      return { status: 200, body: { count: results.length, results } };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/services/:task',
    operationId: 'getService',
    summary: 'One Service, as ECS reports it now: deployments with their rollout state, counts, recent events, the load balancer.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    errors: SERVICE_ERRORS,
    responses: { 200: { description: 'The Service.', schema: ServiceResource } },
    handler: async ({ params, services }) => ({ status: 200, body: serviceResource(await services.services.show(params.task)) }),
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/services/:task/deploy',
    operationId: 'deployService',
    summary: 'Deploy a Service: its load balancer stack, task definition revision, ECS service and autoscaling.',
    description:
      'Answers once ECS accepted the change (the load balancer stack, if any, is complete by then); follow the rollout with GET /api/v1/services/{task}. With dry_run, says what would change and changes nothing.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    body: z.strictObject({ dry_run: z.boolean().default(false) }).default({ dry_run: false }),
    errors: [...SERVICE_ERRORS, 'VALIDATION_FAILED'],
    responses: { 200: { description: 'What was (or would be) done.', schema: DeployResult } },
    handler: async ({ params, body, services }) => ({ status: 200, body: await services.services.deploy(params.task, body.dry_run) }),
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/services/:task/rollback',
    operationId: 'rollbackService',
    summary: 'Deploy the revision before the one the Service runs now.',
    tag: TAG,
    scope: 'developer',
    params: Params,
    errors: [...SERVICE_ERRORS, 'SERVICE_NOT_DEPLOYED', 'NO_PREVIOUS_REVISION'],
    responses: { 200: { description: 'The rollback, started.', schema: DeployResult } },
    handler: async ({ params, services }) => ({ status: 200, body: await services.services.rollback(params.task) }),
  }),
  defineRoute({
    method: 'POST',
    url: '/api/v1/services/:task/scale',
    operationId: 'scaleService',
    summary: 'Set the desired count of a Service (until its next deploy, which sets service.desired_count again).',
    tag: TAG,
    scope: 'developer',
    params: Params,
    body: z.strictObject({
      desired_count: z
        .number({ message: 'desired_count must be a whole number' })
        .int({ message: 'desired_count must be a whole number' })
        .min(0, { message: 'desired_count must be 0 or more' })
        .max(10000, { message: 'desired_count must be at most 10000' }),
    }),
    errors: [...SERVICE_ERRORS, 'SERVICE_NOT_DEPLOYED', 'VALIDATION_FAILED'],
    responses: { 200: { description: 'The new count, accepted.', schema: DeployResult } },
    handler: async ({ params, body, services }) => ({ status: 200, body: await services.services.scale(params.task, body.desired_count) }),
  }),
  defineRoute({
    method: 'GET',
    url: '/api/v1/services/:task/template',
    operationId: 'getServiceTemplate',
    summary: 'The load balancer CloudFormation template of a Service, with its parameters, to review or deploy yourself.',
    tag: TAG,
    scope: 'reporter',
    params: Params,
    errors: [...SERVICE_ERRORS, 'VALIDATION_FAILED'],
    responses: {
      200: {
        description: 'The template text and the stack parameters Berth would deploy it with.',
        schema: z.object({ stack_name: z.string(), template: z.string(), parameters: z.record(z.string(), z.string()) }),
      },
    },
    handler: async ({ params, services }) => ({ status: 200, body: await services.services.template(params.task) }),
  }),
];
