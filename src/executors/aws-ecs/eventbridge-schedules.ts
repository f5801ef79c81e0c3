/**
 * Schedules kept as EventBridge rules (`schedules: eventbridge` on an aws-ecs Run Environment):
 * one rule per scheduled Task, named `<schedule_rule_prefix><task name>`, whose one target runs
 * the Task's ECS task directly. The wrapper inside the container then reports the run to Berth as
 * a REPORTED execution of the Task (it gets the Task's name and uuid, and no execution uuid).
 *
 * Sync is idempotent: it reads the rule (DescribeRule) and its targets (ListTargetsByRule) and
 * calls PutRule / PutTargets only for what differs, so re-syncing an unchanged Task writes
 * nothing. Deleting removes the target, then the rule.
 */
import { DescribeClustersCommand } from '@aws-sdk/client-ecs';
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import type { EcsParameters, Target } from '@aws-sdk/client-eventbridge';
import { isDeepStrictEqual } from 'node:util';
import { CLUSTER_ARN_PATTERN } from '../../domain/aws.js';
import { BerthError } from '../../domain/errors.js';
import { ruleNameFor, toEventBridgeExpression } from '../../domain/eventbridge-schedule.js';
import type { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import type { TaskSpec } from '../../domain/task.js';
import type { ScheduleRuleResult } from '../executor.js';
import { describeAwsError, withRetry } from './aws-calls.js';
import type { RetryOptions } from './aws-calls.js';
import type { EcsClients } from './ecs-clients.js';
import type { BuiltDefinition } from './task-definition.js';

/** The id of the one target Berth puts on a rule. */
export const TARGET_ID = 'berth-ecs-task';
export const DEFAULT_RULE_PREFIX = 'berth-';

export interface RuleSyncDeps {
  clients: EcsClients;
  retry: RetryOptions;
  wait: (ms: number) => Promise<void>;
  /** Registers (or finds) the Task's task definition the executor's usual way; its ARN. */
  definitionArn(definition: BuiltDefinition): Promise<string>;
  /** Makes sure the Task's log group exists (the task logs there when EventBridge starts it). */
  ensureLogGroup(group: string): Promise<void>;
}

/** Runs one AWS call with Berth's retry policy; a failure becomes AWS_CALL_FAILED naming the action. */
async function call<T>(deps: RuleSyncDeps, action: string, ruleName: string, run: () => Promise<T>): Promise<T> {
  try {
    return await withRetry(run, deps.retry, deps.wait);
  } catch (error) {
    throw new BerthError(
      'AWS_CALL_FAILED',
      `Could not keep the EventBridge rule "${ruleName}" in step with its Task: ${describeAwsError(action, error)}. Nothing was saved; fix the cause and apply again.`,
      { action, rule: ruleName },
      { cause: error },
    );
  }
}

const notFound = (error: unknown) =>
  error instanceof BerthError && (error.cause as { name?: string } | undefined)?.name === 'ResourceNotFoundException';

/** True when every field `desired` sets has the same value in `actual` (AWS may add defaults). */
function covers(desired: unknown, actual: unknown): boolean {
  if (desired === undefined) return true;
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && desired.length === actual.length && desired.every((d, i) => covers(d, actual[i]));
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object') return false;
    return Object.entries(desired).every(([k, v]) => covers(v, (actual as Record<string, unknown>)[k]));
  }
  return isDeepStrictEqual(desired, actual);
}

async function clusterArnOf(deps: RuleSyncDeps, env: AwsEcsRunEnvironmentSpec, ruleName: string): Promise<string> {
  if (CLUSTER_ARN_PATTERN.test(env.cluster)) return env.cluster;
  const described = await call(deps, 'ecs:DescribeClusters', ruleName, () =>
    deps.clients.ecs.send(new DescribeClustersCommand({ clusters: [env.cluster] })),
  );
  const arn = described.clusters?.find((c) => c.status !== 'INACTIVE')?.clusterArn;
  if (!arn) {
    throw new BerthError('AWS_CALL_FAILED', `ECS has no cluster "${env.cluster}" in ${env.region}; the EventBridge rule "${ruleName}" needs one to target.`, {
      action: 'ecs:DescribeClusters',
      rule: ruleName,
    });
  }
  return arn;
}

/** The wrapper's environment for a run EventBridge starts: the Task, but no execution uuid. */
export function scheduledRunOverrides(task: { uuid: string; name: string }, mainContainer: string): string {
  const environment = {
    BERTH_TASK_UUID: task.uuid,
    PROC_WRAPPER_TASK_NAME: task.name,
    PROC_WRAPPER_TASK_UUID: task.uuid,
  };
  return JSON.stringify({
    containerOverrides: [
      {
        name: mainContainer,
        environment: Object.entries(environment).map(([name, value]) => ({ name, value })),
      },
    ],
  });
}

function ecsParameters(env: AwsEcsRunEnvironmentSpec, task: TaskSpec, definitionArn: string): EcsParameters {
  return {
    TaskDefinitionArn: definitionArn,
    TaskCount: 1,
    ...(env.capacity_provider_strategy
      ? {
          CapacityProviderStrategy: env.capacity_provider_strategy.map((c) => ({
            capacityProvider: c.capacity_provider,
            weight: c.weight,
            base: c.base,
          })),
        }
      : env.launch_type === 'FARGATE_SPOT'
        ? { CapacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1, base: 0 }] }
        : { LaunchType: 'FARGATE' as const }),
    NetworkConfiguration: {
      awsvpcConfiguration: {
        Subnets: env.subnets,
        SecurityGroups: env.security_groups,
        AssignPublicIp: env.assign_public_ip ? 'ENABLED' : 'DISABLED',
      },
    },
    ...(env.platform_version ? { PlatformVersion: env.platform_version } : {}),
    Group: `berth:${task.name}`.slice(0, 255),
    PropagateTags: 'TASK_DEFINITION',
  };
}

export interface RuleSyncInput {
  env: AwsEcsRunEnvironmentSpec;
  task: TaskSpec;
  taskUuid: string;
  definition: BuiltDefinition;
  remove: boolean;
}

/** Makes the Task's rule and target match the Task (or removes them). See the file comment. */
export async function syncEventBridgeRule(deps: RuleSyncDeps, input: RuleSyncInput): Promise<ScheduleRuleResult> {
  const { env, task } = input;
  const events = deps.clients.events;
  const rule = ruleNameFor(env.schedule_rule_prefix ?? DEFAULT_RULE_PREFIX, task.name);
  const expression = !input.remove && !task.passive && typeof task.schedule === 'string' ? toEventBridgeExpression(task.schedule) : null;
  if (expression && !expression.ok) {
    throw new BerthError('VALIDATION_FAILED', `schedule: ${expression.error}`, {
      issues: [{ path: 'schedule', message: expression.error, code: 'custom' }],
    });
  }

  const existing = await call(deps, 'events:DescribeRule', rule, () => events.send(new DescribeRuleCommand({ Name: rule }))).catch(
    (error: unknown) => {
      if (notFound(error)) return null;
      throw error;
    },
  );

  if (!expression) {
    if (!existing) return { rule, action: 'unchanged' };
    const targets = await call(deps, 'events:ListTargetsByRule', rule, () => events.send(new ListTargetsByRuleCommand({ Rule: rule })));
    const ids = (targets.Targets ?? []).map((t) => t.Id!).filter(Boolean);
    if (ids.length) {
      await call(deps, 'events:RemoveTargets', rule, () => events.send(new RemoveTargetsCommand({ Rule: rule, Ids: ids })));
    }
    await call(deps, 'events:DeleteRule', rule, () => events.send(new DeleteRuleCommand({ Name: rule })));
    return { rule, action: 'deleted' };
  }

  const state = task.enabled ? 'ENABLED' : 'DISABLED';
  const description = `Berth schedule of Task "${task.name}" (managed by Berth: changes made here are overwritten)`.slice(0, 512);
  let changed = false;
  if (
    !existing ||
    existing.ScheduleExpression !== expression.expression ||
    existing.State !== state ||
    existing.Description !== description
  ) {
    await call(deps, 'events:PutRule', rule, () =>
      events.send(
        new PutRuleCommand({
          Name: rule,
          ScheduleExpression: expression.expression,
          State: state,
          Description: description,
          Tags: [
            ...Object.entries(env.tags).map(([Key, Value]) => ({ Key, Value })),
            { Key: 'berth:task', Value: task.name.slice(0, 256) },
          ],
        }),
      ),
    );
    changed = true;
  }

  try {
    await deps.ensureLogGroup(input.definition.logGroup);
  } catch (error) {
    throw new BerthError('AWS_CALL_FAILED', `Could not prepare the EventBridge rule "${rule}": ${describeAwsError('logs:CreateLogGroup', error)}`, {
      action: 'logs:CreateLogGroup',
      rule,
    });
  }
  let definitionArn: string;
  try {
    definitionArn = await deps.definitionArn(input.definition);
  } catch (error) {
    throw new BerthError(
      'AWS_CALL_FAILED',
      `Could not prepare the EventBridge rule "${rule}": ${describeAwsError('ecs:RegisterTaskDefinition', error)}`,
      { action: 'ecs:RegisterTaskDefinition', rule },
    );
  }
  const target: Target = {
    Id: TARGET_ID,
    Arn: await clusterArnOf(deps, env, rule),
    RoleArn: env.eventbridge_role_arn,
    EcsParameters: ecsParameters(env, task, definitionArn),
    Input: scheduledRunOverrides({ uuid: input.taskUuid, name: task.name }, input.definition.mainContainer),
  };
  const listed = existing
    ? await call(deps, 'events:ListTargetsByRule', rule, () => events.send(new ListTargetsByRuleCommand({ Rule: rule })))
    : { Targets: [] };
  const current = listed.Targets ?? [];
  const strangers = current.filter((t) => t.Id !== TARGET_ID).map((t) => t.Id!);
  const ours = current.find((t) => t.Id === TARGET_ID);
  if (strangers.length) {
    await call(deps, 'events:RemoveTargets', rule, () => events.send(new RemoveTargetsCommand({ Rule: rule, Ids: strangers })));
    changed = true;
  }
  if (!ours || !covers(target, ours)) {
    const put = await call(deps, 'events:PutTargets', rule, () => events.send(new PutTargetsCommand({ Rule: rule, Targets: [target] })));
    const failed = put.FailedEntries?.[0];
    if ((put.FailedEntryCount ?? 0) > 0 && failed) {
      throw new BerthError(
        'AWS_CALL_FAILED',
        `events:PutTargets refused the target of rule "${rule}": ${failed.ErrorCode ?? 'error'}: ${failed.ErrorMessage ?? 'no message'}`,
        { action: 'events:PutTargets', rule },
      );
    }
    changed = true;
  }
  return { rule, action: !existing ? 'created' : changed ? 'updated' : 'unchanged' };
}
