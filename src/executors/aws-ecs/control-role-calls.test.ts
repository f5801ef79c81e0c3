/**
 * The control role grants what the aws-ecs executor and `berth verify` call, and nothing they do
 * not: the calls are read from their source (every `new XCommand(` and the SDK package it comes
 * from), so a new SDK call without a grant, or a grant nothing calls, fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { controlRolePolicy } from '../../domain/control-role-policy.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** IAM actions of the `new XCommand(` calls in these files, from the SDK package each command is imported from. */
function awsCallsOf(files: string[]): Set<string> {
  const prefixes: Record<string, string> = {
    'client-ecs': 'ecs',
    'client-cloudwatch-logs': 'logs',
    'client-ec2': 'ec2',
    'client-ecr': 'ecr',
    'client-iam': 'iam',
    'client-secrets-manager': 'secretsmanager',
    'client-ssm': 'ssm',
    'client-sts': 'sts',
    'client-cloudformation': 'cloudformation',
    'client-application-auto-scaling': 'application-autoscaling',
  };
  const out = new Set<string>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const source = new Map<string, string>();
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/([a-z0-9-]+)'/g)) {
      for (const name of m[1]!.split(',').map((n) => n.trim()).filter(Boolean)) source.set(name, m[2]!);
    }
    for (const m of text.matchAll(/new (\w+)Command\(/g)) {
      const pkg = source.get(`${m[1]}Command`);
      if (!pkg || !prefixes[pkg]) throw new Error(`${file}: cannot tell the service of ${m[1]}Command`);
      out.add(`${prefixes[pkg]}:${m[1]}`);
    }
  }
  return out;
}

describe('the control role and the calls Berth makes', () => {
  it('grants exactly the actions the executor and verify call, plus the ones AWS authorises as side effects', () => {
    const called = awsCallsOf(['src/executors/aws-ecs/ecs-executor.ts', 'src/executors/aws-ecs/ecs-verify.ts']);
    // GetCallerIdentity needs no permission; AssumeRole is the server's own identity, not the role's.
    called.delete('sts:GetCallerIdentity');
    // Authorised as side effects: tags sent with RunTask, RegisterTaskDefinition and CreateLogGroup,
    // and the roles a task definition names.
    const implied = ['ecs:TagResource', 'logs:TagResource', 'iam:PassRole'];
    const policy = controlRolePolicy({
      accountId: '123456789012',
      region: 'eu-west-1',
      cluster: 'jobs',
      executionRoleArn: 'arn:aws:iam::123456789012:role/berth-task-execution',
      taskRoleArn: 'arn:aws:iam::123456789012:role/berth-task',
      logGroup: '/berth/prod',
    });
    const granted = policy.Statement.flatMap((s) => [s.Action].flat());
    expect(granted.sort()).toEqual([...called, ...implied].sort());
    expect([...called]).toEqual(expect.arrayContaining(['ecs:RunTask', 'ecs:DescribeClusters', 'secretsmanager:DescribeSecret']));
  });

  it('with the services feature, grants exactly what Services call as well (ecs-service.ts)', () => {
    const called = awsCallsOf(['src/executors/aws-ecs/ecs-executor.ts', 'src/executors/aws-ecs/ecs-verify.ts', 'src/executors/aws-ecs/ecs-service.ts']);
    called.delete('sts:GetCallerIdentity');
    // Side effects: tags sent with CreateService, the stack role handed to CloudFormation, and
    // the service-linked role the first RegisterScalableTarget of an account creates.
    const implied = ['ecs:TagResource', 'logs:TagResource', 'iam:PassRole', 'iam:CreateServiceLinkedRole'];
    const policy = controlRolePolicy({
      accountId: '123456789012',
      region: 'eu-west-1',
      cluster: 'jobs',
      executionRoleArn: 'arn:aws:iam::123456789012:role/berth-task-execution',
      logGroup: '/berth/prod',
      serviceStackRoleArn: 'arn:aws:iam::123456789012:role/berth-service-stacks',
      features: { services: true },
    });
    const granted = [...new Set(policy.Statement.flatMap((s) => [s.Action].flat()))];
    expect(granted.sort()).toEqual([...new Set([...called, ...implied])].sort());
    expect([...called]).toEqual(expect.arrayContaining(['ecs:CreateService', 'cloudformation:CreateStack', 'application-autoscaling:PutScalingPolicy']));
  });
});
