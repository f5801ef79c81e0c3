/**
 * The least-privilege permissions of Berth's control role, as data and as a policy document.
 *
 * `CONTROL_ROLE_ALLOWED_ACTIONS` is the one list of what the control role may do: every IAM action
 * with the resources (ARN patterns) and conditions it is allowed on, and why. Two things are
 * built from or checked against it:
 * - `controlRolePolicy(input)` renders it for one concrete aws-ecs Run Environment (used by
 *   `berth aws iam-policy --run-env NAME`);
 * - `infra/cloudformation/control-role.yaml` writes the same grants for a whole prefix of log
 *   groups; its test parses the template and runs `checkControlRolePolicy` on every statement.
 *
 * Resource scoping follows AWS's Service Authorization Reference: where an action supports no
 * resource type (ecs:DescribeTaskDefinition, ecs:ListTaskDefinitions,
 * ecs:DeregisterTaskDefinition) the only working resource is "*"; where its only resource type does
 * not exist for Fargate (ecs:ListTasks: container-instance) it is "*" limited by `ecs:cluster`.
 *
 * Pure: no I/O, no SDK.
 *
 * @example
 * ```ts
 * const policy = controlRolePolicy({
 *   accountId: '123456789012',
 *   region: 'eu-west-1',
 *   cluster: 'berth',
 *   executionRoleArn: 'arn:aws:iam::123456789012:role/berth-task-execution',
 *   taskRoleArn: 'arn:aws:iam::123456789012:role/berth-task',
 *   logGroup: '/berth/prod',
 *   features: { services: false, eventBridgeSchedules: false },
 * });
 * console.log(JSON.stringify(policy, null, 2)); // paste into IAM as the role's inline policy
 * ```
 */
import { CLUSTER_ARN_PATTERN, CLUSTER_NAME_PATTERN, REGION_PATTERN, ROLE_ARN_PATTERN, clusterName } from './aws.js';
import { BerthError } from './errors.js';
import type { AwsEcsRunEnvironmentSpec } from './run-environment.js';

/** Names that may appear as `${Name}` in the allow-list's resource patterns and condition values. */
export const CONTROL_ROLE_PLACEHOLDERS = [
  'Partition',
  'Region',
  'Account',
  'ClusterName',
  'TaskDefinitionPrefix',
  'LogGroup',
  'ExecutionRoleArn',
  'TaskRoleArn',
  'ScheduleRulePrefix',
  'SecretNamePrefix',
  'EventBridgeRoleArn',
  'ServiceStackRoleArn',
] as const;
export type ControlRolePlaceholder = (typeof CONTROL_ROLE_PLACEHOLDERS)[number];

/**
 * Values for the placeholders. An unbound placeholder drops the resource that uses it (that is
 * how an absent task role disappears from iam:PassRole).
 */
export type ControlRoleBindings = Partial<Record<ControlRolePlaceholder, string>>;

/** Optional features; their grants exist only when the feature is on. */
export type ControlRoleFeature = 'services' | 'eventBridgeSchedules';
export type ControlRoleFeatures = Partial<Record<ControlRoleFeature, boolean>>;

/** A condition block: operator → condition key → value(s), as in IAM JSON. */
export type IamCondition = Record<string, Record<string, string | string[]>>;

/** One allowed grant: these actions, on these resources, with (at least) these conditions. */
export interface ControlRoleGrant {
  /** Statement id, also used by the CloudFormation template. */
  readonly sid: string;
  /** Present when the grant belongs to an optional feature. */
  readonly feature?: ControlRoleFeature;
  readonly actions: readonly string[];
  /** ARN patterns with `${Placeholder}`s; "*" only where AWS offers no resource scoping. */
  readonly resources: readonly string[];
  /** Conditions every statement granting these actions must carry (values may use placeholders). */
  readonly condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
  /** Why Berth needs it, and why it is scoped this way. */
  readonly why: string;
}

const ARN = 'arn:${Partition}';
const CLUSTER_ARN = `${ARN}:ecs:\${Region}:\${Account}:cluster/\${ClusterName}`;
const TASK_DEFINITIONS = `${ARN}:ecs:\${Region}:\${Account}:task-definition/\${TaskDefinitionPrefix}*`;
const CLUSTER_TASKS = `${ARN}:ecs:\${Region}:\${Account}:task/\${ClusterName}/*`;
const CLUSTER_SERVICES = `${ARN}:ecs:\${Region}:\${Account}:service/\${ClusterName}/\${TaskDefinitionPrefix}*`;
const SERVICE_STACKS = `${ARN}:cloudformation:\${Region}:\${Account}:stack/\${TaskDefinitionPrefix}*`;
const LOG_GROUP = `${ARN}:logs:\${Region}:\${Account}:log-group:\${LogGroup}`;
const SECRETS = `${ARN}:secretsmanager:\${Region}:\${Account}:secret:\${SecretNamePrefix}*`;
const IN_CLUSTER = { ArnEquals: { 'ecs:cluster': CLUSTER_ARN } } as const;

/**
 * Everything the control role may do. Adding to this list widens what Berth can do in users'
 * accounts: review it like a permission change (the template test fails until the template
 * agrees).
 */
export const CONTROL_ROLE_ALLOWED_ACTIONS: readonly ControlRoleGrant[] = [
  {
    sid: 'RegisterBerthTaskDefinitions',
    actions: ['ecs:RegisterTaskDefinition'],
    resources: [TASK_DEFINITIONS],
    why: 'Register a Task\'s definition when its content changes; only in families with Berth\'s prefix.',
  },
  {
    sid: 'TaskDefinitionCallsWithoutResourceScope',
    actions: ['ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions', 'ecs:DeregisterTaskDefinition'],
    resources: ['*'],
    why: 'Find the current revision, list and prune revisions. AWS supports no resource scoping for these three, so only "*" works.',
  },
  {
    sid: 'RunBerthTasksInTheCluster',
    actions: ['ecs:RunTask'],
    resources: [TASK_DEFINITIONS],
    condition: IN_CLUSTER,
    why: 'Launch. RunTask is authorised on the task definition; ecs:cluster limits where it runs.',
  },
  {
    sid: 'ObserveAndStopTasksInTheCluster',
    actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
    resources: [CLUSTER_TASKS],
    condition: IN_CLUSTER,
    why: 'Observe and stop tasks; task ARNs name their cluster.',
  },
  {
    sid: 'ListTasksInTheCluster',
    actions: ['ecs:ListTasks'],
    resources: ['*'],
    condition: IN_CLUSTER,
    why: 'Find a task by its launch token after a restart. Its only resource type (container-instance) does not exist on Fargate, so "*" limited by ecs:cluster.',
  },
  {
    sid: 'TagWhatBerthCreates',
    actions: ['ecs:TagResource'],
    resources: [CLUSTER_TASKS, TASK_DEFINITIONS],
    condition: { StringEquals: { 'ecs:CreateAction': ['RunTask', 'RegisterTaskDefinition'] } },
    why: 'Tags sent with RunTask and RegisterTaskDefinition; only while creating, never retagging later.',
  },
  {
    sid: 'PassTaskRolesToEcsTasks',
    actions: ['iam:PassRole'],
    resources: ['${ExecutionRoleArn}', '${TaskRoleArn}'],
    condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    why: 'Task definitions name the execution and task roles; they may be handed to ECS tasks and nothing else.',
  },
  {
    sid: 'CreateBerthLogGroups',
    actions: ['logs:CreateLogGroup', 'logs:TagResource'],
    resources: [LOG_GROUP, `${LOG_GROUP}:*`],
    why: 'Create the Run Environment\'s log group once (with its tags).',
  },
  {
    sid: 'ReadBerthLogs',
    actions: ['logs:GetLogEvents'],
    resources: [`${LOG_GROUP}:log-stream:*`],
    why: '`berth logs` and the logs API read the task\'s stream.',
  },
  {
    sid: 'VerifyTheCluster',
    actions: ['ecs:DescribeClusters'],
    resources: [CLUSTER_ARN],
    why: '`berth verify`: the cluster exists, is ACTIVE and has Fargate capacity providers.',
  },
  {
    sid: 'VerifyTheNetwork',
    actions: ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'],
    resources: ['*'],
    why: '`berth verify`: the subnets exist in one VPC and the security groups are in it. EC2 Describe calls support no resource scoping, so only "*" works.',
  },
  {
    sid: 'VerifyTheTaskRoles',
    actions: ['iam:GetRole'],
    resources: ['${ExecutionRoleArn}', '${TaskRoleArn}'],
    why: '`berth verify`: the execution and task roles exist and trust ecs-tasks.amazonaws.com; only those two roles.',
  },
  {
    sid: 'VerifyTheLogGroup',
    actions: ['logs:DescribeLogGroups'],
    resources: [`${ARN}:logs:\${Region}:\${Account}:log-group:*`],
    why: '`berth verify`: the log group exists or can be created. DescribeLogGroups is authorised on all groups of the region (names and settings, never log events).',
  },
  {
    sid: 'VerifyBerthSecrets',
    actions: ['secretsmanager:DescribeSecret'],
    resources: [SECRETS],
    why: '`berth verify`: a Task\'s Secrets Manager secrets exist. DescribeSecret returns metadata, never the value; only secrets under the prefix the execution role may read.',
  },
  {
    sid: 'VerifyParameters',
    actions: ['ssm:DescribeParameters'],
    resources: ['*'],
    why: '`berth verify`: a Task\'s SSM parameters exist. DescribeParameters returns names and metadata, never values, and supports no resource scoping.',
  },
  {
    sid: 'VerifyEcrImages',
    actions: ['ecr:DescribeImages'],
    resources: [`${ARN}:ecr:\${Region}:\${Account}:repository/*`],
    why: '`berth verify`: a Task\'s ECR image tag exists (repositories of the Run Environment\'s account and region).',
  },
  {
    sid: 'ManageServicesInTheCluster',
    feature: 'services',
    actions: ['ecs:CreateService', 'ecs:UpdateService', 'ecs:DescribeServices'],
    resources: [CLUSTER_SERVICES],
    condition: IN_CLUSTER,
    why: 'Tasks with service settings run as ECS services in the cluster, named like their task definition family (<prefix><task name>). Berth never deletes a service.',
  },
  {
    sid: 'TagServicesBerthCreates',
    feature: 'services',
    actions: ['ecs:TagResource'],
    resources: [CLUSTER_SERVICES],
    condition: { StringEquals: { 'ecs:CreateAction': 'CreateService' } },
    why: 'Tags sent with CreateService.',
  },
  {
    sid: 'ManageServiceLoadBalancerStacks',
    feature: 'services',
    actions: ['cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DescribeStacks'],
    resources: [SERVICE_STACKS],
    why: 'A load-balanced Service\'s security groups, target group, load balancer and listener are one CloudFormation stack per Service (<prefix><task name>-lb, service-load-balancer.yaml); only stacks with the prefix. The resources themselves are created by CloudFormation with the stack role below, not with this role.',
  },
  {
    sid: 'PassServiceStackRoleToCloudFormation',
    feature: 'services',
    actions: ['iam:PassRole'],
    resources: ['${ServiceStackRoleArn}'],
    condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    why: 'The load balancer stacks run as the stack role (control-role.yaml\'s ServiceStackRole); it may be handed to CloudFormation and nothing else.',
  },
  {
    sid: 'ScaleBerthServices',
    feature: 'services',
    actions: [
      'application-autoscaling:RegisterScalableTarget',
      'application-autoscaling:DeregisterScalableTarget',
      'application-autoscaling:DescribeScalableTargets',
      'application-autoscaling:PutScalingPolicy',
      'application-autoscaling:DescribeScalingPolicies',
      'application-autoscaling:DeleteScalingPolicy',
    ],
    resources: ['*'],
    why: 'Services with autoscaling: the desired count as a scalable target with target-tracking policies. Scalable targets have generated ids (no name to scope by) and the Describe calls support no resource scoping, so only "*" works; ECS itself still limits which services exist.',
  },
  {
    sid: 'CreateEcsAutoScalingRole',
    feature: 'services',
    actions: ['iam:CreateServiceLinkedRole'],
    resources: [`${ARN}:iam::\${Account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`],
    condition: { StringEquals: { 'iam:AWSServiceName': 'ecs.application-autoscaling.amazonaws.com' } },
    why: 'The first RegisterScalableTarget of an account creates Application Auto Scaling\'s service-linked role for ECS; only that role.',
  },
  {
    sid: 'ManageBerthScheduleRules',
    feature: 'eventBridgeSchedules',
    actions: ['events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:PutTargets', 'events:RemoveTargets', 'events:ListTargetsByRule'],
    resources: [`${ARN}:events:\${Region}:\${Account}:rule/\${ScheduleRulePrefix}*`],
    why: 'Schedules kept as EventBridge rules, only rules with Berth\'s prefix on the default bus.',
  },
  {
    sid: 'PassEventBridgeRoleToEvents',
    feature: 'eventBridgeSchedules',
    actions: ['iam:PassRole'],
    resources: ['${EventBridgeRoleArn}'],
    condition: { StringEquals: { 'iam:PassedToService': 'events.amazonaws.com' } },
    why: 'A schedule rule\'s ECS target names the role EventBridge runs the task with; only that role, and only to EventBridge.',
  },
];

/** An IAM policy statement (the subset of the grammar Berth writes and checks). */
export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: IamCondition;
}

/** An IAM identity-based policy document. */
export interface IamPolicyDocument {
  Version: '2012-10-17';
  Statement: IamStatement[];
}

/** What `controlRolePolicy` needs: one concrete aws-ecs Run Environment, as configured. */
export interface ControlRolePolicyInput {
  /** The 12-digit account that holds the cluster, task definitions and log group. */
  accountId: string;
  /** The Run Environment's region, e.g. eu-west-1. */
  region: string;
  /** Cluster name or ARN (an ARN must be in `accountId` and `region`). */
  cluster: string;
  /** Task definition family prefix. (Default: berth-) */
  taskDefinitionPrefix?: string;
  /** Task execution role; its partition (aws, aws-cn, aws-us-gov) is the policy's. */
  executionRoleArn: string;
  /** Task role, if Tasks run with one. */
  taskRoleArn?: string;
  /** The log group name (a Run Environment's log_group; default /berth/<run environment name>). */
  logGroup: string;
  /** Optional features. (Default: all off) */
  features?: ControlRoleFeatures;
  /** Prefix of EventBridge rule names, with `eventBridgeSchedules`. (Default: berth-) */
  scheduleRulePrefix?: string;
  /** The role EventBridge assumes to run scheduled tasks, with `eventBridgeSchedules`. */
  eventBridgeRoleArn?: string;
  /** Prefix of the Secrets Manager secret names Tasks use (cluster.yaml's SecretNamePrefix). (Default: berth/) */
  secretNamePrefix?: string;
  /** The role CloudFormation assumes for Services' load balancer stacks, with `services`. */
  serviceStackRoleArn?: string;
}

const ACCOUNT_PATTERN = /^\d{12}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const RULE_PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const SECRET_PREFIX_PATTERN = /^[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,255}$/;
const LOG_GROUP_PATTERN = /^[.\-_/#A-Za-z0-9]{1,512}$/;

function invalid(issues: string[]): never {
  throw new BerthError('VALIDATION_FAILED', `Cannot build the control role policy: ${issues.join('; ')}`, { issues });
}

/**
 * The placeholder values for one input, after checking it. Every value is checked against a
 * pattern without "*" or "?", so no input can widen a resource to a wildcard.
 */
export function controlRoleBindings(input: ControlRolePolicyInput): ControlRoleBindings {
  const issues: string[] = [];
  const prefix = input.taskDefinitionPrefix ?? 'berth-';
  const rulePrefix = input.scheduleRulePrefix ?? 'berth-';
  const secretPrefix = input.secretNamePrefix ?? 'berth/';
  if (!ACCOUNT_PATTERN.test(input.accountId)) issues.push(`accountId "${input.accountId}" must be 12 digits`);
  if (!REGION_PATTERN.test(input.region)) issues.push(`region "${input.region}" is not an AWS region code`);
  if (!CLUSTER_NAME_PATTERN.test(input.cluster) && !CLUSTER_ARN_PATTERN.test(input.cluster)) {
    issues.push(`cluster "${input.cluster}" is not a cluster name or ARN`);
  } else if (CLUSTER_ARN_PATTERN.test(input.cluster)) {
    const [, , , region, account] = input.cluster.split(':');
    if (region !== input.region) issues.push(`cluster ARN is in region ${region}, not ${input.region}`);
    if (account !== input.accountId) issues.push(`cluster ARN is in account ${account}, not ${input.accountId}`);
  }
  if (!PREFIX_PATTERN.test(prefix)) issues.push(`taskDefinitionPrefix "${prefix}" must be 1-64 letters, digits, "-" or "_"`);
  if (!RULE_PREFIX_PATTERN.test(rulePrefix)) issues.push(`scheduleRulePrefix "${rulePrefix}" must be 1-64 letters, digits, ".", "-" or "_"`);
  if (!SECRET_PREFIX_PATTERN.test(secretPrefix)) {
    issues.push(`secretNamePrefix "${secretPrefix}" must be a name prefix without a leading slash, e.g. berth/ or myteam/berth-`);
  }
  if (!LOG_GROUP_PATTERN.test(input.logGroup)) issues.push(`logGroup "${input.logGroup}" is not a log group name`);
  for (const [field, arn] of [
    ['executionRoleArn', input.executionRoleArn],
    ['taskRoleArn', input.taskRoleArn],
    ['eventBridgeRoleArn', input.eventBridgeRoleArn],
    ['serviceStackRoleArn', input.serviceStackRoleArn],
  ] as const) {
    if (arn !== undefined && !ROLE_ARN_PATTERN.test(arn)) issues.push(`${field} "${arn}" is not an IAM role ARN`);
  }
  if (issues.length > 0) invalid(issues);
  return {
    Partition: input.executionRoleArn.split(':')[1]!,
    Region: input.region,
    Account: input.accountId,
    ClusterName: clusterName(input.cluster),
    TaskDefinitionPrefix: prefix,
    LogGroup: input.logGroup,
    ExecutionRoleArn: input.executionRoleArn,
    ...(input.taskRoleArn ? { TaskRoleArn: input.taskRoleArn } : {}),
    ScheduleRulePrefix: rulePrefix,
    SecretNamePrefix: secretPrefix,
    ...(input.eventBridgeRoleArn ? { EventBridgeRoleArn: input.eventBridgeRoleArn } : {}),
    ...(input.serviceStackRoleArn ? { ServiceStackRoleArn: input.serviceStackRoleArn } : {}),
  };
}

/** `pattern` with its placeholders replaced, or null when one of them has no value. */
export function renderPattern(pattern: string, bindings: ControlRoleBindings): string | null {
  let missing = false;
  const out = pattern.replace(/\$\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = bindings[name as ControlRolePlaceholder];
    if (value === undefined) missing = true;
    return value ?? '';
  });
  return missing ? null : out;
}

function featureOn(grant: ControlRoleGrant, features: ControlRoleFeatures): boolean {
  return grant.feature === undefined || features[grant.feature] === true;
}

function renderCondition(condition: ControlRoleGrant['condition'], bindings: ControlRoleBindings): IamCondition | undefined {
  if (!condition) return undefined;
  const out: IamCondition = {};
  for (const [operator, keys] of Object.entries(condition)) {
    out[operator] = {};
    for (const [key, value] of Object.entries(keys)) {
      const values = (typeof value === 'string' ? [value] : [...value]).map((v) => {
        const rendered = renderPattern(v, bindings);
        if (rendered === null) throw new Error(`condition ${operator} ${key} uses an unbound placeholder: ${v}`);
        return rendered;
      });
      out[operator][key] = values.length === 1 ? values[0]! : values;
    }
  }
  return out;
}

/**
 * The control role's permission policy for one aws-ecs Run Environment: exactly the grants of
 * `CONTROL_ROLE_ALLOWED_ACTIONS` whose features are on, with this environment's account, region,
 * cluster, prefixes, roles and log group. Throws `BerthError('VALIDATION_FAILED')` on bad input.
 */
export function controlRolePolicy(input: ControlRolePolicyInput): IamPolicyDocument {
  const bindings = controlRoleBindings(input);
  const features = input.features ?? {};
  const statements: IamStatement[] = [];
  for (const grant of CONTROL_ROLE_ALLOWED_ACTIONS) {
    if (!featureOn(grant, features)) continue;
    const resources = grant.resources.map((r) => renderPattern(r, bindings)).filter((r): r is string => r !== null);
    if (resources.length === 0) continue;
    const condition = renderCondition(grant.condition, bindings);
    statements.push({
      Sid: grant.sid,
      Effect: 'Allow',
      Action: [...grant.actions],
      Resource: resources,
      ...(condition ? { Condition: condition } : {}),
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The input for a Run Environment as stored: region, cluster, prefix, roles and log group come
 * from it. The account is `options.accountId`, else the cluster ARN's, else the execution role
 * ARN's (the role lives in the account that runs the tasks).
 */
export function controlRolePolicyInput(
  env: Pick<AwsEcsRunEnvironmentSpec, 'name' | 'region' | 'cluster' | 'task_definition_prefix' | 'execution_role_arn' | 'task_role_arn' | 'log_group'> &
    Partial<Pick<AwsEcsRunEnvironmentSpec, 'eventbridge_role_arn' | 'schedule_rule_prefix' | 'service_stack_role_arn'>>,
  options: { accountId?: string; features?: ControlRoleFeatures; scheduleRulePrefix?: string; secretNamePrefix?: string } = {},
): ControlRolePolicyInput {
  const accountId =
    options.accountId ??
    (CLUSTER_ARN_PATTERN.test(env.cluster) ? env.cluster.split(':')[4]! : env.execution_role_arn.split(':')[4]!);
  return {
    accountId,
    region: env.region,
    cluster: env.cluster,
    taskDefinitionPrefix: env.task_definition_prefix,
    executionRoleArn: env.execution_role_arn,
    ...(env.task_role_arn ? { taskRoleArn: env.task_role_arn } : {}),
    // The same default as the aws-ecs executor's log group.
    logGroup: env.log_group ?? `/berth/${env.name}`,
    ...(options.features ? { features: options.features } : {}),
    ...(options.scheduleRulePrefix || env.schedule_rule_prefix
      ? { scheduleRulePrefix: options.scheduleRulePrefix ?? env.schedule_rule_prefix }
      : {}),
    ...(env.eventbridge_role_arn ? { eventBridgeRoleArn: env.eventbridge_role_arn } : {}),
    ...(env.service_stack_role_arn ? { serviceStackRoleArn: env.service_stack_role_arn } : {}),
    ...(options.secretNamePrefix ? { secretNamePrefix: options.secretNamePrefix } : {}),
  };
}

/** What `checkControlRolePolicy` found. */
export interface ControlRolePolicyCheck {
  /** Grants beyond the allow-list: an action, resource or missing condition it does not allow. */
  excess: string[];
  /** Allowed (action, resource) pairs of enabled grants that no statement grants. */
  missing: string[];
}

const asList = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);

/** Whether the statement's conditions include every condition of the grant (same values). */
function carriesConditions(statement: IamStatement, grant: ControlRoleGrant, bindings: ControlRoleBindings): boolean {
  const wanted = renderCondition(grant.condition, bindings);
  if (!wanted) return true;
  for (const [operator, keys] of Object.entries(wanted)) {
    const have = statement.Condition?.[operator];
    if (!have) return false;
    for (const [key, value] of Object.entries(keys)) {
      const haveKey = Object.keys(have).find((k) => k.toLowerCase() === key.toLowerCase());
      if (haveKey === undefined) return false;
      const a = asList(have[haveKey]).sort();
      const b = asList(value).sort();
      if (a.length !== b.length || a.some((v, i) => v !== b[i])) return false;
    }
  }
  return true;
}

/**
 * Compares a policy document with the allow-list. `bindings` say what the placeholders mean in
 * this document (concrete values, or e.g. `${LogGroupPrefix}*` for the template); grants of
 * features that are not on count as not allowed. Deny statements grant nothing and are skipped.
 */
export function checkControlRolePolicy(
  policy: { Statement: unknown },
  options: { bindings: ControlRoleBindings; features?: ControlRoleFeatures },
): ControlRolePolicyCheck {
  const features = options.features ?? {};
  const excess: string[] = [];
  const granted = new Set<string>();
  const statements = Array.isArray(policy.Statement) ? (policy.Statement as IamStatement[]) : [policy.Statement as IamStatement];
  statements.forEach((statement, index) => {
    const name = statement.Sid ? `statement ${statement.Sid}` : `statement #${index + 1}`;
    const raw = statement as unknown as Record<string, unknown>;
    for (const key of ['NotAction', 'NotResource', 'NotPrincipal', 'Principal']) {
      if (key in raw) excess.push(`${name}: ${key} is not allowed in the control role's policy`);
    }
    if (statement.Effect === 'Deny') return;
    if (statement.Effect !== 'Allow') {
      excess.push(`${name}: Effect must be Allow or Deny`);
      return;
    }
    const resources = asList(statement.Resource);
    if (resources.length === 0) excess.push(`${name}: no Resource`);
    for (const action of asList(statement.Action)) {
      if (/[*?]/.test(action)) {
        excess.push(`${name}: wildcard action ${action}`);
        continue;
      }
      const grants = CONTROL_ROLE_ALLOWED_ACTIONS.filter((g) => g.actions.some((a) => a.toLowerCase() === action.toLowerCase()));
      if (grants.length === 0) {
        excess.push(`${name}: ${action} is not in the allow-list`);
        continue;
      }
      const enabled = grants.filter((g) => featureOn(g, features));
      if (enabled.length === 0) {
        excess.push(`${name}: ${action} is allowed only with the ${grants.map((g) => g.feature).join('/')} feature`);
        continue;
      }
      for (const resource of resources) {
        const ok = enabled.find(
          (g) => g.resources.some((p) => renderPattern(p, options.bindings) === resource) && carriesConditions(statement, g, options.bindings),
        );
        if (ok) {
          granted.add(`${action.toLowerCase()} ${resource}`);
          continue;
        }
        const allowed = enabled.flatMap((g) => g.resources.map((p) => renderPattern(p, options.bindings)).filter((r) => r !== null));
        const onResource = enabled.filter((g) => g.resources.some((p) => renderPattern(p, options.bindings) === resource));
        excess.push(
          onResource.length > 0
            ? `${name}: ${action} on ${resource} lacks the condition ${JSON.stringify(renderCondition(onResource[0]!.condition, options.bindings))}`
            : `${name}: ${action} on ${resource} is outside the allow-list (allowed: ${allowed.join(', ')})`,
        );
      }
    }
  });
  const missing: string[] = [];
  for (const grant of CONTROL_ROLE_ALLOWED_ACTIONS) {
    if (!featureOn(grant, features)) continue;
    for (const action of grant.actions) {
      for (const pattern of grant.resources) {
        const resource = renderPattern(pattern, options.bindings);
        if (resource !== null && !granted.has(`${action.toLowerCase()} ${resource}`)) missing.push(`${action} on ${resource} (${grant.sid})`);
      }
    }
  }
  return { excess, missing };
}
