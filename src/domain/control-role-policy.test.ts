import { describe, expect, it } from 'vitest';
import {
  CONTROL_ROLE_ALLOWED_ACTIONS,
  checkControlRolePolicy,
  controlRoleBindings,
  controlRolePolicy,
  controlRolePolicyInput,
} from './control-role-policy.js';
import type { ControlRolePolicyInput, IamPolicyDocument, IamStatement } from './control-role-policy.js';
import { BerthError } from './errors.js';
import { AwsEcsRunEnvironmentSpec } from './run-environment.js';

const input: ControlRolePolicyInput = {
  accountId: '123456789012',
  region: 'eu-west-1',
  cluster: 'jobs',
  taskDefinitionPrefix: 'acme-',
  executionRoleArn: 'arn:aws:iam::123456789012:role/berth-task-execution',
  taskRoleArn: 'arn:aws:iam::123456789012:role/berth-task',
  logGroup: '/berth/prod',
};

const statement = (policy: IamPolicyDocument, sid: string): IamStatement => {
  const found = policy.Statement.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};
const actionsOf = (policy: IamPolicyDocument) => policy.Statement.flatMap((s) => [s.Action].flat());

describe('controlRolePolicy', () => {
  it('scopes every grant to this Run Environment\'s cluster, prefix, roles and log group', () => {
    const policy = controlRolePolicy(input);
    expect(policy.Version).toBe('2012-10-17');
    expect(statement(policy, 'RegisterBerthTaskDefinitions')).toEqual({
      Sid: 'RegisterBerthTaskDefinitions',
      Effect: 'Allow',
      Action: ['ecs:RegisterTaskDefinition'],
      Resource: ['arn:aws:ecs:eu-west-1:123456789012:task-definition/acme-*'],
    });
    expect(statement(policy, 'RunBerthTasksInTheCluster')).toMatchObject({
      Action: ['ecs:RunTask'],
      Resource: ['arn:aws:ecs:eu-west-1:123456789012:task-definition/acme-*'],
      Condition: { ArnEquals: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/jobs' } },
    });
    expect(statement(policy, 'ObserveAndStopTasksInTheCluster')).toMatchObject({
      Action: ['ecs:DescribeTasks', 'ecs:StopTask'],
      Resource: ['arn:aws:ecs:eu-west-1:123456789012:task/jobs/*'],
    });
    expect(statement(policy, 'PassTaskRolesToEcsTasks')).toEqual({
      Sid: 'PassTaskRolesToEcsTasks',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [input.executionRoleArn, input.taskRoleArn],
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    });
    expect(statement(policy, 'TagWhatBerthCreates').Condition).toEqual({
      StringEquals: { 'ecs:CreateAction': ['RunTask', 'RegisterTaskDefinition'] },
    });
    expect(statement(policy, 'CreateBerthLogGroups').Resource).toEqual([
      'arn:aws:logs:eu-west-1:123456789012:log-group:/berth/prod',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/berth/prod:*',
    ]);
    expect(statement(policy, 'ReadBerthLogs')).toMatchObject({
      Action: ['logs:GetLogEvents'],
      Resource: ['arn:aws:logs:eu-west-1:123456789012:log-group:/berth/prod:log-stream:*'],
    });
  });

  it('grants exactly what the allow-list allows, for every combination of features and roles', () => {
    for (const services of [false, true]) {
      for (const eventBridgeSchedules of [false, true]) {
        for (const taskRoleArn of [input.taskRoleArn, undefined]) {
          const features = { services, eventBridgeSchedules };
          const one = { ...input, taskRoleArn, features };
          const result = checkControlRolePolicy(controlRolePolicy(one), { bindings: controlRoleBindings(one), features });
          expect(result, JSON.stringify(features)).toEqual({ excess: [], missing: [] });
        }
      }
    }
  });

  it('grants exactly the actions Berth calls (and, per feature, the ones it will)', () => {
    // Written out by hand; src/executors/aws-ecs/control-role-calls.test.ts checks the same against
    // the SDK calls in the executor's source.
    expect(actionsOf(controlRolePolicy(input)).sort()).toEqual(
      [
        'ecs:RegisterTaskDefinition',
        'ecs:DescribeTaskDefinition',
        'ecs:ListTaskDefinitions',
        'ecs:DeregisterTaskDefinition',
        'ecs:RunTask',
        'ecs:DescribeTasks',
        'ecs:StopTask',
        'ecs:ListTasks',
        'ecs:TagResource',
        'iam:PassRole',
        'logs:CreateLogGroup',
        'logs:TagResource',
        'logs:GetLogEvents',
        // berth verify (read-only)
        'ecs:DescribeClusters',
        'ec2:DescribeSubnets',
        'ec2:DescribeSecurityGroups',
        'iam:GetRole',
        'logs:DescribeLogGroups',
        'secretsmanager:DescribeSecret',
        'ssm:DescribeParameters',
        'ecr:DescribeImages',
      ].sort(),
    );
    const all = actionsOf(controlRolePolicy({ ...input, features: { services: true, eventBridgeSchedules: true } }));
    expect(all.filter((a) => /Service|^events:|^cloudformation:|^application-autoscaling:/.test(a)).sort()).toEqual(
      [
        'ecs:CreateService',
        'ecs:UpdateService',
        'ecs:DescribeServices',
        'iam:CreateServiceLinkedRole',
        'cloudformation:CreateStack',
        'cloudformation:UpdateStack',
        'cloudformation:DescribeStacks',
        'application-autoscaling:RegisterScalableTarget',
        'application-autoscaling:DeregisterScalableTarget',
        'application-autoscaling:DescribeScalableTargets',
        'application-autoscaling:PutScalingPolicy',
        'application-autoscaling:DescribeScalingPolicies',
        'application-autoscaling:DeleteScalingPolicy',
        'events:PutRule',
        'events:DeleteRule',
        'events:DescribeRule',
        'events:PutTargets',
        'events:RemoveTargets',
        'events:ListTargetsByRule',
      ].sort(),
    );
  });

  it('puts wildcards only where AWS offers no narrower resource, and nowhere in actions', () => {
    const policy = controlRolePolicy({ ...input, features: { services: true, eventBridgeSchedules: true } });
    // Written out by hand, independently of the allow-list: the only resources that may hold "*".
    const expectedWildcards = new Set([
      'arn:aws:ecs:eu-west-1:123456789012:task-definition/acme-*',
      'arn:aws:ecs:eu-west-1:123456789012:task/jobs/*',
      'arn:aws:ecs:eu-west-1:123456789012:service/jobs/acme-*',
      'arn:aws:cloudformation:eu-west-1:123456789012:stack/acme-*',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/berth/prod:*',
      'arn:aws:logs:eu-west-1:123456789012:log-group:/berth/prod:log-stream:*',
      'arn:aws:events:eu-west-1:123456789012:rule/berth-*',
      'arn:aws:logs:eu-west-1:123456789012:log-group:*',
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:berth/*',
      'arn:aws:ecr:eu-west-1:123456789012:repository/*',
    ]);
    const starOnly = new Set([
      'ecs:DescribeTaskDefinition',
      'ecs:ListTaskDefinitions',
      'ecs:DeregisterTaskDefinition',
      'ecs:ListTasks',
      'ec2:DescribeSubnets',
      'ec2:DescribeSecurityGroups',
      'ssm:DescribeParameters',
      // Scalable targets have generated ids; their Describe calls take no resource.
      'application-autoscaling:RegisterScalableTarget',
      'application-autoscaling:DeregisterScalableTarget',
      'application-autoscaling:DescribeScalableTargets',
      'application-autoscaling:PutScalingPolicy',
      'application-autoscaling:DescribeScalingPolicies',
      'application-autoscaling:DeleteScalingPolicy',
    ]);
    for (const s of policy.Statement) {
      const actions = [s.Action].flat();
      for (const action of actions) expect(action).not.toMatch(/[*?]/);
      for (const resource of [s.Resource].flat()) {
        if (resource === '*') {
          expect(actions.every((a) => starOnly.has(a)), `${s.Sid} on *`).toBe(true);
          if (actions.includes('ecs:ListTasks')) {
            expect(s.Condition).toEqual({ ArnEquals: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/jobs' } });
          }
        } else if (resource.includes('*')) {
          expect(expectedWildcards.has(resource), `${s.Sid}: ${resource}`).toBe(true);
        }
      }
    }
  });

  it('adds service and EventBridge permissions only when their features are on', () => {
    const off = actionsOf(controlRolePolicy(input));
    expect(off.filter((a) => /Service|^events:/.test(a))).toEqual([]);
    const services = actionsOf(controlRolePolicy({ ...input, features: { services: true } }));
    expect(services).toEqual(expect.arrayContaining(['ecs:CreateService', 'ecs:UpdateService', 'ecs:DescribeServices', 'cloudformation:CreateStack']));
    // Berth never deletes a service.
    expect(services).not.toContain('ecs:DeleteService');
    // The stack role is passed to CloudFormation only, and only when the Run Environment names one.
    const stackRole = 'arn:aws:iam::123456789012:role/berth-service-stacks';
    expect(statement(controlRolePolicy({ ...input, features: { services: true }, serviceStackRoleArn: stackRole }), 'PassServiceStackRoleToCloudFormation')).toMatchObject({
      Resource: [stackRole],
      Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
    });
    expect(controlRolePolicy({ ...input, features: { services: true } }).Statement.map((s) => s.Sid)).not.toContain('PassServiceStackRoleToCloudFormation');
    expect(services.filter((a) => a.startsWith('events:'))).toEqual([]);
    const schedules = controlRolePolicy({ ...input, features: { eventBridgeSchedules: true }, scheduleRulePrefix: 'nightly-' });
    expect(statement(schedules, 'ManageBerthScheduleRules').Resource).toEqual(['arn:aws:events:eu-west-1:123456789012:rule/nightly-*']);
    expect(actionsOf(schedules).filter((a) => /Service/.test(a))).toEqual([]);
  });

  it('lets the schedules feature pass the EventBridge role, to EventBridge only, and only when one is given', () => {
    const role = 'arn:aws:iam::123456789012:role/berth-eventbridge';
    const withRole = controlRolePolicy({ ...input, features: { eventBridgeSchedules: true }, eventBridgeRoleArn: role });
    expect(statement(withRole, 'PassEventBridgeRoleToEvents')).toMatchObject({
      Action: ['iam:PassRole'],
      Resource: [role],
      Condition: { StringEquals: { 'iam:PassedToService': 'events.amazonaws.com' } },
    });
    expect(withRole.Statement.filter((s) => s.Sid === 'PassEventBridgeRoleToEvents')).toHaveLength(1);
    const noRole = controlRolePolicy({ ...input, features: { eventBridgeSchedules: true } });
    expect(noRole.Statement.map((s) => s.Sid)).not.toContain('PassEventBridgeRoleToEvents');
    const featureOff = controlRolePolicy({ ...input, eventBridgeRoleArn: role });
    expect(featureOff.Statement.map((s) => s.Sid)).not.toContain('PassEventBridgeRoleToEvents');
    expect(() => controlRolePolicy({ ...input, eventBridgeRoleArn: 'arn:aws:iam::123456789012:role/*' })).toThrow(/eventBridgeRoleArn/);
  });

  it('drops the task role from iam:PassRole when there is none', () => {
    const { taskRoleArn: _, ...withoutTaskRole } = input;
    expect(statement(controlRolePolicy(withoutTaskRole), 'PassTaskRolesToEcsTasks').Resource).toEqual([input.executionRoleArn]);
  });

  it('takes the partition from the execution role and the name from a cluster ARN', () => {
    const policy = controlRolePolicy({
      ...input,
      region: 'cn-north-1',
      cluster: 'arn:aws-cn:ecs:cn-north-1:123456789012:cluster/jobs',
      executionRoleArn: 'arn:aws-cn:iam::123456789012:role/exec',
      taskRoleArn: undefined,
    });
    expect(statement(policy, 'RunBerthTasksInTheCluster').Condition).toEqual({
      ArnEquals: { 'ecs:cluster': 'arn:aws-cn:ecs:cn-north-1:123456789012:cluster/jobs' },
    });
  });

  it('refuses input that would widen a resource or point elsewhere', () => {
    const bad: Array<[Partial<ControlRolePolicyInput>, RegExp]> = [
      [{ taskDefinitionPrefix: '' }, /taskDefinitionPrefix/],
      [{ taskDefinitionPrefix: 'berth*' }, /taskDefinitionPrefix/],
      [{ logGroup: '/berth/*' }, /logGroup/],
      [{ cluster: '*' }, /cluster/],
      [{ cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/jobs' }, /region us-east-1/],
      [{ cluster: 'arn:aws:ecs:eu-west-1:999999999999:cluster/jobs' }, /account 999999999999/],
      [{ accountId: '12345' }, /accountId/],
      [{ region: 'mars-1' }, /region/],
      [{ executionRoleArn: 'arn:aws:iam::123456789012:role/*' }, /executionRoleArn/],
      [{ taskRoleArn: 'arn:aws:iam::123456789012:user/bob' }, /taskRoleArn/],
      [{ scheduleRulePrefix: '*' }, /scheduleRulePrefix/],
    ];
    for (const [change, message] of bad) {
      let caught: unknown;
      try {
        controlRolePolicy({ ...input, ...change });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(change)).toBeInstanceOf(BerthError);
      expect((caught as BerthError).code).toBe('VALIDATION_FAILED');
      expect((caught as BerthError).message).toMatch(message);
    }
  });

  it('builds its input from an aws-ecs Run Environment', () => {
    const env = AwsEcsRunEnvironmentSpec.parse({
      name: 'prod',
      kind: 'aws-ecs',
      region: 'eu-west-1',
      cluster: 'jobs',
      subnets: ['subnet-0123456789abcdef0'],
      security_groups: ['sg-0123456789abcdef0'],
      execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
    });
    expect(controlRolePolicyInput(env)).toEqual({
      accountId: '123456789012',
      region: 'eu-west-1',
      cluster: 'jobs',
      taskDefinitionPrefix: 'berth-',
      executionRoleArn: 'arn:aws:iam::123456789012:role/berth-task-execution',
      logGroup: '/berth/prod',
    });
    const fromArn = controlRolePolicyInput(
      { ...env, cluster: 'arn:aws:ecs:eu-west-1:210987654321:cluster/jobs', log_group: '/custom/logs' },
      { features: { services: true } },
    );
    expect(fromArn).toMatchObject({ accountId: '210987654321', logGroup: '/custom/logs', features: { services: true } });
    expect(controlRolePolicyInput(env, { accountId: '111122223333' }).accountId).toBe('111122223333');
  });
});

describe('checkControlRolePolicy', () => {
  const bindings = controlRoleBindings(input);
  const base = controlRolePolicy(input);
  const withExtra = (extra: Record<string, unknown>) => ({ Statement: [...base.Statement, extra] });

  it('reports grants beyond the allow-list', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }, /s3:GetObject is not in the allow-list/],
      [{ Effect: 'Allow', Action: 'ecs:*', Resource: '*' }, /wildcard action ecs:\*/],
      [
        { Effect: 'Allow', Action: 'ecs:RegisterTaskDefinition', Resource: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/*' },
        /outside the allow-list/,
      ],
      [{ Effect: 'Allow', Action: 'ecs:RunTask', Resource: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/acme-*' }, /lacks the condition/],
      [
        {
          Effect: 'Allow',
          Action: 'ecs:RunTask',
          Resource: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/acme-*',
          Condition: { ArnEquals: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/other' } },
        },
        /lacks the condition/,
      ],
      [{ Effect: 'Allow', Action: 'iam:PassRole', Resource: input.executionRoleArn }, /lacks the condition/],
      [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }, /NotAction/],
      [{ Effect: 'Allow', Action: 'ecs:CreateService', Resource: 'arn:aws:ecs:eu-west-1:123456789012:service/jobs/*' }, /services feature/],
      [{ Effect: 'Allow', Action: 'logs:GetLogEvents', Resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:*' }, /outside/],
    ];
    for (const [extra, message] of cases) {
      const { excess } = checkControlRolePolicy(withExtra(extra), { bindings });
      expect(excess.join('\n'), JSON.stringify(extra)).toMatch(message);
    }
  });

  it('accepts extra conditions (they only narrow) and ignores Deny statements', () => {
    const narrowed = base.Statement.map((s) => ({ ...s, Condition: { ...s.Condition, Bool: { 'aws:SecureTransport': 'true' } } }));
    expect(checkControlRolePolicy({ Statement: narrowed }, { bindings }).excess).toEqual([]);
    expect(checkControlRolePolicy(withExtra({ Effect: 'Deny', Action: '*', Resource: '*' }), { bindings }).excess).toEqual([]);
  });

  it('reports allowed grants that the policy lacks', () => {
    const without = { Statement: base.Statement.filter((s) => s.Sid !== 'ReadBerthLogs') };
    expect(checkControlRolePolicy(without, { bindings }).missing).toEqual([
      'logs:GetLogEvents on arn:aws:logs:eu-west-1:123456789012:log-group:/berth/prod:log-stream:* (ReadBerthLogs)',
    ]);
  });

  it('keeps the allow-list itself honest', () => {
    const sids = CONTROL_ROLE_ALLOWED_ACTIONS.map((g) => g.sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const grant of CONTROL_ROLE_ALLOWED_ACTIONS) {
      for (const action of grant.actions) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      // Only the calls AWS cannot scope may use a bare "*", and PassRole never goes unconditioned.
      if (grant.resources.includes('*')) expect(['TaskDefinitionCallsWithoutResourceScope', 'ListTasksInTheCluster', 'VerifyTheNetwork', 'VerifyParameters', 'ScaleBerthServices']).toContain(grant.sid);
      if (grant.actions.includes('iam:PassRole')) expect(grant.condition).toBeDefined();
    }
  });
});
