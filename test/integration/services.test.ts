/**
 * Services on ECS end to end against moto: `berth apply` of a load-balanced Service (the load
 * balancer stack's security groups, target group, load balancer and HTTPS listener checked
 * through EC2 and ELBv2 calls; the ECS service attached to the target group), a new image rolled
 * out with progress, scale, rollback, --dry-run, the below-minimum event and its resolution, the
 * Service's ECS tasks as executions, a vendor's raw task definition, and bad input refused before
 * any AWS call (counted by a proxy in front of moto).
 *
 * moto plays ECS's part only in part: it never starts a service's tasks nor finishes a rollout.
 * The test does that through test/fixtures/moto_server.py's service endpoint (`settle`), as ECS
 * would once the new tasks are healthy.
 */
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { IpPermission } from '@aws-sdk/client-ec2';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient, UploadServerCertificateCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli, spawnCli, writeFile } from '../cli/cli.js';
import { startAwsProxy } from '../support/aws-proxy.js';
import type { AwsProxy } from '../support/aws-proxy.js';
import { awsTestConfig, containerExited, motoAvailable, startEcsAccount } from '../support/moto.js';
import type { DefaultNetwork, Moto } from '../support/moto.js';
import { createLogger } from '../../src/server/logger.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';

const EXEC_ROLE = 'arn:aws:iam::123456789012:role/berth-task-execution';
const CLUSTER = 'berth';
const SERVICE = 'berth-web';
const WAIT = ['--poll-interval', '0.1', '--timeout', '60'];

/** The server's clock: real time plus what a test added (the below-minimum grace period). */
let clockOffset = 0;
/** The server's warnings and errors, as JSON lines. */
const serverLog: string[] = [];

describe.runIf(await motoAvailable())('Services on ECS against moto', () => {
  let moto: Moto;
  let proxy: AwsProxy;
  let net: DefaultNetwork;
  let ecs: ECSClient;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  let t: Awaited<ReturnType<typeof startTestServer>>;
  let files: ReturnType<typeof tempDir>;
  let certificateArn: string;
  let cliEnv: Record<string, string>;

  const envSpec = () => ({
    name: 'ecs',
    kind: 'aws-ecs',
    region: 'us-east-1',
    cluster: CLUSTER,
    subnets: net.subnets.slice(0, 1),
    security_groups: net.securityGroups.slice(0, 1),
    execution_role_arn: EXEC_ROLE,
    endpoint_url: proxy.endpoint,
    tags: { team: 'web' },
  });

  const webTask = (extra: Record<string, unknown> = {}, service: Record<string, unknown> = {}) => ({
    name: 'web',
    run_environment: 'ecs',
    image: 'public.ecr.aws/nginx/nginx:1.27',
    cpu: 512,
    memory: 1024,
    port_mappings: [{ container_port: 8080 }],
    service: {
      desired_count: 2,
      below_minimum_grace_seconds: 60,
      load_balancer: {
        container_port: 8080,
        allowed_cidrs: ['203.0.113.7/32', '198.51.100.0/24'],
        scheme: 'internet-facing',
        subnets: net.subnets.slice(0, 2),
        listener: { port: 443, protocol: 'HTTPS', certificate_arn: certificateArn, ssl_policy: 'ELBSecurityPolicy-TLS13-1-3-2021-06' },
        health_check: { path: '/healthz', interval_seconds: 15, timeout_seconds: 4, healthy_threshold: 2, unhealthy_threshold: 4, matcher: '200' },
      },
      ...service,
    },
    ...extra,
  });

  /** Writes a berth.yaml with the Run Environment and these Tasks. */
  const berthYaml = (name: string, tasks: unknown[]) => writeFile(files.dir, name, stringify({ run_environments: [envSpec()], tasks }));
  const berth = (args: string[]) => runCli(args, { env: cliEnv });

  async function ecsService() {
    const answer = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }));
    return answer.services?.find((s) => s.status !== 'INACTIVE') ?? null;
  }

  /** Plays ECS once the new tasks are healthy: one PRIMARY deployment of the service's revision, COMPLETED. */
  async function settle(taskDefinition?: string) {
    const current = await ecsService();
    const td = taskDefinition ?? current!.taskDefinition!;
    await moto.editService({
      service: SERVICE,
      runningCount: current!.desiredCount!,
      pendingCount: 0,
      deployments: [{ status: 'PRIMARY', taskDefinition: td, rolloutState: 'COMPLETED', rolloutStateReason: 'ECS deployment completed.', runningCount: current!.desiredCount! }],
      event: `(service ${SERVICE}) has reached a steady state.`,
    });
  }

  beforeAll(async () => {
    ({ moto, net, ecs } = await startEcsAccount(CLUSTER));
    proxy = await startAwsProxy(moto.endpoint);
    ec2 = new EC2Client(awsTestConfig(moto.endpoint));
    elb = new ElasticLoadBalancingV2Client(awsTestConfig(moto.endpoint));
    // moto's ELBv2 checks that an HTTPS listener's certificate exists (ACM or IAM).
    const iam = new IAMClient(awsTestConfig(moto.endpoint));
    const cert = await iam.send(
      new UploadServerCertificateCommand({
        ServerCertificateName: 'web-example-com',
        CertificateBody: '-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----',
        PrivateKey: '-----BEGIN RSA PRIVATE KEY-----\nMIIBtest\n-----END RSA PRIVATE KEY-----',
      }),
    );
    iam.destroy();
    certificateArn = cert.ServerCertificateMetadata!.Arn!;
    const logger = createLogger({ level: 'warn', format: 'json', write: (line) => serverLog.push(line) });
    // Loops every 250 ms: the Service watch pass calls moto each time.
    t = await startTestServer({ monitorIntervalMs: 250 }, { clock: { now: () => Date.now() + clockOffset }, logger });
    files = tempDir('berth-services-');
    cliEnv = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    // Background loops log what went wrong instead of failing a request: none of it here.
    expect(serverLog.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);
    ecs?.destroy();
    ec2?.destroy();
    elb?.destroy();
    files?.cleanup();
    await proxy?.stop();
    await moto?.stop();
  });

  it('bad input is refused with a clear message before any AWS call', async () => {
    const bad = berthYaml('bad.yaml', [
      webTask(
        { port_mappings: [{ container_port: 9000 }] },
        {
          load_balancer: {
            container_port: 8080,
            allowed_cidrs: ['203.0.113.7'],
            subnets: net.subnets.slice(0, 2),
            listener: { protocol: 'HTTPS' },
            health_check: { path: 'healthz' },
          },
        },
      ),
    ]);
    proxy.resetCounts();
    const result = await berth(['apply', '-f', bad]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('tasks[0].service.load_balancer.allowed_cidrs[0]: "203.0.113.7" is not a CIDR block: write an IPv4 address and a prefix length');
    expect(result.stderr).toContain('tasks[0].service.load_balancer.health_check.path: the health check path must start with "/"');
    // The schema problems come first; with them fixed, the cross-field ones show.
    const bad2 = berthYaml('bad2.yaml', [
      webTask({ port_mappings: [{ container_port: 9000 }] }, { load_balancer: { container_port: 8080, allowed_cidrs: ['203.0.113.7/32'], subnets: net.subnets.slice(0, 2), listener: { protocol: 'HTTPS' } } }),
    ]);
    const result2 = await berth(['apply', '-f', bad2]);
    expect(result2.code).not.toBe(0);
    expect(result2.stderr).toContain('tasks[0].service.load_balancer.listener.certificate_arn: an HTTPS listener needs certificate_arn');
    expect(result2.stderr).toContain('tasks[0].service.load_balancer.container_port: container port 8080 is not in the task definition: container "main" maps 9000');
    // The API refuses the same Task, and nothing reached AWS (nor the store).
    expect((await t.request('POST', '/api/v1/run_environments', envSpec())).status).toBe(201);
    const api = await t.request('POST', '/api/v1/tasks', { ...webTask({ port_mappings: [{ container_port: 9000 }] }) });
    expect(api.status).toBe(400);
    expect(JSON.stringify(api.body.error.details.issues)).toContain('container port 8080 is not in the task definition');
    expect(proxy.callLog()).toEqual([]);
    expect((await t.request('GET', '/api/v1/tasks/web')).status).toBe(404);
  });

  it('berth apply deploys the load balancer stack (rules exactly as promised) and the service attached to it, and waits for stability', async () => {
    const file = berthYaml('berth.yaml', [webTask()]);
    const cli = spawnCli(['apply', '-f', file, ...WAIT], { env: cliEnv });
    // ECS accepted the service: now play the rollout as ECS would.
    const created = await waitFor(async () => ecsService(), 'the ECS service', 30_000);
    await cli.waitForOutput(/IN_PROGRESS/, 'stderr');
    await settle(created.taskDefinition!);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('+ task web (create)');
    expect(result.stdout).toMatch(/\+ load balancer stack berth-web-lb \(create\)/);
    expect(result.stdout).toMatch(/\+ ECS service berth-web \(create\): berth-web:1, desired count 2/);
    expect(result.stderr).toContain('event: (service berth-web) has reached a steady state.');
    expect(result.stderr).toContain('✓ web: berth-web:1 is deployed: 2 running, 0 pending, 2 desired');

    const service = (await ecsService())!;
    expect(service.desiredCount).toBe(2);
    expect(service.taskDefinition).toMatch(/task-definition\/berth-web:1$/);
    const [tg] = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups!;
    expect(service.loadBalancers).toEqual([{ targetGroupArn: tg!.TargetGroupArn, containerName: 'main', containerPort: 8080 }]);

    // The target group: type ip, the container port, the health check as declared.
    expect(tg).toMatchObject({
      TargetType: 'ip',
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: net.vpcId,
      HealthCheckPath: '/healthz',
      HealthCheckIntervalSeconds: 15,
      HealthCheckTimeoutSeconds: 4,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 4,
      Matcher: { HttpCode: '200' },
    });
    // The load balancer and its HTTPS listener with the TLS policy, forwarding to the target group.
    const [lb] = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
    expect(lb).toMatchObject({ Type: 'application', Scheme: 'internet-facing', VpcId: net.vpcId });
    expect(lb!.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual(net.subnets.slice(0, 2).sort());
    const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb!.LoadBalancerArn }))).Listeners!;
    expect(listeners).toHaveLength(1);
    expect(listeners[0]).toMatchObject({
      Port: 443,
      Protocol: 'HTTPS',
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06',
      Certificates: [{ CertificateArn: certificateArn }],
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tg!.TargetGroupArn }],
    });

    // The security groups: the load balancer's reachable only from the allowed CIDRs on 443; the
    // service's only from the load balancer's group on 8080; the tasks get the service's group.
    expect(lb!.SecurityGroups).toHaveLength(1);
    const lbGroupId = lb!.SecurityGroups![0]!;
    const serviceGroups = service.networkConfiguration!.awsvpcConfiguration!.securityGroups!;
    expect(serviceGroups).toHaveLength(2);
    expect(serviceGroups[0]).toBe(net.securityGroups[0]);
    const serviceGroupId = serviceGroups[1]!;
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [lbGroupId, serviceGroupId] }))).SecurityGroups!;
    const rules = (id: string): IpPermission[] => groups.find((g) => g.GroupId === id)!.IpPermissions!;
    const ingress = (perms: IpPermission[]) =>
      perms.flatMap((p) => [
        ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol} ${p.FromPort}-${p.ToPort} from ${r.CidrIp}`),
        ...(p.UserIdGroupPairs ?? []).map((g) => `${p.IpProtocol} ${p.FromPort}-${p.ToPort} from ${g.GroupId}`),
      ]);
    expect(ingress(rules(lbGroupId)).sort()).toEqual(['tcp 443-443 from 198.51.100.0/24', 'tcp 443-443 from 203.0.113.7/32']);
    expect(ingress(rules(serviceGroupId))).toEqual([`tcp 8080-8080 from ${lbGroupId}`]);
    // (The load balancer group's one egress rule, to the service's group on 8080, is in the
    // template; moto's CloudFormation ignores SecurityGroupEgress: see the template test.)

    // ls and show tell the same story.
    const show = await berth(['services', 'show', 'web']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/Health:\s+healthy/);
    expect(show.stdout).toMatch(/Counts:\s+2 running, 0 pending, 2 desired, minimum 2/);
    expect(show.stdout).toContain('berth-web:1');
    expect(show.stdout).toContain('(service berth-web) has reached a steady state.');
    await waitFor(async () => (await t.request('GET', '/api/v1/services')).body.results[0]?.running_count === 2, 'the monitor to observe the service');
    const ls = await berth(['services', 'ls']);
    expect(ls.stdout).toMatch(/web\s+healthy\s+2\s+2\s+2\s+berth-web:1/);
  }, 90_000);

  it('--dry-run shows what a new image would change and changes nothing', async () => {
    const before = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'berth-web' }))).taskDefinitionArns;
    const taskBefore = (await t.request('GET', '/api/v1/tasks/web')).body;
    proxy.resetCounts();
    const file = berthYaml('berth-v2.yaml', [webTask({ image: 'public.ecr.aws/nginx/nginx:1.28' })]);
    const result = await berth(['apply', '-f', file, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('~ task web (update)');
    expect(result.stdout).toContain('image: "public.ecr.aws/nginx/nginx:1.27" → "public.ecr.aws/nginx/nginx:1.28"');
    expect(result.stdout).toMatch(/Service web would change:\n\s+= load balancer stack berth-web-lb \(unchanged\)/);
    expect(result.stdout).toMatch(/\+ task definition berth-web \(create\): a new revision/);
    expect(result.stdout).toMatch(/~ ECS service berth-web \(update\): berth-web:1 → new revision/);
    // Nothing changed: no registration, no service update, no stack update, the stored Task as it was.
    const writes = proxy.callLog().filter((c) => /^(Register|Create|Update|Put|Delete|Deregister)/.test(c.action));
    expect(writes).toEqual([]);
    expect((await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: 'berth-web' }))).taskDefinitionArns).toEqual(before);
    expect((await ecsService())!.taskDefinition).toMatch(/berth-web:1$/);
    expect((await t.request('GET', '/api/v1/tasks/web')).body).toEqual(taskBefore);
  });

  it('a new image deploys a new revision and waits with progress; scale changes the desired count; rollback restores the previous revision', async () => {
    const file = berthYaml('berth-v2.yaml', [webTask({ image: 'public.ecr.aws/nginx/nginx:1.28' })]);
    const cli = spawnCli(['apply', '-f', file, ...WAIT], { env: cliEnv });
    const updated = await waitFor(async () => {
      const s = await ecsService();
      return s?.taskDefinition?.endsWith(':2') ? s : null;
    }, 'the new revision', 30_000);
    // Mid-rollout, as ECS reports it: the new deployment starting copies, the old one still serving.
    await moto.editService({
      service: SERVICE,
      runningCount: 3,
      pendingCount: 1,
      deployments: [
        { status: 'PRIMARY', taskDefinition: updated.taskDefinition!, rolloutState: 'IN_PROGRESS', runningCount: 1, pendingCount: 1 },
        { status: 'ACTIVE', taskDefinition: updated.taskDefinition!.replace(/:2$/, ':1'), rolloutState: 'COMPLETED', runningCount: 2 },
      ],
      event: `(service ${SERVICE}) has started 2 tasks: (task 0a1b) (task 2c3d).`,
    });
    await cli.waitForOutput(/has started 2 tasks/, 'stderr', 30_000);
    await settle();
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/~ task definition berth-web:2 \(update\): berth-web:1 → berth-web:2/);
    expect(result.stderr).toMatch(/web: IN_PROGRESS berth-web:2 — 3 running, 1 pending, 2 desired \(2 deployments\)/);
    expect(result.stderr).toContain('✓ web: berth-web:2 is deployed');
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'berth-web:2' }));
    expect(td.taskDefinition!.containerDefinitions![0]!.image).toBe('public.ecr.aws/nginx/nginx:1.28');

    const scaled = await berth(['services', 'scale', 'web', '3', ...WAIT]);
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stdout).toContain('~ ECS service berth-web (update): desired count 2 → 3');
    expect((await ecsService())!.desiredCount).toBe(3);

    const back = spawnCli(['services', 'rollback', 'web', ...WAIT], { env: cliEnv });
    await waitFor(async () => ((await ecsService())?.taskDefinition?.endsWith(':1') ? true : null), 'the rollback', 30_000);
    await settle();
    const rolled = await back.exited;
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain('~ ECS service berth-web (update): berth-web:2 → berth-web:1');
    expect(rolled.stderr).toContain('✓ web: berth-web:1 is deployed');
    const shown = (await t.request('GET', '/api/v1/services/web')).body;
    expect(shown).toMatchObject({ health: 'healthy', desired_count: 3 });
    expect(shown.deployed_task_definition).toMatch(/berth-web:1$/);
    expect(shown.previous_task_definition).toMatch(/berth-web:2$/);
  }, 120_000);

  it('a failed rollout ends the wait with the reason and the last service events', async () => {
    const file = berthYaml('berth-v3.yaml', [webTask({ image: 'public.ecr.aws/nginx/nginx:broken' })]);
    const cli = spawnCli(['apply', '-f', file, ...WAIT], { env: cliEnv });
    const updated = await waitFor(async () => {
      const s = await ecsService();
      return s?.taskDefinition?.endsWith(':3') ? s : null;
    }, 'revision 3', 30_000);
    await moto.editService({
      service: SERVICE,
      deployments: [
        {
          status: 'PRIMARY',
          taskDefinition: updated.taskDefinition!,
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          failedTasks: 3,
        },
      ],
      event: `(service ${SERVICE}) is unable to consistently start tasks successfully.`,
    });
    const result = await cli.exited;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      '✗ web: the deployment failed: ECS deployment circuit breaker: tasks failed to start. (last service event: (service berth-web) is unable to consistently start tasks successfully.)',
    );
    expect(result.stderr).toContain('Service(s) not deployed as asked');
    // Back to a good revision for the next tests.
    const back = spawnCli(['services', 'rollback', 'web', '--no-wait'], { env: cliEnv });
    expect((await back.exited).code).toBe(0);
    await settle();
  }, 90_000);

  it('a Service whose running count stays below its minimum raises the event, and its resolution when it is back', async () => {
    const desired = (await ecsService())!.desiredCount!;
    await moto.editService({ service: SERVICE, runningCount: 1, pendingCount: 0, event: `(service ${SERVICE}) task 0a1b stopped: Essential container exited.` });
    // The monitor saw it (the stored observation, not a live look): the spell starts now.
    await waitFor(async () => (await t.request('GET', '/api/v1/services')).body.results.find((x: any) => x.task.name === 'web')?.below_minimum_since ?? null, 'the monitor to see the service below its minimum', 30_000);
    expect((await t.request('GET', '/api/v1/services/web')).body.health).toBe('below_minimum');
    // Within the grace period (60 s): no event yet.
    const events = async (type: string) => (await t.request('GET', `/api/v1/events?type=${type}`)).body.results.filter((e: any) => e.task?.name === 'web');
    expect(await events('SERVICE_BELOW_DESIRED_COUNT')).toEqual([]);
    clockOffset += 61_000;
    const [raised] = await waitFor(async () => {
      const found = await events('SERVICE_BELOW_DESIRED_COUNT');
      return found.length ? found : null;
    }, `the below-minimum event (server log: ${serverLog.join('\n')})`);
    expect(raised.message).toMatch(new RegExp(`^Service "web" has run 1 of its minimum 2 copies \\(desired ${desired}\\) since \\S+\\. Last service event: \\(service berth-web\\) task 0a1b stopped: Essential container exited\\.$`));
    expect(raised.details).toMatchObject({ running_count: 1, desired_count: desired, minimum_healthy_count: 2 });
    // Still below on later cycles: still one event.
    await new Promise((r) => setTimeout(r, 500));
    expect(await events('SERVICE_BELOW_DESIRED_COUNT')).toHaveLength(1);
    await moto.editService({ service: SERVICE, runningCount: desired });
    const [resolved] = await waitFor(async () => {
      const found = await events('RESOLVED');
      return found.length ? found : null;
    }, 'the resolution', 30_000);
    expect(resolved.message).toBe(`Service "web" is back to ${desired} running (minimum 2).`);
    expect((await t.request('GET', '/api/v1/services/web')).body.health).toBe('healthy');
  }, 60_000);

  it('the Service\'s ECS tasks appear as executions and end like any other', async () => {
    const service = (await ecsService())!;
    // What ECS does for the service: tasks in group service:<name>.
    const run = await ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: service.taskDefinition!,
        count: 2,
        launchType: 'FARGATE',
        group: `service:${SERVICE}`,
        startedBy: 'ecs-svc/1234567890123456',
        networkConfiguration: { awsvpcConfiguration: { subnets: net.subnets.slice(0, 1), securityGroups: net.securityGroups.slice(0, 1) } },
      }),
    );
    const arns = run.tasks!.map((x) => x.taskArn!);
    // Another task in the cluster is not the service's.
    await ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: service.taskDefinition!,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: net.subnets.slice(0, 1), securityGroups: net.securityGroups.slice(0, 1) } },
      }),
    );
    await moto.editService({ service: SERVICE, runningCount: 5 });
    const executions = await waitFor(async () => {
      const page = (await t.request('GET', '/api/v1/task_executions?task=web')).body.results.filter((e: any) => e.run_reason === 'SERVICE');
      return page.length >= 2 ? page : null;
    }, 'the service tasks as executions');
    expect(executions).toHaveLength(2);
    expect(executions.map((e: any) => e.executor.details.task_arn).sort()).toEqual([...arns].sort());
    expect(executions.every((e: any) => e.status === 'RUNNING')).toBe(true);
    // One copy exits: its execution ends with the exit code, like any other execution.
    await containerExited(moto, arns[0]!, 137);
    const uuid = executions.find((e: any) => e.executor.details.task_arn === arns[0]).uuid;
    const ended = await waitFor(async () => {
      const e = (await t.request('GET', `/api/v1/task_executions/${uuid}`)).body;
      return e.status === 'FAILED' ? e : null;
    }, 'the copy to end');
    expect(ended.exit_code).toBe(137);
    // Listed again on later cycles: still two executions, never one more per pass.
    await new Promise((r) => setTimeout(r, 500));
    const again = (await t.request('GET', '/api/v1/task_executions?task=web')).body.results.filter((e: any) => e.run_reason === 'SERVICE');
    expect(again).toHaveLength(2);
  }, 60_000);

  it('a vendor\'s raw task definition (supervisord, a healthCheck, JSON in an environment variable) is deployed with that JSON byte for byte', async () => {
    const config = '{"agents": [{"name": "support", "port": 7000, "tools": ["search", "tickets"]}],\n  "greeting": "Grüezi \\u00e9", "limits": {"rps": 2.50}}';
    const vendor = {
      family: 'vendor-agent',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '1024',
      memory: '2048',
      containerDefinitions: [
        {
          name: 'agent',
          image: 'vendor/agent:3.2.1',
          essential: true,
          command: ['/usr/bin/supervisord', '-n', '-c', '/etc/supervisor/supervisord.conf'],
          portMappings: [{ containerPort: 7000, hostPort: 7000, protocol: 'tcp' }],
          healthCheck: { command: ['CMD-SHELL', 'curl -fsS http://localhost:7000/health || exit 1'], interval: 30, timeout: 5, retries: 3, startPeriod: 60 },
          environment: [
            { name: 'AGENT_CONFIG', value: config },
            { name: 'LOG_LEVEL', value: 'info' },
          ],
        },
      ],
    };
    writeFile(files.dir, 'vendor-agent.json', JSON.stringify(vendor, null, 2));
    const file = writeFile(
      files.dir,
      'agent.yaml',
      stringify({
        run_environments: [envSpec()],
        tasks: [{ name: 'agent', run_environment: 'ecs', task_definition_file: 'vendor-agent.json', service: { desired_count: 1 } }],
      }),
    );
    const cli = spawnCli(['apply', '-f', file, ...WAIT], { env: cliEnv });
    const created = await waitFor(async () => {
      const answer = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['berth-agent'] }));
      return answer.services?.[0] ?? null;
    }, 'the agent service', 30_000);
    await moto.editService({
      service: 'berth-agent',
      runningCount: 1,
      deployments: [{ status: 'PRIMARY', taskDefinition: created.taskDefinition!, rolloutState: 'COMPLETED', runningCount: 1 }],
    });
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    const td = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: created.taskDefinition! }))).taskDefinition!;
    const agent = td.containerDefinitions!.find((c) => c.name === 'agent')!;
    expect(agent.environment!.find((e) => e.name === 'AGENT_CONFIG')!.value).toBe(config);
    expect(agent.command).toEqual(['/usr/bin/supervisord', '-n', '-c', '/etc/supervisor/supervisord.conf']);
    expect(agent.healthCheck).toMatchObject({ command: ['CMD-SHELL', 'curl -fsS http://localhost:7000/health || exit 1'], startPeriod: 60 });
    // And the stored Task keeps it too.
    const stored = (await t.request('GET', '/api/v1/tasks/agent')).body;
    expect(stored.task_definition.containerDefinitions[0].environment[0].value).toBe(config);
  }, 60_000);

  it('prints the load balancer template with the Service\'s parameters', async () => {
    const result = await berth(['services', 'template', 'web']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Type: AWS::ElasticLoadBalancingV2::Listener');
    expect(result.stderr).toContain('Stack name: berth-web-lb');
    const params = await berth(['services', 'template', 'web', '--parameters']);
    expect(params.stdout).toContain('AllowedCidr1=203.0.113.7/32 ');
    expect(params.stdout).toContain(`VpcId=${net.vpcId}`);
    expect(params.stdout).toContain('SslPolicy=ELBSecurityPolicy-TLS13-1-3-2021-06');
    // A dry run of one Service: reads only. (It was rolled back from the Task's own, broken
    // image, so a deploy would roll forward to a revision of the Task's definition again.)
    proxy.resetCounts();
    const plan = await berth(['services', 'deploy', 'web', '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/= load balancer stack berth-web-lb \(unchanged\)/);
    expect(plan.stdout).toMatch(/\+ task definition berth-web \(create\): a new revision/);
    expect(plan.stdout).toMatch(/~ ECS service berth-web \(update\): berth-web:2 → new revision\n/);
    expect(plan.stderr).toContain('Dry run: nothing was changed.');
    expect(proxy.callLog().filter((c) => /^(Register|Create|Update|Put|Delete|Deregister)/.test(c.action))).toEqual([]);
    const notService = await berth(['services', 'deploy', 'nope']);
    expect(notService.code).not.toBe(0);
    expect(notService.stderr).toContain('No Task named or with uuid "nope"');
  });
});
