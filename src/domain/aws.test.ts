import { describe, expect, it } from 'vitest';
import { checkFargateSize, clusterName, fargateMemoryOptions } from './aws.js';
import { formatIssues } from './common.js';
import { AwsEcsRunEnvironmentSpec } from './run-environment.js';

const valid = {
  name: 'prod',
  kind: 'aws-ecs',
  region: 'us-east-1',
  cluster: 'berth',
  subnets: ['subnet-0123456789abcdef0', 'subnet-01234567'],
  security_groups: ['sg-0123456789abcdef0'],
  execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
};

function issues(extra: Record<string, unknown>) {
  const r = AwsEcsRunEnvironmentSpec.safeParse({ ...valid, ...extra });
  return r.success ? [] : formatIssues(r.error);
}

describe('aws-ecs Run Environment validation', () => {
  it('accepts a valid one and fills the defaults', () => {
    expect(AwsEcsRunEnvironmentSpec.parse(valid)).toMatchObject({
      assign_public_ip: false,
      log_stream_prefix: 'berth',
      task_definition_prefix: 'berth-',
      launch_rate: { burst: 100, per_second: 20 },
    });
  });

  it('says what is wrong with each id, with an example of a right one', () => {
    expect(issues({ subnets: ['subnet-xyz'] })[0]).toMatchObject({ path: 'subnets[0]', message: expect.stringMatching(/subnet-0123456789abcdef0/) });
    expect(issues({ security_groups: ['default'] })[0]).toMatchObject({ path: 'security_groups[0]', message: expect.stringMatching(/sg-/) });
    expect(issues({ execution_role_arn: 'berth-exec' })[0]).toMatchObject({ path: 'execution_role_arn', message: expect.stringMatching(/arn:aws:iam::/) });
    expect(issues({ task_role_arn: 'arn:aws:iam::123:role/x' })[0]?.path).toBe('task_role_arn');
    expect(issues({ region: 'europe' })[0]).toMatchObject({ path: 'region', message: expect.stringMatching(/us-east-1/) });
    expect(issues({ cluster: 'has space' })[0]?.path).toBe('cluster');
    expect(issues({ cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/berth' })).toEqual([]);
    expect(issues({ secrets: { DB: 'ENV:DB' } })[0]).toMatchObject({ path: 'secrets.DB', message: expect.stringMatching(/Secrets Manager or SSM/) });
    expect(issues({ security_groups: Array.from({ length: 6 }, () => 'sg-0123456789abcdef0') })[0]?.message).toMatch(/at most 5/);
  });

  it('checks the rules between fields', () => {
    expect(issues({ launch_type: 'FARGATE', capacity_provider_strategy: [{ capacity_provider: 'FARGATE_SPOT' }] })[0]?.path).toBe(
      'capacity_provider_strategy',
    );
    expect(issues({ external_id: 'abc123' })[0]).toMatchObject({ path: 'external_id', message: expect.stringMatching(/role_arn/) });
    expect(issues({ tags: { 'aws:owner': 'x' } })[0]?.path).toMatch(/^tags/);
  });
});

describe('Fargate sizes', () => {
  it('knows the valid combinations', () => {
    expect(fargateMemoryOptions(256)).toEqual([512, 1024, 2048]);
    expect(fargateMemoryOptions(512)).toEqual([1024, 2048, 3072, 4096]);
    expect(fargateMemoryOptions(300)).toBeNull();
    expect(checkFargateSize(1024, 2048)).toBeNull();
    expect(checkFargateSize(16384, 122880)).toBeNull();
    expect(checkFargateSize(300, 512)).toMatch(/256, 512, 1024/);
    expect(checkFargateSize(256, 4096)).toMatch(/with cpu 256 use 512, 1024, 2048 MiB/);
    expect(checkFargateSize(4096, 8193)).toMatch(/8192 to 30720 in steps of 1024/);
    expect(checkFargateSize(8192, 16384, '1.3.0')).toMatch(/platform version 1\.4\.0/);
    expect(clusterName('arn:aws:ecs:us-east-1:123456789012:cluster/berth')).toBe('berth');
  });
});
