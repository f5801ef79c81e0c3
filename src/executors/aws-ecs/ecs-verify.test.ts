import { describe, expect, it } from 'vitest';
import { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { TaskSpec } from '../../domain/task.js';
import {
  capacityCheck,
  ecsTasksTrust,
  environmentSecrets,
  fargateSizeCheck,
  parseEcrImage,
  parsePolicyDocument,
  secretTarget,
  securityGroupsCheck,
  subnetsCheck,
  taskSecrets,
} from './ecs-verify.js';
import { buildTaskDefinition } from './task-definition.js';

const SUBNET_A = 'subnet-0a1b2c3d4e5f60718';
const SUBNET_B = 'subnet-0f1e2d3c4b5a69788';
const SG = 'sg-0123456789abcdef0';
const SG2 = 'sg-0fedcba9876543210';
const SM = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:etl-db-AbCdEf';
const SSM = 'arn:aws:ssm:eu-west-1:123456789012:parameter/berth/token';

function env(extra: Record<string, unknown> = {}) {
  return AwsEcsRunEnvironmentSpec.parse({
    name: 'prod',
    kind: 'aws-ecs',
    region: 'eu-west-1',
    cluster: 'berth',
    subnets: [SUBNET_A, SUBNET_B],
    security_groups: [SG],
    execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
    ...extra,
  });
}

function task(extra: Record<string, unknown> = {}) {
  return TaskSpec.parse({ name: 'etl', run_environment: 'prod', image: 'busybox', ...extra });
}

const trust = (statement: unknown) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statement }));

describe('ecsTasksTrust', () => {
  it('reads the URL-encoded document IAM returns, and plain JSON', () => {
    const doc = { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' };
    expect(ecsTasksTrust(trust([doc]))).toMatchObject({ trusted: true });
    expect(ecsTasksTrust(JSON.stringify({ Statement: doc }))).toMatchObject({ trusted: true });
    expect(parsePolicyDocument('%7B%22a%22%3A1%7D')).toEqual({ a: 1 });
    expect(parsePolicyDocument('%E0%A4%A')).toBeNull();
  });

  it('accepts lists of services and actions', () => {
    const doc = { Effect: 'Allow', Principal: { Service: ['ec2.amazonaws.com', 'ecs-tasks.amazonaws.com'] }, Action: ['sts:TagSession', 'sts:AssumeRole'] };
    expect(ecsTasksTrust(trust([doc])).trusted).toBe(true);
  });

  it('says whom the policy trusts when it is not ECS tasks', () => {
    const verdict = ecsTasksTrust(trust([{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]));
    expect(verdict.trusted).toBe(false);
    expect(verdict.problem).toMatch(/does not allow ecs-tasks\.amazonaws\.com to assume it \(it allows: Service ec2\.amazonaws\.com\)/);
  });

  it('ignores statements about other actions, and honours a Deny', () => {
    const other = { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:TagSession' };
    expect(ecsTasksTrust(trust([other])).trusted).toBe(false);
    const allow = { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' };
    const deny = { Effect: 'Deny', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:*' };
    expect(ecsTasksTrust(trust([allow, deny])).problem).toMatch(/denies/);
  });

  it('explains a missing or unreadable document', () => {
    expect(ecsTasksTrust(undefined).problem).toMatch(/no trust policy/);
    expect(ecsTasksTrust('not json').problem).toMatch(/not readable JSON/);
  });
});

describe('parseEcrImage', () => {
  it('finds the registry, region, repository and tag of private ECR images', () => {
    expect(parseEcrImage('123456789012.dkr.ecr.eu-west-1.amazonaws.com/etl:1.4')).toEqual({
      registryId: '123456789012',
      region: 'eu-west-1',
      repository: 'etl',
      tag: '1.4',
    });
    expect(parseEcrImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/team/etl')).toMatchObject({ repository: 'team/etl', tag: 'latest' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseEcrImage(`123456789012.dkr.ecr.us-east-1.amazonaws.com/etl@${digest}`)).toEqual({
      registryId: '123456789012',
      region: 'us-east-1',
      repository: 'etl',
      digest,
    });
  });

  it('returns null for other registries', () => {
    expect(parseEcrImage('public.ecr.aws/docker/library/busybox:1.36')).toBeNull();
    expect(parseEcrImage('busybox')).toBeNull();
    expect(parseEcrImage('ghcr.io/acme/etl:1')).toBeNull();
  });
});

describe('secretTarget', () => {
  it('reads Secrets Manager ARNs with and without JSON key and version', () => {
    expect(secretTarget(SM, 'us-east-1')).toEqual({ service: 'secretsmanager', region: 'eu-west-1', account: '123456789012', secretId: SM, name: 'etl-db-AbCdEf' });
    expect(secretTarget(`${SM}:password:AWSPREVIOUS:`, 'us-east-1')).toMatchObject({ secretId: SM, jsonKey: 'password', versionStage: 'AWSPREVIOUS' });
  });

  it('turns SSM parameter ARNs into names: hierarchical ones start with /', () => {
    expect(secretTarget(SSM, 'us-east-1')).toEqual({ service: 'ssm', region: 'eu-west-1', account: '123456789012', name: '/berth/token' });
    expect(secretTarget('arn:aws:ssm:eu-west-1:123456789012:parameter/token', 'us-east-1')).toMatchObject({ name: 'token' });
  });

  it('takes a bare name as an SSM parameter of the Run Environment\'s region, as ECS does', () => {
    expect(secretTarget('/plain/name', 'us-east-1')).toEqual({ service: 'ssm', region: 'us-east-1', account: null, name: '/plain/name' });
  });
});

describe('capacityCheck', () => {
  it('passes launch type FARGATE whatever providers the cluster lists, and says what it saw', () => {
    expect(capacityCheck(env(), { clusterName: 'berth' })).toMatchObject({ status: 'pass', message: expect.stringMatching(/reports no capacity providers/) });
    expect(capacityCheck(env(), { clusterName: 'berth', capacityProviders: ['FARGATE'] }).message).toMatch(/the cluster has FARGATE/);
  });

  it('fails FARGATE_SPOT or a strategy whose providers the cluster lacks', () => {
    const spot = capacityCheck(env({ launch_type: 'FARGATE_SPOT' }), { clusterName: 'berth', capacityProviders: ['FARGATE'] });
    expect(spot).toMatchObject({ status: 'fail', message: expect.stringMatching(/FARGATE_SPOT uses FARGATE_SPOT, but the cluster has FARGATE/) });
    expect(spot.fix).toMatch(/put-cluster-capacity-providers --cluster berth/);
    const strategy = env({ capacity_provider_strategy: [{ capacity_provider: 'FARGATE' }, { capacity_provider: 'FARGATE_SPOT' }] });
    expect(capacityCheck(strategy, { clusterName: 'berth', capacityProviders: ['FARGATE', 'FARGATE_SPOT'] }).status).toBe('pass');
    expect(capacityCheck(strategy, { clusterName: 'berth' }).status).toBe('fail');
  });

  it('warns about providers that are not Fargate ones', () => {
    const asg = env({ capacity_provider_strategy: [{ capacity_provider: 'my-asg' }] });
    expect(capacityCheck(asg, { clusterName: 'berth', capacityProviders: ['my-asg'] }).status).toBe('warn');
  });
});

describe('subnets and security groups', () => {
  it('passes subnets of one VPC and groups in it', () => {
    const found = new Map([[SUBNET_A, 'vpc-1'], [SUBNET_B, 'vpc-1']]);
    const { check, vpc } = subnetsCheck(env(), found);
    expect(check.status).toBe('pass');
    expect(vpc).toBe('vpc-1');
    expect(securityGroupsCheck(env(), new Map([[SG, 'vpc-1']]), vpc).status).toBe('pass');
  });

  it('names a missing subnet, and still knows the VPC from the others', () => {
    const { check, vpc } = subnetsCheck(env(), new Map([[SUBNET_A, 'vpc-1']]));
    expect(check).toMatchObject({ status: 'fail', message: `subnet ${SUBNET_B} does not exist in eu-west-1` });
    expect(check.fix).toMatch(/subnets of Run Environment "prod"/);
    expect(vpc).toBe('vpc-1');
  });

  it('fails subnets of two VPCs, and then only warns about the groups', () => {
    const { check, vpc } = subnetsCheck(env(), new Map([[SUBNET_A, 'vpc-1'], [SUBNET_B, 'vpc-2']]));
    expect(check).toMatchObject({ status: 'fail', message: expect.stringMatching(/2 VPCs/) });
    expect(vpc).toBeNull();
    expect(securityGroupsCheck(env(), new Map([[SG, 'vpc-1']]), vpc).status).toBe('warn');
  });

  it('names a group of another VPC, and a missing one', () => {
    const two = env({ security_groups: [SG, SG2] });
    const other = securityGroupsCheck(two, new Map([[SG, 'vpc-1'], [SG2, 'vpc-9']]), 'vpc-1');
    expect(other).toMatchObject({ status: 'fail', message: `${SG2} is in vpc-9, but the subnets are in vpc-1` });
    expect(other.fix).toMatch(/security_groups of Run Environment "prod"/);
    expect(securityGroupsCheck(two, new Map([[SG, 'vpc-1']]), 'vpc-1')).toMatchObject({ status: 'fail', message: `security group ${SG2} does not exist in eu-west-1` });
  });
});

describe('secrets a Task references', () => {
  it('lists the Run Environment\'s own secrets without a Task', () => {
    const uses = environmentSecrets(env({ secrets: { A: SM }, api_key_secret: SSM }));
    expect(uses.map((u) => [u.label, u.where])).toEqual([
      ['A', 'secrets.A of Run Environment "prod"'],
      ['PROC_WRAPPER_API_KEY', 'api_key_secret of Run Environment "prod"'],
    ]);
  });

  it('lists every secret of the task definition with where it is written', () => {
    const e = env({ secrets: { SHARED: SSM, OVERRIDDEN: SSM } });
    const t = task({
      secrets: { DB: SM, OVERRIDDEN: `${SM}:password::` },
      sidecars: [{ name: 'proxy', image: 'envoy', secrets: { TOKEN: SSM } }],
    });
    const built = buildTaskDefinition(t, e);
    const uses = taskSecrets(t, e, built.input.containerDefinitions ?? [], built.mainContainer);
    expect(uses.map((u) => `${u.label} <- ${u.where}`).sort()).toEqual([
      'DB <- secrets.DB of Task "etl"',
      'OVERRIDDEN <- secrets.OVERRIDDEN of Task "etl"',
      'SHARED <- secrets.SHARED of Run Environment "prod"',
      'proxy.TOKEN <- sidecars[proxy].secrets.TOKEN of Task "etl"',
    ]);
  });
});

describe('fargateSizeCheck', () => {
  it('passes a valid size and explains an invalid one', () => {
    expect(fargateSizeCheck(task({ cpu: 512, memory: 1024 }), env())).toMatchObject({ status: 'pass', message: 'cpu 512, memory 1024 MiB is a valid Fargate size' });
    // Validation refuses this when the Task is saved; a later platform_version change is what verify catches.
    const big = fargateSizeCheck(task({ cpu: 8192, memory: 16384 }), env({ platform_version: '1.3.0' }));
    expect(big).toMatchObject({ status: 'fail', message: expect.stringMatching(/needs Fargate platform version 1\.4\.0/) });
  });
});
