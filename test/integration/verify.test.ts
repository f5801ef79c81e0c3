/**
 * `berth verify` against moto: a good aws-ecs Run Environment and Task pass every check (through
 * the API and the CLI), and each broken thing fails exactly its own check with what to fix.
 * Every case builds its own resources (VPC, subnets, groups, cluster, roles, secrets, ECR
 * repository, log group) so cases never see each other's changes.
 */
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSubnetCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAwsProxy } from '../support/aws-proxy.js';
import type { AwsProxy } from '../support/aws-proxy.js';
import { awsTestConfig, motoAvailable, startMoto } from '../support/moto.js';
import type { Moto } from '../support/moto.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

const trustPolicy = (service: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });

interface Setup {
  prefix: string;
  vpcId: string;
  subnets: string[];
  securityGroup: string;
  secretArn: string;
  parameterArn: string;
  image: string;
  env: Record<string, unknown>;
  task: Record<string, unknown>;
}

interface Check {
  name: string;
  status: 'pass' | 'fail' | 'warn' | 'skip';
  message: string;
  fix?: string;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe.runIf(await motoAvailable())('berth verify against moto', () => {
  let moto: Moto;
  let proxy: AwsProxy;
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let ec2: EC2Client;
  let ecs: ECSClient;
  let iam: IAMClient;
  let sm: SecretsManagerClient;
  let ssm: SSMClient;
  let ecr: ECRClient;
  let logs: CloudWatchLogsClient;
  let cases = 0;

  beforeAll(async () => {
    // The server's default credential chain reads these (moto checks no signature).
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    moto = await startMoto();
    proxy = await startAwsProxy(moto.endpoint);
    const config = awsTestConfig(moto.endpoint);
    ec2 = new EC2Client(config);
    ecs = new ECSClient(config);
    iam = new IAMClient(config);
    sm = new SecretsManagerClient(config);
    ssm = new SSMClient(config);
    ecr = new ECRClient(config);
    logs = new CloudWatchLogsClient(config);
    t = await startTestServer();
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    for (const client of [ec2, ecs, iam, sm, ssm, ecr, logs]) client?.destroy();
    await proxy?.stop();
    await moto?.stop();
  });

  beforeEach(() => proxy.clearInjections());

  async function vpcWithSubnets(count: number): Promise<{ vpcId: string; subnets: string[]; securityGroup: string }> {
    const n = ++cases;
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }));
    const vpcId = vpc.Vpc!.VpcId!;
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
    const subnets: string[] = [];
    for (let i = 0; i < count; i++) {
      const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.${n}.${i}.0/24`, AvailabilityZone: `${REGION}${'ab'[i]}` }));
      subnets.push(subnet.Subnet!.SubnetId!);
    }
    const group = await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `berth-tasks-${n}`, Description: 'Berth tasks' }));
    return { vpcId, subnets, securityGroup: group.GroupId! };
  }

  async function role(name: string, service = 'ecs-tasks.amazonaws.com'): Promise<string> {
    const created = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustPolicy(service) }));
    return created.Role!.Arn!;
  }

  /** A complete, good environment in moto, registered as an aws-ecs Run Environment with one Task. */
  async function goodSetup(prefix: string): Promise<Setup> {
    const { vpcId, subnets, securityGroup } = await vpcWithSubnets(2);
    await ecs.send(new CreateClusterCommand({ clusterName: `${prefix}-cluster`, capacityProviders: ['FARGATE', 'FARGATE_SPOT'] }));
    const executionRole = await role(`${prefix}-execution`);
    const taskRole = await role(`${prefix}-task`);
    const secret = await sm.send(new CreateSecretCommand({ Name: `${prefix}/db`, SecretString: 'hunter2' }));
    await ssm.send(new PutParameterCommand({ Name: `/${prefix}/token`, Value: 'abc', Type: 'SecureString' }));
    const parameterArn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${prefix}/token`;
    await ecr.send(new CreateRepositoryCommand({ repositoryName: `${prefix}/etl` }));
    await ecr.send(
      new PutImageCommand({
        repositoryName: `${prefix}/etl`,
        imageTag: '1.0',
        imageManifest: JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1024, digest: `sha256:${'b'.repeat(64)}` },
          layers: [],
        }),
      }),
    );
    const image = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${prefix}/etl:1.0`;
    await logs.send(new CreateLogGroupCommand({ logGroupName: `/berth/${prefix}` }));
    const env = {
      name: prefix,
      kind: 'aws-ecs',
      region: REGION,
      cluster: `${prefix}-cluster`,
      subnets,
      security_groups: [securityGroup],
      execution_role_arn: executionRole,
      task_role_arn: taskRole,
      log_group: `/berth/${prefix}`,
      secrets: { API_TOKEN: parameterArn },
      endpoint_url: proxy.endpoint,
    };
    const task = {
      name: `${prefix}-etl`,
      run_environment: prefix,
      image,
      command: ['python', 'etl.py'],
      cpu: 512,
      memory: 1024,
      secrets: { DB_PASSWORD: secret.ARN! },
    };
    return { prefix, vpcId, subnets, securityGroup, secretArn: secret.ARN!, parameterArn, image, env, task };
  }

  async function register(setup: Pick<Setup, 'env' | 'task'>): Promise<void> {
    const env = await t.request('POST', '/api/v1/run_environments/', setup.env);
    expect([200, 201], JSON.stringify(env.body)).toContain(env.status);
    const task = await t.request('POST', '/api/v1/tasks/', setup.task);
    expect([200, 201], JSON.stringify(task.body)).toContain(task.status);
  }

  async function verify(env: string, task?: string) {
    const answer = await t.request('POST', `/api/v1/run_environments/${env}/verify`, task === undefined ? {} : { task });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as { ok: boolean; run_environment: { name: string }; task?: { name: string }; checks: Check[] };
  }

  const failing = (checks: Check[]) => checks.filter((c) => c.status === 'fail');
  const check = (checks: Check[], name: string) => {
    const found = checks.find((c) => c.name === name);
    expect(found, `no check named "${name}" in ${JSON.stringify(checks.map((c) => c.name))}`).toBeDefined();
    return found!;
  };

  /** The one check that failed; fails the test if any other failed too. */
  async function onlyFailure(setup: Setup): Promise<Check> {
    const answer = await verify(setup.prefix, setup.task.name as string);
    expect(answer.ok).toBe(false);
    const failed = failing(answer.checks);
    expect(failed, JSON.stringify(answer.checks, null, 2)).toHaveLength(1);
    return failed[0]!;
  }

  function cli(...args: string[]): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', ...args],
        { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY, NO_COLOR: '1' } },
        (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
      );
    });
  }

  it('passes a good Run Environment and Task: every check, through the API and the CLI', async () => {
    const setup = await goodSetup('good');
    await register(setup);
    const answer = await verify('good', 'good-etl');
    expect(answer).toMatchObject({ ok: true, run_environment: { name: 'good' }, task: { name: 'good-etl' } });
    expect(answer.checks.map((c) => c.name)).toEqual([
      'credentials',
      'cluster',
      'fargate capacity',
      'subnets',
      'security groups',
      'execution role',
      'task role',
      'log group',
      'secret API_TOKEN',
      'secret DB_PASSWORD',
      'image main',
      'fargate size',
    ]);
    for (const c of answer.checks) expect(c.status, `${c.name}: ${c.message}`).toBe('pass');
    expect(check(answer.checks, 'credentials').message).toMatch(/arn:aws:sts::123456789012:user\/moto/);
    expect(check(answer.checks, 'subnets').message).toBe(`${setup.subnets.join(', ')} in ${setup.vpcId}`);
    expect(check(answer.checks, 'fargate capacity').message).toMatch(/the cluster has FARGATE, FARGATE_SPOT/);
    expect(check(answer.checks, 'image main').message).toMatch(/good\/etl:1\.0 is in ECR \(sha256:/);
    // The same calls go through the endpoint the Run Environment names.
    expect(proxy.calls('GetCallerIdentity')).toBeGreaterThan(0);
    expect(proxy.calls('DescribeImages')).toBeGreaterThan(0);

    // Without a Task: the Run Environment's own checks (and its own secret).
    const envOnly = await verify('good');
    expect(envOnly.ok).toBe(true);
    expect(envOnly.task).toBeUndefined();
    expect(envOnly.checks.map((c) => c.name)).toContain('secret API_TOKEN');
    expect(envOnly.checks.map((c) => c.name)).not.toContain('image main');

    const text = await cli('verify', 'good', '--task', 'good-etl');
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    const checkLines = lines.slice(0, answer.checks.length);
    for (const line of checkLines) expect(line).toMatch(/^PASS {2}\S/);
    expect(checkLines[3]).toMatch(/^PASS {2}subnets {13}subnet-/);
    expect(lines[lines.length - 1]).toBe('Run Environment good, Task good-etl: ready (12 passed, 0 failed).');

    const json = await cli('verify', 'good', '--task', 'good-etl', '--json');
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.ok).toBe(true);
    expect(parsed.checks).toHaveLength(12);
  });

  it('fails only the subnets check when a subnet was deleted, and the CLI shows the fix and exits 1', async () => {
    const setup = await goodSetup('nosubnet');
    await register(setup);
    await ec2.send(new DeleteSubnetCommand({ SubnetId: setup.subnets[1]! }));
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({ name: 'subnets', message: `subnet ${setup.subnets[1]} does not exist in us-east-1` });
    expect(failed.fix).toMatch(new RegExp(`Remove ${setup.subnets[1]} from subnets of Run Environment "nosubnet"`));

    const text = await cli('verify', 'nosubnet', '--task', 'nosubnet-etl');
    expect(text.code).toBe(1);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('FAIL  subnets'));
    expect(at, text.stdout).toBeGreaterThan(0);
    expect(lines[at]).toContain(`subnet ${setup.subnets[1]} does not exist`);
    expect(lines[at + 1]).toMatch(/^ {6}\s+fix: Remove subnet-/);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toHaveLength(1);
    expect(text.stdout).toMatch(/nosubnet-etl: not ready \(11 passed, 1 failed\)\./);

    const json = await cli('verify', 'nosubnet', '--task', 'nosubnet-etl', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false });
  });

  it('fails only the security groups check for a group of another VPC', async () => {
    const setup = await goodSetup('othervpc');
    const other = await vpcWithSubnets(1);
    setup.env.security_groups = [other.securityGroup];
    await register(setup);
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({
      name: 'security groups',
      message: `${other.securityGroup} is in ${other.vpcId}, but the subnets are in ${setup.vpcId}`,
    });
    expect(failed.fix).toMatch(new RegExp(`Use security groups of ${setup.vpcId} in security_groups of Run Environment "othervpc"`));
  });

  it('fails only the execution role check for a role that does not exist', async () => {
    const setup = await goodSetup('norole');
    setup.env.execution_role_arn = `arn:aws:iam::${ACCOUNT}:role/norole-missing`;
    await register(setup);
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({ name: 'execution role', message: `IAM role norole-missing (execution_role_arn) does not exist in account ${ACCOUNT}` });
    expect(failed.fix).toMatch(/or correct execution_role_arn of Run Environment "norole"/);
  });

  it('fails only the task role check for a role whose trust policy does not name ecs-tasks', async () => {
    const setup = await goodSetup('badtrust');
    setup.env.task_role_arn = await role('badtrust-ec2-only', 'ec2.amazonaws.com');
    await register(setup);
    const failed = await onlyFailure(setup);
    expect(failed.name).toBe('task role');
    expect(failed.message).toMatch(/does not allow ecs-tasks\.amazonaws\.com to assume it \(it allows: Service ec2\.amazonaws\.com\)/);
    expect(failed.fix).toMatch(/"Principal": \{"Service": "ecs-tasks\.amazonaws\.com"\}/);
  });

  it('fails only that secret\'s check for a secret that does not exist', async () => {
    const setup = await goodSetup('nosecret');
    const missing = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:nosecret/gone-AbCdEf`;
    setup.task.secrets = { DB_PASSWORD: setup.secretArn, OLD_PASSWORD: missing };
    await register(setup);
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({ name: 'secret OLD_PASSWORD', message: `Secrets Manager secret nosecret/gone-AbCdEf does not exist in ${REGION} (account ${ACCOUNT})` });
    expect(failed.fix).toMatch(/or correct secrets\.OLD_PASSWORD of Task "nosecret-etl"/);
  });

  it('fails only the SSM parameter\'s check for a parameter that does not exist', async () => {
    const setup = await goodSetup('noparam');
    setup.env.secrets = { API_TOKEN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/noparam/gone` };
    await register(setup);
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({ name: 'secret API_TOKEN', message: `SSM parameter /noparam/gone does not exist in ${REGION} (account ${ACCOUNT})` });
    expect(failed.fix).toMatch(/or correct secrets\.API_TOKEN of Run Environment "noparam"/);
  });

  it('fails only the image check for a tag that is not in the ECR repository, and skips other registries', async () => {
    const setup = await goodSetup('notag');
    setup.task.image = setup.image.replace(/:1\.0$/, ':2.0');
    setup.task.sidecars = [{ name: 'proxy', image: 'public.ecr.aws/docker/library/busybox:1.36' }];
    await register(setup);
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({ name: 'image main', message: 'ECR repository notag/etl has no image with tag 2.0' });
    expect(failed.fix).toMatch(/or set image of Task "notag-etl" to one that exists/);
    const answer = await verify('notag', 'notag-etl');
    expect(check(answer.checks, 'image proxy')).toMatchObject({ status: 'skip', message: expect.stringMatching(/not in a private ECR registry/) });
  });

  it('leaves bad cpu/memory to validation, and catches a size a later platform_version makes invalid', async () => {
    const setup = await goodSetup('size');
    await register(setup);
    // An invalid pair never gets saved: validation refuses it before verify could see it.
    const refused = await t.request('POST', '/api/v1/tasks/', { ...setup.task, cpu: 256, memory: 4096 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(refused.body.error.details.issues)).toMatch(/memory 4096 MiB does not go with cpu 256/);
    // A valid 8 vCPU Task becomes invalid when the Run Environment is pinned to an old platform.
    expect((await t.request('PATCH', '/api/v1/tasks/size-etl', { cpu: 8192, memory: 16384 })).status).toBe(200);
    expect((await t.request('PATCH', '/api/v1/run_environments/size', { platform_version: '1.3.0' })).status).toBe(200);
    const failed = await onlyFailure(setup);
    expect(failed).toMatchObject({ name: 'fargate size', message: expect.stringMatching(/cpu 8192 needs Fargate platform version 1\.4\.0 or later/) });
  });

  it('reports an access-denied check as a failure that names the action, and still runs the others', async () => {
    const setup = await goodSetup('denied');
    await register(setup);
    proxy.inject({
      action: 'DescribeSecurityGroups',
      times: 1,
      respond: { status: 403, body: { __type: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' } },
    });
    const failed = await onlyFailure(setup);
    expect(failed.name).toBe('security groups');
    expect(failed.message).toMatch(/^AWS denied ec2:DescribeSecurityGroups: You are not authorized/);
    expect(failed.fix).toMatch(/Allow ec2:DescribeSecurityGroups for the credentials of berth server/);
  });

  it('assumes role_arn for every check and shows the assumed identity', async () => {
    const setup = await goodSetup('assumed');
    setup.env.role_arn = await role('assumed-control', 'ecs-tasks.amazonaws.com');
    await register(setup);
    proxy.resetCounts();
    const answer = await verify('assumed', 'assumed-etl');
    expect(failing(answer.checks)).toEqual([]);
    expect(check(answer.checks, 'credentials').message).toMatch(
      /^AWS accepts them: arn:aws:sts::123456789012:assumed-role\/assumed-control\/berth-control-plane \(assumed role_arn arn:aws:iam::123456789012:role\/assumed-control\)$/,
    );
    expect(proxy.calls('AssumeRole')).toBeGreaterThanOrEqual(1);
  });

  it('reports every check when AWS cannot be reached at endpoint_url, each with where it tried', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(port));
      });
    });
    const endpoint = `http://127.0.0.1:${closed}`;
    await register({
      env: {
        name: 'unreachable',
        kind: 'aws-ecs',
        region: REGION,
        cluster: 'berth',
        subnets: ['subnet-0a1b2c3d4e5f60718'],
        security_groups: ['sg-0123456789abcdef0'],
        execution_role_arn: `arn:aws:iam::${ACCOUNT}:role/berth-task-execution`,
        endpoint_url: endpoint,
      },
      task: { name: 'unreachable-etl', run_environment: 'unreachable', image: 'busybox', command: 'true' },
    });
    const answer = await verify('unreachable', 'unreachable-etl');
    expect(answer.ok).toBe(false);
    const byName = Object.fromEntries(answer.checks.map((c) => [c.name, c.status]));
    expect(byName).toEqual({
      credentials: 'fail',
      cluster: 'fail',
      'fargate capacity': 'skip',
      subnets: 'fail',
      'security groups': 'fail',
      'execution role': 'fail',
      'task role': 'skip',
      'log group': 'fail',
      secrets: 'skip',
      'image main': 'skip',
      'fargate size': 'pass',
    });
    for (const c of failing(answer.checks)) {
      expect(c.message).toMatch(/ECONNREFUSED/);
      expect(c.fix).toBe(`Check that AWS at ${endpoint} (endpoint_url) is reachable from the Berth server, then run verify again.`);
    }
  });

  it('answers 404 for unknown names, 400 for a Task of another Run Environment, 409 for a local one', async () => {
    const missingEnv = await t.request('POST', '/api/v1/run_environments/nope/verify', {});
    expect([missingEnv.status, missingEnv.body.error.code]).toEqual([404, 'RUN_ENVIRONMENT_NOT_FOUND']);
    const setup = await goodSetup('refs');
    await register(setup);
    const missingTask = await t.request('POST', '/api/v1/run_environments/refs/verify', { task: 'nope' });
    expect([missingTask.status, missingTask.body.error.code]).toEqual([404, 'TASK_NOT_FOUND']);

    await t.request('POST', '/api/v1/run_environments/', { name: 'on-host', kind: 'local' });
    await t.request('POST', '/api/v1/tasks/', { name: 'on-host-echo', run_environment: 'on-host', command: 'echo hi' });
    const elsewhere = await t.request('POST', '/api/v1/run_environments/refs/verify', { task: 'on-host-echo' });
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(elsewhere.body.error.details.issues[0].message).toMatch(/runs in Run Environment "on-host", not "refs"/);

    const local = await t.request('POST', '/api/v1/run_environments/on-host/verify', {});
    expect([local.status, local.body.error.code]).toEqual([409, 'UNSUPPORTED_FOR_KIND']);
    expect(local.body.error.message).toMatch(/Run Environment "on-host" is local/);

    const text = await cli('verify', 'on-host');
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(/^error: Run Environment "on-host" is local: .* \[UNSUPPORTED_FOR_KIND\]$/m);

    const reporter = await t.request('POST', '/api/v1/api_keys/', { name: 'verify-reporter', scope: 'reporter', run_environment: 'refs' });
    const forbidden = await t.request('POST', '/api/v1/run_environments/refs/verify', {}, reporter.body.key);
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'INSUFFICIENT_SCOPE']);
  });
});
