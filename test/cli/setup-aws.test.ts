/**
 * `berth setup aws` non-interactive, end to end against moto and a real Berth server: an empty
 * account → stacks, Run Environment, a Task that runs; a re-run that changes nothing; --dry-run;
 * missing and invalid answers; resume after an interrupted run (and the External ID read back
 * from Berth); reuse of an existing VPC and cluster; a state file without secrets.
 */
import { DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, ModifyVpcAttributeCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeClustersCommand } from '@aws-sdk/client-ecs';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSetupHarness, ACCESS_KEY_ID, SECRET_ACCESS_KEY } from '../fixtures/setup-aws-harness.js';
import type { Harness } from '../fixtures/setup-aws-harness.js';
import { containerExited, motoAvailable } from '../support/moto.js';
import { TEST_ADMIN_KEY } from '../support/server.js';
import { waitFor } from '../support/temp.js';
import { writeFile } from './cli.js';

const ACCOUNT = '123456789012'; // moto's

describe.runIf(await motoAvailable())('berth setup aws (non-interactive, against moto)', () => {
  let h: Harness;
  let answersDir: string;

  beforeAll(async () => {
    h = await startSetupHarness();
    answersDir = fs.mkdtempSync(path.join(h.home, 'answers-'));
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  const answersFile = (name: string, text: string) => writeFile(answersDir, name, text);
  const statePath = (runEnv: string) => path.join(h.home, 'berth', `setup-aws-${runEnv}.json`);
  const getEnv = async (name: string) => (await h.t.request('GET', `/api/v1/run_environments/${name}`)).body;

  const PROD_ANSWERS = `# the answers for an empty account
run_environment: prod
region: us-east-1
cluster: create
network: create
availability_zones: [us-east-1a, us-east-1b]
nat_gateways: Single
`;

  it('a missing answer is an error that names it (exit 2), and nothing is created', async () => {
    const before = await h.snapshot();
    const missing = await h.wizard(['--run-env', 'prod', '--region', 'us-east-1', '--yes']);
    expect(missing.code, missing.stderr).toBe(2);
    expect(missing.stderr).toMatch(/missing answer "network"/);
    expect(missing.stderr).toMatch(/--set network=/);

    const noZones = await h.wizard(['--run-env', 'prod', '--region', 'us-east-1', '--set', 'network=create', '--yes']);
    expect(noZones.code, noZones.stderr).toBe(2);
    expect(noZones.stderr).toMatch(/missing answer "availability_zones"/);

    const invalid = await h.wizard(['--answers', answersFile('bad-region.yaml', PROD_ANSWERS.replace('us-east-1\n', 'moon-1\n')), '--yes']);
    expect(invalid.code, invalid.stderr).toBe(2);
    expect(invalid.stderr).toMatch(/answer "region" \(from .*bad-region\.yaml\) is invalid: "moon-1" is not an AWS region code/);

    const badZone = await h.wizard(['--answers', answersFile('bad-zone.yaml', PROD_ANSWERS.replace('us-east-1b]', 'us-east-1z]')), '--yes']);
    expect(badZone.code, badZone.stderr).toBe(2);
    expect(badZone.stderr).toMatch(/answer "availability_zones".*us-east-1z is not one of the zone names listed/);

    const unknownKey = await h.wizard(['--answers', answersFile('unknown.yaml', `${PROD_ANSWERS}colour: blue\n`)]);
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.stderr).toMatch(/unknown answer "colour"/);

    // Without --yes a non-interactive run cannot confirm the plan.
    const unconfirmed = await h.wizard(['--answers', answersFile('prod.yaml', PROD_ANSWERS)]);
    expect(unconfirmed.code, unconfirmed.stderr).toBe(2);
    expect(unconfirmed.stderr).toMatch(/add --yes/);

    expect(await h.snapshot()).toEqual(before);
    expect(fs.existsSync(statePath('prod'))).toBe(false);
  });

  it('--dry-run prints the plan with every parameter and creates nothing', async () => {
    const before = await h.snapshot();
    const envsBefore = (await h.t.request('GET', '/api/v1/run_environments')).body.count;
    const dry = await h.wizard(['--answers', answersFile('prod.yaml', PROD_ANSWERS), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/stack berth-prod-network \(network\.yaml\): create/);
    expect(dry.stdout).toMatch(/AvailabilityZone1: us-east-1a/);
    expect(dry.stdout).toMatch(/NatGateways: Single/);
    expect(dry.stdout).toMatch(/stack berth-prod-cluster \(cluster\.yaml\): create/);
    expect(dry.stdout).toMatch(/ClusterName: berth-prod/);
    expect(dry.stdout).toMatch(/CreateCluster: true/);
    expect(dry.stdout).toMatch(/stack berth-prod-control-role \(control-role\.yaml\): create/);
    expect(dry.stdout).toMatch(/RoleName: berth-prod-control/);
    expect(dry.stdout).toMatch(/ExternalId: \(hidden\)/);
    expect(dry.stderr).toMatch(/Dry run: nothing was created or changed/);

    const json = await h.wizard(['--answers', answersFile('prod.yaml', PROD_ANSWERS), '--dry-run', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const plan = JSON.parse(json.stdout);
    expect(plan).toMatchObject({ dry_run: true, run_environment: 'prod', account: ACCOUNT, state_file: null });
    expect(plan.plan.network).toMatchObject({ name: 'berth-prod-network', action: 'create', parameters: { AvailabilityZone2: 'us-east-1b' } });

    expect(await h.snapshot()).toEqual(before);
    expect((await h.t.request('GET', '/api/v1/run_environments')).body.count).toBe(envsBefore);
    expect(fs.existsSync(statePath('prod'))).toBe(false);
  });

  it('an empty account: creates network, cluster and control role, registers the Run Environment, and a Task runs on it', async () => {
    const run = await h.wizard(['--answers', answersFile('prod.yaml', PROD_ANSWERS), '--yes']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/Run Environment "prod" is set up/);
    expect(run.stdout).toMatch(/Network\s+created\s+berth-prod-network/);
    // Progress: the stack events as they arrive.
    expect(run.stderr).toMatch(/CREATE_COMPLETE\s+AWS::CloudFormation::Stack\s+berth-prod-network/);

    // The stacks, and what they made, through CloudFormation, EC2, ECS and IAM.
    const network = await h.stackOutputs('berth-prod-network');
    const cluster = await h.stackOutputs('berth-prod-cluster');
    const control = await h.stackOutputs('berth-prod-control-role');
    const snapshot = await h.snapshot();
    expect(snapshot.stacks.map((s) => [s.name, s.status])).toEqual([
      ['berth-prod-cluster', 'CREATE_COMPLETE'],
      ['berth-prod-control-role', 'CREATE_COMPLETE'],
      ['berth-prod-network', 'CREATE_COMPLETE'],
    ]);
    expect(snapshot.vpcs).toContain(network.VpcId);
    const privateSubnets = network.PrivateSubnetIds!.split(',');
    expect(privateSubnets).toHaveLength(2);
    for (const id of privateSubnets) expect(snapshot.subnets).toContain(id);
    const clusters = await h.ecs.send(new DescribeClustersCommand({ clusters: ['berth-prod'] }));
    expect(clusters.clusters?.[0]?.status).toBe('ACTIVE');
    const role = (await h.iam.send(new GetRoleCommand({ RoleName: 'berth-prod-control' }))).Role!;
    expect(role.Arn).toBe(`arn:aws:iam::${ACCOUNT}:role/berth-prod-control`);
    expect(control.RoleArn).toBe(role.Arn);
    expect(snapshot.roles).toEqual(expect.arrayContaining([cluster.ExecutionRoleArn!.split('/')[1], cluster.TaskRoleArn!.split('/')[1]]));

    // The Run Environment, through the API.
    const env = await getEnv('prod');
    expect(env).toMatchObject({
      kind: 'aws-ecs',
      region: 'us-east-1',
      cluster: 'berth-prod',
      subnets: privateSubnets,
      security_groups: [network.TaskSecurityGroupId],
      assign_public_ip: false,
      execution_role_arn: cluster.ExecutionRoleArn,
      task_role_arn: cluster.TaskRoleArn,
      log_group: '/berth/prod',
      role_arn: role.Arn,
      endpoint_url: h.moto.endpoint,
    });
    expect(env.external_id).toMatch(/^berth-[0-9a-f]{40}$/);
    // The control role trusts exactly that External ID (moto shows NoEcho parameters in clear).
    expect((await h.stackParameters('berth-prod-control-role')).ExternalId).toBe(env.external_id);
    expect(decodeURIComponent(role.AssumeRolePolicyDocument ?? '')).toContain(env.external_id);

    // The state file: answers and outputs, no secrets.
    const stateText = fs.readFileSync(statePath('prod'), 'utf8');
    const state = JSON.parse(stateText);
    expect(state).toMatchObject({ run_environment: 'prod', finished: true, answers: { network: 'create', availability_zones: 'us-east-1a,us-east-1b' } });
    for (const secret of [ACCESS_KEY_ID, SECRET_ACCESS_KEY, env.external_id, TEST_ADMIN_KEY]) expect(stateText).not.toContain(secret);
    expect(stateText).not.toMatch(/(AKIA|ASIA)[A-Z0-9]{12,}/);
    expect(stateText).not.toMatch(/external_?id"?\s*:/i);
    expect((fs.statSync(statePath('prod')).mode & 0o077).toString(8)).toBe('0');

    // A Task on it runs: berth apply, berth run --wait, the ECS task finishes, the CLI exits 0.
    await h.enableDnsHostnames(network.VpcId!);
    const berthYaml = writeFile(
      answersDir,
      'berth.yaml',
      `tasks:
  - name: hello-aws
    run_environment: prod
    image: public.ecr.aws/docker/library/busybox:1.36
    command: echo hello from Fargate
    cpu: 256
    memory: 512
`,
    );
    const applied = await h.berth(['apply', '-f', berthYaml]);
    expect(applied.code, applied.stderr).toBe(0);
    // berth verify passes on what the wizard built, for the Run Environment and the Task.
    const verified = await h.berth(['verify', 'prod', '--task', 'hello-aws']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/subnets/);
    expect(verified.stdout).not.toMatch(/FAIL/);
    const running = h.spawnBerth(['run', 'hello-aws', '--wait']);
    const taskArn = await waitFor(async () => {
      const page = (await h.t.request('GET', '/api/v1/task_executions?task=hello-aws')).body;
      const execution = page.results?.[0];
      if (execution?.status === 'FAILED') throw new Error(`the execution failed: ${JSON.stringify(execution.failure ?? execution)}`);
      return execution?.executor?.details?.task_arn as string | undefined;
    }, 'the ECS task of hello-aws', 30_000);
    expect(taskArn).toMatch(/:task\/berth-prod\//);
    await containerExited(h.moto, taskArn, 0);
    const result = await running.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/SUCCEEDED/);
  });

  it('run again with the same answers: nothing changes, and it says there was nothing to do', async () => {
    const before = await h.snapshot();
    const envBefore = await getEnv('prod');
    // No --yes: with nothing to do there is nothing to confirm.
    const again = await h.wizard(['--answers', answersFile('prod.yaml', PROD_ANSWERS)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Nothing to do/);
    expect(again.stdout).toMatch(/Network\s+unchanged/);
    expect(again.stdout).toMatch(/Control role\s+unchanged/);
    const after = await h.snapshot();
    expect(after).toEqual(before); // same stacks, statuses, last-updated times, event counts, VPCs, clusters, roles
    expect(await getEnv('prod')).toEqual(envBefore); // not even updated_at moved

    // The saved answers alone (no answers file) are enough for a re-run.
    const fromState = await h.wizard(['--run-env', 'prod']);
    expect(fromState.code, fromState.stderr).toBe(0);
    expect(fromState.stdout).toMatch(/Nothing to do/);
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses to switch the stack away from the cluster it created (that would delete the cluster)', async () => {
    await h.ecs.send(new CreateClusterCommand({ clusterName: 'other-cluster' }));
    const before = await h.snapshot();
    const switched = await h.wizard(['--answers', answersFile('prod.yaml', PROD_ANSWERS), '--set', 'cluster=existing', '--set', 'cluster_name=other-cluster', '--yes']);
    expect(switched.code, switched.stderr).toBe(2);
    expect(switched.stderr).toMatch(/created the cluster berth-prod; using another cluster would make CloudFormation delete berth-prod/);
    expect(await h.snapshot()).toEqual(before);
  });

  it('an interrupted setup continues from its state file; the External ID comes back from Berth', async () => {
    // A reporter key can read but not register a Run Environment: the run stops after the stacks.
    const key = await h.t.request('POST', '/api/v1/api_keys', { name: 'read-only', scope: 'reporter' });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    const answers = answersFile('resume.yaml', PROD_ANSWERS.replace('run_environment: prod', 'run_environment: resumed').replace('us-east-1b', 'us-east-1c'));
    const first = await h.wizard(['--answers', answers, '--yes'], { env: { BERTH_API_KEY: key.body.key } });
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/FORBIDDEN|scope|not allowed/i);
    const saved = JSON.parse(fs.readFileSync(statePath('resumed'), 'utf8'));
    expect(saved.finished).toBe(false);
    expect(Object.keys(saved.steps).sort()).toEqual(['cluster', 'network']);
    expect(fs.readFileSync(statePath('resumed'), 'utf8')).not.toContain(key.body.key);
    expect(await h.stackExists('berth-resumed-control-role')).toBe(false);
    const stacksBefore = (await h.snapshot()).stacks.filter((s) => s.name.startsWith('berth-resumed-'));

    // Continue: only the name, no answers file; the stacks already made are left alone.
    const resumed = await h.wizard(['--run-env', 'resumed', '--yes']);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stderr).toMatch(/Continuing the setup saved in .*setup-aws-resumed\.json/);
    expect(resumed.stdout).toMatch(/Network\s+unchanged/);
    expect(resumed.stdout).toMatch(/Cluster\s+unchanged/);
    expect(resumed.stdout).toMatch(/Run Env\.\s+created/);
    expect(resumed.stdout).toMatch(/Control role\s+created/);
    const stacksAfter = (await h.snapshot()).stacks.filter((s) => s.name.startsWith('berth-resumed-'));
    expect(stacksAfter.filter((s) => s.name !== 'berth-resumed-control-role')).toEqual(stacksBefore);
    const env = await getEnv('resumed');
    expect((await h.stackParameters('berth-resumed-control-role')).ExternalId).toBe(env.external_id);
    expect(JSON.parse(fs.readFileSync(statePath('resumed'), 'utf8')).finished).toBe(true);

    // Lose the control-role stack: the next run makes it again with the External ID it reads
    // back from the Run Environment (the state file has none).
    await h.cfn.send(new DeleteStackCommand({ StackName: 'berth-resumed-control-role' }));
    await waitFor(async () => !(await h.stackExists('berth-resumed-control-role')), 'the control-role stack to go');
    const repaired = await h.wizard(['--run-env', 'resumed', '--yes']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/Control role\s+created/);
    expect(repaired.stdout).toMatch(/Run Env\.\s+unchanged/);
    expect((await h.stackParameters('berth-resumed-control-role')).ExternalId).toBe(env.external_id);
    expect((await getEnv('resumed')).external_id).toBe(env.external_id);
  });

  it('reuses an existing VPC (subnets, security group) and an existing cluster', async () => {
    const vpc = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.90.0.0/16' }))).Vpc!.VpcId!;
    await h.ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc, EnableDnsHostnames: { Value: true } }));
    const subnetA = (await h.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.90.1.0/24', AvailabilityZone: 'us-east-1a' }))).Subnet!.SubnetId!;
    const subnetB = (await h.ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.90.2.0/24', AvailabilityZone: 'us-east-1b' }))).Subnet!.SubnetId!;
    const group = (await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'tasks', Description: 'tasks' }))).GroupId!;
    await h.ecs.send(new CreateClusterCommand({ clusterName: 'analytics' }));
    const before = await h.snapshot();

    const answers = answersFile(
      'reuse.json',
      JSON.stringify({
        run_environment: 'reuse',
        region: 'us-east-1',
        cluster: 'existing',
        cluster_name: 'analytics',
        network: 'existing',
        vpc,
        subnets: [subnetA, subnetB],
        security_groups: [group],
        assign_public_ip: false,
      }),
    );
    const dry = await h.wizard(['--answers', answers, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`existing VPC ${vpc}: nothing to create`));
    expect(dry.stdout).toMatch(/uses your cluster analytics \(creates no cluster\)/);

    const run = await h.wizard(['--answers', answers, '--yes']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/Network\s+existing/);
    expect(await h.stackExists('berth-reuse-network')).toBe(false);
    expect(await h.stackResourceTypes('berth-reuse-cluster')).not.toContain('AWS::ECS::Cluster');
    expect((await h.stackParameters('berth-reuse-cluster')).CreateCluster).toBe('false');
    const after = await h.snapshot();
    expect(after.vpcs).toEqual(before.vpcs);
    expect(after.subnets).toEqual(before.subnets);
    expect(after.clusters).toEqual(before.clusters);
    expect(after.stacks.map((s) => s.name).filter((n) => n.startsWith('berth-reuse-'))).toEqual(['berth-reuse-cluster', 'berth-reuse-control-role']);

    const env = await getEnv('reuse');
    expect(env).toMatchObject({ cluster: 'analytics', subnets: [subnetA, subnetB], security_groups: [group], assign_public_ip: false });
    expect((await h.stackParameters('berth-reuse-control-role')).ClusterName).toBe('analytics');
  });
});
