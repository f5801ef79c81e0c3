import { z } from 'zod';
import { NotificationProfileRefs } from './notification-profile.js';
import { AwsTags, ClusterRef, Region, RoleArn, SecurityGroupId, SubnetId } from './aws.js';
import { Environment, Name, Timestamp, Uuid } from './common.js';
import { SecretRefText, isAwsSecretRef } from './secret-ref.js';

export const RUN_ENVIRONMENT_KINDS = ['local', 'aws-ecs'] as const;
export const RunEnvironmentKind = z.enum(RUN_ENVIRONMENT_KINDS);
export type RunEnvironmentKind = z.infer<typeof RunEnvironmentKind>;

export const Secrets = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a valid environment variable name' }), SecretRefText)
  .describe('Secrets passed to the process as environment variables: name → reference (ENV:…, FILE:…, or an AWS ARN).');
export type Secrets = z.infer<typeof Secrets>;

/**
 * A `local` Run Environment: Tasks run as child processes of the Berth host.
 * `working_directory` is the default for its Tasks; `environment` and `secrets` are merged under
 * each Task's own (the Task wins).
 */
export const LocalRunEnvironmentSpec = z.strictObject({
  name: Name,
  kind: z.literal('local').describe('local: Tasks run as child processes of the berth server host.'),
  description: z.string().max(2000).optional().describe('Free text for people.'),
  working_directory: z
    .string()
    .regex(/^\//, { message: 'must be an absolute path on the Berth host' })
    .optional()
    .describe('Default working directory for Tasks (absolute path). (Default: the directory berth server was started in)'),
  environment: Environment.default({}),
  notification_profiles: NotificationProfileRefs,
  secrets: Secrets.default({}).superRefine((secrets, ctx) => {
    for (const [name, ref] of Object.entries(secrets)) {
      if (isAwsSecretRef(ref)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'a local Run Environment cannot read AWS secrets; use ENV:NAME or FILE:/path',
        });
      }
    }
  }),
});

const AwsSecrets = Secrets.superRefine((secrets, ctx) => {
  for (const [name, ref] of Object.entries(secrets)) {
    if (!isAwsSecretRef(ref)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message:
          'an aws-ecs Run Environment takes Secrets Manager or SSM parameter ARNs (ECS reads them at launch); ENV: and FILE: are for local ones',
      });
    }
  }
});

/**
 * An `aws-ecs` Run Environment: Tasks run as ECS tasks on Fargate in the user's account. Every
 * field is checked for shape here, before any AWS call.
 */
const AwsEcsRunEnvironmentFields = z
  .strictObject({
    name: Name,
    kind: z.literal('aws-ecs').describe('aws-ecs: Tasks run as ECS Fargate tasks in your AWS account.'),
    description: z.string().max(2000).optional().describe('Free text for people.'),
    region: Region.describe('AWS region of the cluster, e.g. us-east-1.'),
    cluster: ClusterRef.describe('ECS cluster name or ARN.'),
    subnets: z.array(SubnetId).min(1, { message: 'give at least one subnet' }).max(16).describe('Subnets for the tasks\' network interfaces.'),
    security_groups: z
      .array(SecurityGroupId)
      .min(1, { message: 'give at least one security group' })
      .max(5, { message: 'ECS allows at most 5 security groups per task' })
      .describe('Security groups of the tasks.'),
    assign_public_ip: z
      .boolean()
      .default(false)
      .describe('Give tasks a public IP (needed in public subnets without a NAT to pull images). (Default: false)'),
    execution_role_arn: RoleArn.describe(
      'Role ECS uses to pull the image, write logs and read secrets (the task execution role).',
    ),
    task_role_arn: RoleArn.optional().describe('Role the task\'s own code runs as. (Default: none)'),
    launch_type: z
      .enum(['FARGATE', 'FARGATE_SPOT'])
      .optional()
      .describe('FARGATE, or FARGATE_SPOT (run through the FARGATE_SPOT capacity provider). (Default: FARGATE)'),
    capacity_provider_strategy: z
      .array(
        z.strictObject({
          capacity_provider: z.string().min(1),
          weight: z.number().int().min(0).max(1000).default(1),
          base: z.number().int().min(0).max(100000).default(0),
        }),
      )
      .min(1)
      .max(20)
      .optional()
      .describe('Capacity providers instead of a launch type, e.g. FARGATE with FARGATE_SPOT.'),
    platform_version: z.string().regex(/^(LATEST|\d+\.\d+\.\d+)$/, { message: 'must be LATEST or a version such as 1.4.0' }).optional(),
    tags: AwsTags.default({}),
    notification_profiles: NotificationProfileRefs,
    environment: Environment.default({}),
    secrets: AwsSecrets.default({}),
    log_group: z
      .string()
      .regex(/^[.\-_/#A-Za-z0-9]{1,512}$/, { message: 'must be a CloudWatch log group name: letters, digits and . - _ / #' })
      .optional()
      .describe('CloudWatch log group for the tasks\' output, created if missing. (Default: /berth/<run environment name>)'),
    log_stream_prefix: z
      .string()
      .regex(/^[^:*]{1,100}$/, { message: 'must be 1–100 characters without ":" or "*"' })
      .default('berth')
      .describe('awslogs stream prefix: streams are <prefix>/<container>/<task id>. (Default: berth)'),
    task_definition_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be letters, digits, "-" or "_"' })
      .default('berth-')
      .describe('Task definition families are <prefix><task name>. (Default: berth-)'),
    role_arn: RoleArn.optional().describe('Control role Berth assumes for every AWS call. (Default: the default credential chain)'),
    external_id: z
      .string()
      .regex(/^[\w+=,.@:/-]{2,1224}$/, { message: 'must be 2–1224 characters: letters, digits and + = , . @ : / -' })
      .optional()
      .describe('External ID required by the control role\'s trust policy.'),
    endpoint_url: z
      .url({ message: 'must be a URL such as http://127.0.0.1:5000' })
      .optional()
      .describe('Send AWS calls here instead of AWS (a test double such as moto).'),
    launch_rate: z
      .strictObject({
        burst: z.number().int().min(1).max(1000).default(100),
        per_second: z.number().positive().max(1000).default(20),
      })
      .default({ burst: 100, per_second: 20 })
      .describe('Client-side RunTask rate limit (Fargate allows 100 burst, 20 per second per account and region).'),
    api_url: z
      .url()
      .optional()
      .describe('Berth\'s API URL as the containers reach it; passed as PROC_WRAPPER_API_BASE_URL for a wrapper inside.'),
    api_key_secret: z
      .string()
      .refine((v) => isAwsSecretRef(v), { message: 'must be a Secrets Manager or SSM parameter ARN holding a Berth reporter key' })
      .optional()
      .describe('Secret holding a Berth API key for the wrapper; passed as the PROC_WRAPPER_API_KEY secret.'),
    schedules: z
      .enum(['berth', 'eventbridge'])
      .optional()
      .describe(
        'Who fires the schedules of this Run Environment\'s Tasks: berth (Berth\'s scheduler), or eventbridge (an EventBridge rule per Task runs the ECS task directly, even while Berth is down; the wrapper reports the run). (Default: berth)',
      ),
    eventbridge_role_arn: RoleArn.optional().describe(
      'Role EventBridge assumes to call ecs:RunTask and pass the task roles (with schedules: eventbridge).',
    ),
    service_stack_role_arn: RoleArn.optional().describe(
      'Role CloudFormation assumes to create the load balancer stacks of Services (control-role.yaml outputs ServiceStackRoleArn); without it the stacks are created with Berth\'s own permissions. (Default: none)',
    ),
    schedule_rule_prefix: z
      .string()
      .regex(/^[.\-_A-Za-z0-9]{1,32}$/, { message: 'must be 1–32 characters: letters, digits, ".", "-" or "_"' })
      .optional()
      .describe('EventBridge rule names are <prefix><task name> (with schedules: eventbridge). (Default: berth-)'),
  });

/** Whether EventBridge rules, not Berth's scheduler, fire this Run Environment's Task schedules. */
export function schedulesInEventBridge(spec: unknown): boolean {
  const s = spec as { kind?: unknown; schedules?: unknown } | null;
  return s?.kind === 'aws-ecs' && s.schedules === 'eventbridge';
}

export const AwsEcsRunEnvironmentSpec = AwsEcsRunEnvironmentFields.superRefine((env, ctx) => {
    if (env.launch_type && env.capacity_provider_strategy) {
      ctx.addIssue({
        code: 'custom',
        path: ['capacity_provider_strategy'],
        message: 'give launch_type or capacity_provider_strategy, not both',
      });
    }
    if (env.external_id && !env.role_arn) {
      ctx.addIssue({ code: 'custom', path: ['external_id'], message: 'external_id only makes sense with role_arn' });
    }
    if (env.schedules === 'eventbridge') {
      if (!env.eventbridge_role_arn) {
        ctx.addIssue({
          code: 'custom',
          path: ['eventbridge_role_arn'],
          message: 'schedules: eventbridge needs eventbridge_role_arn, the role EventBridge assumes to run the tasks (cluster.yaml outputs one)',
        });
      }
      if (!env.api_url || !env.api_key_secret) {
        ctx.addIssue({
          code: 'custom',
          path: [env.api_url ? 'api_key_secret' : 'api_url'],
          message: 'schedules: eventbridge needs api_url and api_key_secret, so the wrapper in the container can report the runs EventBridge starts',
        });
      }
    } else {
      for (const field of ['eventbridge_role_arn', 'schedule_rule_prefix'] as const) {
        if (env[field] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: `${field} only applies with schedules: eventbridge` });
        }
      }
    }
  });
export type AwsEcsRunEnvironmentSpec = z.infer<typeof AwsEcsRunEnvironmentSpec>;

export const RunEnvironmentSpec = z.discriminatedUnion('kind', [LocalRunEnvironmentSpec, AwsEcsRunEnvironmentSpec], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `kind must be one of: ${RUN_ENVIRONMENT_KINDS.join(', ')}` : undefined,
});
/** A Run Environment as written in `berth.yaml` or sent to the API. */
export type RunEnvironmentSpec = z.infer<typeof RunEnvironmentSpec>;

const Stored = { uuid: Uuid, description: z.string().nullable(), created_at: Timestamp, updated_at: Timestamp };

/**
 * A Run Environment as the API returns it: its fields as written (secrets are references, never
 * values) plus uuid and times.
 */
export const RunEnvironment = z.discriminatedUnion('kind', [
  LocalRunEnvironmentSpec.extend(Stored),
  AwsEcsRunEnvironmentFields.extend(Stored),
]);
export type RunEnvironment = z.infer<typeof RunEnvironment>;
