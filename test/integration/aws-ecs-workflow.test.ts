/**
 * A Workflow on the aws-ecs executor against moto: its instances become ECS tasks launched the
 * usual way (an instance's cpu/memory override registers its own task definition revision), the
 * transitions follow the tasks' exit codes as ECS reports them, and the branch not taken is
 * skipped. moto runs no containers, so the test ends each task as ECS would.
 */
import { DescribeTaskDefinitionCommand, DescribeTasksCommand } from '@aws-sdk/client-ecs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerExited, motoAvailable, startEcsAccount } from '../support/moto.js';
import type { Moto } from '../support/moto.js';
import { startTestServer } from '../support/server.js';
import { waitFor } from '../support/temp.js';

describe.runIf(await motoAvailable())('a Workflow on the aws-ecs executor (moto)', () => {
  let moto: Moto;
  let ecs: ECSClient;
  let t: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    const account = await startEcsAccount();
    ({ moto, ecs } = account);
    const net = account.net;
    t = await startTestServer();
    const image = 'public.ecr.aws/docker/library/busybox:1.36';
    const applied = await t.request('POST', '/api/v1/apply/', {
      document: {
        run_environments: [
          {
            name: 'ecs',
            kind: 'aws-ecs',
            region: 'us-east-1',
            cluster: 'berth',
            subnets: net.subnets.slice(0, 1),
            security_groups: net.securityGroups.slice(0, 1),
            execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
            endpoint_url: moto.endpoint,
          },
        ],
        tasks: [
          { name: 'extract', run_environment: 'ecs', image, command: 'extract.sh', cpu: 256, memory: 512 },
          { name: 'load', run_environment: 'ecs', image, command: 'load.sh', cpu: 256, memory: 512 },
          { name: 'alert', run_environment: 'ecs', image, command: 'alert.sh', cpu: 256, memory: 512 },
        ],
        workflows: [
          {
            name: 'nightly-ecs',
            task_instances: [
              { task: 'extract' },
              // A bigger size for this step only: its own task definition revision.
              { task: 'load', cpu: 512, memory: 1024 },
              { task: 'alert' },
            ],
            transitions: [
              { from: 'extract', to: 'load', on: 'success' },
              { from: 'extract', to: 'alert', on: 'failure' },
            ],
          },
        ],
      },
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    ecs?.destroy();
    await moto?.stop();
  });

  const getWfe = async (uuid: string) => (await t.request('GET', `/api/v1/workflow_executions/${uuid}`)).body;
  const node = (wfe: any, name: string) => wfe.nodes.find((n: any) => n.name === name);

  /** Waits until the instance's execution has its ECS task; returns the execution and task ARN. */
  async function ecsTaskOf(wfeUuid: string, name: string): Promise<{ execution: string; arn: string }> {
    return waitFor(async () => {
      const n = node(await getWfe(wfeUuid), name);
      const execution = n?.execution?.uuid as string | undefined;
      if (!execution) return null;
      const arn = (await t.request('GET', `/api/v1/task_executions/${execution}`)).body.executor?.details?.task_arn as string | undefined;
      return arn ? { execution, arn } : null;
    }, `the ECS task of ${name}`, 30_000);
  }

  async function exitInMoto(arn: string, exitCode: number) {
    await containerExited(moto, arn, exitCode);
  }

  async function sizeOf(arn: string) {
    const task = (await ecs.send(new DescribeTasksCommand({ cluster: 'berth', tasks: [arn] }))).tasks![0]!;
    const definition = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn! }))).taskDefinition!;
    return { cpu: definition.cpu, memory: definition.memory, definition: task.taskDefinitionArn! };
  }

  it('runs extract then load as ECS tasks, with load at its own size, and skips the failure branch', async () => {
    const started = await t.request('POST', '/api/v1/workflow_executions/', { workflow: 'nightly-ecs' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const wfe = started.body.uuid as string;

    const extract = await ecsTaskOf(wfe, 'extract');
    expect(node(await getWfe(wfe), 'load').state).toBe('WAITING');
    await exitInMoto(extract.arn, 0);

    const load = await ecsTaskOf(wfe, 'load');
    const [extractSize, loadSize] = [await sizeOf(extract.arn), await sizeOf(load.arn)];
    expect(extractSize).toMatchObject({ cpu: '256', memory: '512' });
    expect(loadSize).toMatchObject({ cpu: '512', memory: '1024' });
    expect(loadSize.definition).not.toBe(extractSize.definition);
    await exitInMoto(load.arn, 0);

    const done = await waitFor(async () => {
      const w = await getWfe(wfe);
      return ['SUCCEEDED', 'FAILED', 'STOPPED', 'TERMINATED_AFTER_TIME_OUT'].includes(w.status) ? w : null;
    }, 'the Workflow Execution to end', 30_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(Object.fromEntries(done.nodes.map((n: any) => [n.name, n.state]))).toEqual({ extract: 'SUCCEEDED', load: 'SUCCEEDED', alert: 'SKIPPED' });
    const loadExecution = (await t.request('GET', `/api/v1/task_executions/${load.execution}`)).body;
    expect(loadExecution).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, run_reason: 'WORKFLOW' });
  }, 90_000);

  it('takes the failure branch when the ECS task exits non-zero, and the handled failure does not fail the Workflow', async () => {
    const started = await t.request('POST', '/api/v1/workflow_executions/', { workflow: 'nightly-ecs' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const wfe = started.body.uuid as string;
    const extract = await ecsTaskOf(wfe, 'extract');
    await exitInMoto(extract.arn, 2);
    const alert = await ecsTaskOf(wfe, 'alert');
    await exitInMoto(alert.arn, 0);
    const done = await waitFor(async () => {
      const w = await getWfe(wfe);
      return ['SUCCEEDED', 'FAILED', 'STOPPED', 'TERMINATED_AFTER_TIME_OUT'].includes(w.status) ? w : null;
    }, 'the Workflow Execution to end', 30_000);
    expect(Object.fromEntries(done.nodes.map((n: any) => [n.name, n.state]))).toEqual({ extract: 'FAILED', load: 'SKIPPED', alert: 'SUCCEEDED' });
    // extract's failure was handled by the transition to alert (fail_if_unhandled is the default).
    expect(done.status).toBe('SUCCEEDED');
    expect(node(done, 'extract').execution.exit_code).toBe(2);
  }, 90_000);
});
