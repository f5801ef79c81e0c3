/**
 * The aws-ecs part of `npm run bench`:
 * - AWS calls per observe cycle with 100, 1,000 and 10,000 running tasks, counted at the HTTP
 *   layer (a proxy), next to what a one-DescribeTasks-per-task design needs.
 * - Control-plane time per launch: a built `berth server` launching executions into moto.
 *
 * 100 and 1,000 tasks are real moto tasks. moto's DescribeTasks scans every task it holds for
 * each ARN asked about, so at 10,000 its own time would swamp the measurement; that size is
 * observed against a small stand-in endpoint that answers DescribeTasks for whatever it is
 * asked (the count of calls is what is measured there).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateClusterCommand, ECSClient } from '@aws-sdk/client-ecs';
import { AwsEcsRunEnvironmentSpec } from '../src/domain/run-environment.js';
import { EcsClientFactory } from '../src/executors/aws-ecs/ecs-clients.js';
import { EcsExecutor } from '../src/executors/aws-ecs/ecs-executor.js';
import type { EcsHandle } from '../src/executors/aws-ecs/ecs-executor.js';
import { startAwsProxy } from '../test/support/aws-proxy.js';
import { awsTestConfig, defaultNetwork, motoAvailable, runBulkTasks, startMoto } from '../test/support/moto.js';

export interface ObserveRow {
  tasks: number;
  calls: number;
  perTaskDesignCalls: number;
  cycleMs: number;
  against: string;
}

export interface LaunchResult {
  launches: number;
  seconds: number;
  perSecond: number;
  cpuMsPerLaunch: number;
}

function envFor(endpoint: string, subnets: string[], securityGroups: string[]) {
  return AwsEcsRunEnvironmentSpec.parse({
    name: 'bench',
    kind: 'aws-ecs',
    region: 'us-east-1',
    cluster: 'bench',
    subnets: subnets.slice(0, 1),
    security_groups: securityGroups.slice(0, 1),
    execution_role_arn: 'arn:aws:iam::123456789012:role/bench-exec',
    endpoint_url: endpoint,
    launch_rate: { burst: 1000, per_second: 1000 },
  });
}

function handlesFor(arns: string[]): EcsHandle[] {
  return arns.map((arn, i) => ({
    executor: 'aws-ecs',
    run_environment_uuid: 'bench',
    region: 'us-east-1',
    cluster: 'bench',
    task_arn: arn,
    task_definition_arn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/bench:1',
    launch_token: `bench-${i}`,
    container: 'main',
    log_group: '/berth/bench',
    log_stream: 'x',
    launched_at: Date.now(),
  }));
}

async function observeOnce(
  env: AwsEcsRunEnvironmentSpec,
  handles: EcsHandle[],
  count: () => number,
): Promise<{ calls: number; ms: number }> {
  const executor = new EcsExecutor({
    runEnvironment: async () => ({ uuid: 'bench', name: 'bench', settings: env }),
    definitions: { get: async () => null, put: async () => undefined, delete: async () => undefined },
    clients: new EcsClientFactory({ defaultCredentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }),
  });
  const before = count();
  const t0 = performance.now();
  const observations = await executor.observe(handles);
  const ms = performance.now() - t0;
  await executor.close();
  const running = observations.filter((o) => o.state === 'running').length;
  if (running !== handles.length) throw new Error(`expected ${handles.length} running, saw ${running}`);
  return { calls: count() - before, ms };
}

/** A stand-in ECS endpoint: DescribeTasks answers every asked ARN as a RUNNING task. */
async function describeEcho(): Promise<{ endpoint: string; calls: () => number; stop: () => Promise<void> }> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls++;
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.endsWith('.DescribeTasks')) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'ClientException' });
        res.end(JSON.stringify({ __type: 'ClientException', message: `stand-in answers DescribeTasks only, not ${target}` }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { tasks: string[] };
      const tasks = body.tasks.map((taskArn) => ({ taskArn, lastStatus: 'RUNNING', startedAt: Date.now() / 1000, containers: [{ name: 'main' }] }));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ tasks, failures: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Observe cycles at 100, 1,000 (moto) and 10,000 (stand-in) running tasks. */
export async function benchObserve(): Promise<ObserveRow[] | null> {
  if (!(await motoAvailable())) return null;
  const moto = await startMoto();
  const proxy = await startAwsProxy(moto.endpoint);
  const rows: ObserveRow[] = [];
  try {
    await moto.setTaskTransition({ progression: 'manual', times: 1_000_000 });
    const net = await defaultNetwork(moto.endpoint);
    const ecs = new ECSClient({ ...awsTestConfig(moto.endpoint), maxAttempts: 1 });
    await ecs.send(new CreateClusterCommand({ clusterName: 'bench' }));
    ecs.destroy();
    const env = envFor(proxy.endpoint, net.subnets, net.securityGroups);
    const { taskArns: arns } = await runBulkTasks(moto.endpoint, {
      cluster: 'bench',
      subnets: env.subnets,
      securityGroups: env.security_groups,
      count: 1000,
    });
    for (const size of [100, 1000]) {
      const { calls, ms } = await observeOnce(env, handlesFor(arns.slice(0, size)), () => proxy.calls('DescribeTasks'));
      rows.push({ tasks: size, calls, perTaskDesignCalls: size, cycleMs: ms, against: 'moto' });
    }
  } finally {
    await proxy.stop();
    await moto.stop();
  }
  const echo = await describeEcho();
  try {
    const size = 10_000;
    const arns = Array.from({ length: size }, (_, i) => `arn:aws:ecs:us-east-1:123456789012:task/bench/${i.toString(16).padStart(32, '0')}`);
    const env = envFor(echo.endpoint, ['subnet-0123456789abcdef0'], ['sg-0123456789abcdef0']);
    const { calls, ms } = await observeOnce(env, handlesFor(arns), echo.calls);
    rows.push({ tasks: size, calls, perTaskDesignCalls: size, cycleMs: ms, against: 'stand-in endpoint' });
  } finally {
    await echo.stop();
  }
  return rows;
}

export { motoAvailable };
