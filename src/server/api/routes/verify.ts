import { z } from 'zod';
import { defineRoute } from '../route.js';

const Ref = z.object({ uuid: z.string(), name: z.string() });

/** One line of `berth verify`. */
export const VerifyCheck = z.object({
  name: z.string().describe('What was checked: credentials, cluster, fargate capacity, subnets, security groups, execution role, task role, log group, secret VAR, image CONTAINER, fargate size.'),
  status: z.enum(['pass', 'fail', 'warn', 'skip']),
  message: z.string().describe('What was seen; a failure names the thing.'),
  fix: z.string().optional().describe('What to change (in berth.yaml terms), for failures and warnings.'),
});

export const VerifyAnswer = z.object({
  ok: z.boolean().describe('True when no check failed (warnings and skips are fine).'),
  run_environment: Ref,
  task: Ref.optional(),
  checks: z.array(VerifyCheck),
});

export const verifyRoutes = [
  defineRoute({
    method: 'POST',
    url: '/api/v1/run_environments/:run_environment/verify',
    operationId: 'verifyRunEnvironment',
    summary: 'Preflight an aws-ecs Run Environment (and optionally one of its Tasks) with the credentials and endpoint launches use.',
    description:
      'Runs every check and reports each (credentials, cluster, Fargate capacity, subnets, security groups, roles, log group; with a Task also its secrets, images and size). Answers 200 also when checks fail: see `ok` and each check\'s `status`. docs/verify.md describes the checks.',
    tag: 'run_environments',
    scope: 'developer',
    params: z.strictObject({ run_environment: z.string().min(1).describe('uuid or name') }),
    body: z
      .strictObject({ task: z.string().min(1).optional().describe('A Task of this Run Environment (name or uuid) to check as well.') })
      .default({}),
    errors: ['RUN_ENVIRONMENT_NOT_FOUND', 'TASK_NOT_FOUND', 'UNSUPPORTED_FOR_KIND', 'EXECUTOR_DISABLED'],
    responses: { 200: { description: 'The checks, in a fixed order.', schema: VerifyAnswer } },
    handler: async ({ params, body, services }) => ({
      status: 200,
      body: await services.catalog.verify(params.run_environment, body.task),
    }),
  }),
];
