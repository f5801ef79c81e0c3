/**
 * The aws-ecs executor end to end against moto's server (through a proxy that counts calls at
 * the HTTP layer and injects faults): registration and reuse of task definitions, launch,
 * observation, failures, stop, timeouts, logs, retries, and bad input.
 */
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsEcsRunEnvironmentSpec } from '../../src/domain/run-environment.js';
import { EcsClientFactory } from '../../src/executors/aws-ecs/ecs-clients.js';
import { EcsExecutor } from '../../src/executors/aws-ecs/ecs-executor.js';
import type { EcsHandle } from '../../src/executors/aws-ecs/ecs-executor.js';
import { startAwsProxy } from '../support/aws-proxy.js';
import type { AwsProxy } from '../support/aws-proxy.js';
import { awsTestConfig, containerExited, motoAvailable, runBulkTasks, startEcsAccount } from '../support/moto.js';
import type { DefaultNetwork, Moto, TaskEdit } from '../support/moto.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { waitFor } from '../support/temp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TERMINAL = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED', 'ABANDONED', 'ABORTED'];
const EXEC_ROLE = 'arn:aws:iam::123456789012:role/berth-task-execution';

describe.runIf(await motoAvailable())('aws-ecs executor against moto', () => {
  let moto: Moto;
  let proxy: AwsProxy;
  let net: DefaultNetwork;
  let ecs: ECSClient;
  let logs: CloudWatchLogsClient;
  let t: Awaited<ReturnType<typeof startTestServer>>;

  const envSpec = (extra: Record<string, unknown> = {}) => ({
    name: 'ecs',
    kind: 'aws-ecs',
    region: 'us-east-1',
    cluster: 'berth',
    subnets: net.subnets.slice(0, 1),
    security_groups: net.securityGroups.slice(0, 1),
    execution_role_arn: EXEC_ROLE,
    endpoint_url: proxy.endpoint,
    launch_rate: { burst: 1000, per_second: 1000 },
    tags: { team: 'data' },
    ...extra,
  });

  beforeAll(async () => {
    // Tasks stay RUNNING until a test finishes them (moto would otherwise stop them after a few describes).
    ({ moto, net, ecs } = await startEcsAccount());
    proxy = await startAwsProxy(moto.endpoint);
    logs = new CloudWatchLogsClient(awsTestConfig(moto.endpoint));
    t = await startTestServer();
    const applied = await t.request('POST', '/api/v1/apply/', { document: { run_environments: [envSpec()] } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    ecs?.destroy();
    logs?.destroy();
    await proxy?.stop();
    await moto?.stop();
  });

  beforeEach(() => {
    proxy.clearInjections();
    proxy.resetCounts();
  });

  async function task(spec: Record<string, unknown>) {
    const r = await t.request('POST', '/api/v1/tasks/', { run_environment: 'ecs', image: 'public.ecr.aws/docker/library/busybox:1.36', ...spec });
    expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
    return r.body;
  }

  async function start(name: string, extra: Record<string, unknown> = {}) {
    const r = await t.request('POST', '/api/v1/task_executions/', { task: name, ...extra });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.uuid as string;
  }

  async function get(uuid: string) {
    return (await t.request('GET', `/api/v1/task_executions/${uuid}`)).body;
  }

  /** Waits until the execution has its ECS task, and returns the task ARN. */
  async function taskArnOf(uuid: string): Promise<string> {
    return waitFor(async () => (await get(uuid)).executor?.details?.task_arn as string | undefined, `the ECS task of ${uuid}`);
  }

  async function waitForEnd(uuid: string) {
    return waitFor(async () => {
      const e = await get(uuid);
      return TERMINAL.includes(e.status) ? e : null;
    }, `execution ${uuid} to end`, 30_000);
  }

  /** What real ECS reports when the main container exits. */
  async function finish(arn: string, exitCode: number, extra: Partial<TaskEdit> = {}) {
    await containerExited(moto, arn, exitCode, extra);
  }

  async function tasksStartedBy(token: string): Promise<string[]> {
    return (await ecs.send(new ListTasksCommand({ cluster: 'berth', startedBy: token }))).taskArns ?? [];
  }

  it('registers one revision, runs the task, follows it to SUCCEEDED, and reuses the revision', async () => {
    await task({ name: 'hello-ecs', command: 'echo hi', cpu: 256, memory: 512 });
    const first = await start('hello-ecs');
    const arn = await taskArnOf(first);
    expect(proxy.calls('RegisterTaskDefinition')).toBe(1);
    expect(proxy.calls('RunTask')).toBe(1);
    const runTask = proxy.callLog().find((c) => c.action === 'RunTask')!.body as any;
    expect(runTask).toMatchObject({
      cluster: 'berth',
      clientToken: `${first}-1`,
      startedBy: `${first}-1`,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: net.subnets.slice(0, 1), assignPublicIp: 'DISABLED' } },
    });
    expect(runTask.overrides.containerOverrides[0].environment).toContainEqual({ name: 'PROC_WRAPPER_TASK_EXECUTION_UUID', value: first });
    expect(runTask.tags).toContainEqual({ key: 'berth:execution', value: first });
    expect(runTask.tags).toContainEqual({ key: 'team', value: 'data' });
    await waitFor(async () => (await get(first)).status === 'RUNNING', 'RUNNING');
    await finish(arn, 0);
    expect(await waitForEnd(first)).toMatchObject({ status: 'SUCCEEDED', exit_code: 0 });

    // Unchanged: no new revision.
    const second = await start('hello-ecs');
    await finish(await taskArnOf(second), 0);
    expect((await waitForEnd(second)).status).toBe('SUCCEEDED');
    expect(proxy.calls('RegisterTaskDefinition')).toBe(1);

    // A new image: exactly one new revision, used by the next run.
    await t.request('PATCH', '/api/v1/tasks/hello-ecs', { image: 'public.ecr.aws/docker/library/busybox:1.37' });
    const third = await start('hello-ecs');
    await finish(await taskArnOf(third), 0);
    await waitForEnd(third);
    expect(proxy.calls('RegisterTaskDefinition')).toBe(2);
    const runs = proxy.callLog().filter((c) => c.action === 'RunTask').map((c) => (c.body as any).taskDefinition as string);
    expect(runs[0]).toBe(runs[1]);
    expect(runs[2]).not.toBe(runs[1]);
    expect(runs[2]).toMatch(/berth-hello-ecs:2$/);
  });

  it('prunes old revisions, keeping the newest and those in use', async () => {
    await task({ name: 'pruned-ecs', command: 'true' });
    const uuids: string[] = [];
    for (const tag of ['1', '2', '3']) {
      await t.request('PATCH', '/api/v1/tasks/pruned-ecs', { image: `example/pruned:${tag}` });
      uuids.push(await start('pruned-ecs'));
      await taskArnOf(uuids[uuids.length - 1]!);
    }
    // Revision 1 still runs; 2 and 3 are finished.
    await finish(await taskArnOf(uuids[1]!), 0);
    await finish(await taskArnOf(uuids[2]!), 0);
    await waitForEnd(uuids[2]!);
    const dry = await t.request('POST', '/api/v1/tasks/pruned-ecs/prune_revisions', { keep: 1, dry_run: true });
    expect(dry.body).toMatchObject({ dry_run: true });
    expect(dry.body.kept.map((a: string) => a.split(':').pop())).toEqual(['3', '1']);
    expect(dry.body.removed.map((a: string) => a.split(':').pop())).toEqual(['2']);
    expect(proxy.calls('DeregisterTaskDefinition')).toBe(0);
    const done = await t.request('POST', '/api/v1/tasks/pruned-ecs/prune_revisions', { keep: 1 });
    expect(done.body.removed).toEqual(dry.body.removed);
    expect(proxy.calls('DeregisterTaskDefinition')).toBe(1);
    // Going back to the removed content registers it anew instead of using the deregistered one.
    await finish(await taskArnOf(uuids[0]!), 0);
    await t.request('PATCH', '/api/v1/tasks/pruned-ecs', { image: 'example/pruned:2' });
    const again = await start('pruned-ecs');
    await taskArnOf(again);
    const runs = proxy.callLog().filter((c) => c.action === 'RunTask').map((c) => (c.body as any).taskDefinition as string);
    expect(runs[runs.length - 1]).toMatch(/berth-pruned-ecs:4$/);
    await finish(await taskArnOf(again), 0);
  });

  it('`berth run TASK --wait` follows an ECS task to its end and exits with its code', async () => {
    await task({ name: 'cli-ecs', command: ['sh', '-c', 'exit 4'] });
    const cli = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', 'cli-ecs', '--wait'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY, NO_COLOR: '1' },
    }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    );
    const uuid = await waitFor(async () => {
      const list = await t.request('GET', '/api/v1/task_executions/?task=cli-ecs&limit=1');
      return list.body.results[0]?.uuid as string | undefined;
    }, 'the CLI to start cli-ecs');
    await finish(await taskArnOf(uuid), 4);
    expect(await cli).toBe(4);
  });

  it('ends failed tasks with the exit code and a readable reason: exit 3, image pull, out of memory', async () => {
    await task({ name: 'fails-ecs', command: 'exit 3' });
    const exit3 = await start('fails-ecs');
    await finish(await taskArnOf(exit3), 3);
    expect(await waitForEnd(exit3)).toMatchObject({ status: 'FAILED', exit_code: 3, failure: { type: 'EXIT', exit_code: 3 } });

    const pull = await start('fails-ecs');
    await moto.editTask({
      task: await taskArnOf(pull),
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s): not found',
      containers: [],
      startedAt: null,
      stoppedAt: new Date(),
    });
    const pulled = await waitForEnd(pull);
    expect(pulled).toMatchObject({ status: 'FAILED', stop_reason: 'FAILED_TO_START', failure: { type: 'START_FAILED', code: 'IMAGE_PULL_FAILED' } });
    expect(pulled.failure.message).toMatch(/could not pull the image public\.ecr\.aws\/docker\/library\/busybox:1\.36/);

    const oom = await start('fails-ecs');
    await finish(await taskArnOf(oom), 137, { containerReason: 'OutOfMemoryError: Container killed due to memory usage' });
    expect(await waitForEnd(oom)).toMatchObject({ status: 'FAILED', exit_code: 137, failure: { code: 'OOM_KILLED' } });
  });

  it('stops a task with StopTask, and times one out the same way', async () => {
    await task({ name: 'long-ecs', command: 'sleep 3600' });
    const long = await start('long-ecs');
    const arn = await taskArnOf(long);
    await waitFor(async () => (await get(long)).status === 'RUNNING', 'RUNNING');
    const stop = await t.request('PATCH', `/api/v1/task_executions/${long}/`, { status: 'STOPPING' });
    expect(stop.body.status).toBe('STOPPING');
    await proxy.waitForCalls('StopTask', 1);
    const stopCall = proxy.callLog().find((c) => c.action === 'StopTask')!.body as any;
    expect(stopCall).toMatchObject({ cluster: 'berth', task: arn });
    expect(stopCall.reason).toMatch(/Stopped by Berth: MANUAL/);
    expect(await waitForEnd(long)).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL' });

    await task({ name: 'slow-ecs', command: 'sleep 3600', timeout_seconds: 1 });
    const slow = await start('slow-ecs');
    await taskArnOf(slow);
    expect(await waitForEnd(slow)).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' });
    expect(proxy.calls('StopTask')).toBe(2);
  });

  it("reads the task's CloudWatch stream, page by page", async () => {
    await task({ name: 'logs-ecs', command: 'echo' });
    const uuid = await start('logs-ecs');
    const arn = await taskArnOf(uuid);
    const { log_group: group, log_stream: stream } = (await get(uuid)).executor.details;
    expect(group).toBe('/berth/ecs');
    expect(stream).toBe(`berth/main/${arn.split('/').pop()}`);
    // Nothing written yet: an empty page.
    const empty = await t.request('GET', `/api/v1/task_executions/${uuid}/logs`);
    expect(empty.body).toMatchObject({ entries: [], complete: false });
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
    const put = (lines: string[]) =>
      logs.send(
        new PutLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          logEvents: lines.map((message, i) => ({ message, timestamp: Date.now() + i })),
        }),
      );
    await put(['first line', 'second line']);
    const page1 = await t.request('GET', `/api/v1/task_executions/${uuid}/logs`);
    expect(page1.body.entries.map((e: any) => e.text)).toEqual(['first line', 'second line']);
    await put(['third line']);
    const page2 = await t.request('GET', `/api/v1/task_executions/${uuid}/logs?cursor=${encodeURIComponent(page1.body.next_cursor)}`);
    expect(page2.body.entries.map((e: any) => e.text)).toEqual(['third line']);
    // `berth logs -f` shows what is there and then new lines as they arrive, until the task ends.
    const { spawn } = await import('node:child_process');
    const follower = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'logs', uuid, '-f'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY, NO_COLOR: '1' },
    });
    let followed = '';
    follower.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.once('exit', resolve));
    await waitFor(() => followed.includes('third line'), 'berth logs -f to print what is there');
    await put(['fourth line, later']);
    await waitFor(() => followed.includes('fourth line, later'), 'berth logs -f to print a new line');
    await finish(arn, 0);
    await waitForEnd(uuid);
    expect(await exited).toBe(0);
    expect(followed.trim().split('\n')).toEqual(['first line', 'second line', 'third line', 'fourth line, later']);
    const last = await t.request('GET', `/api/v1/task_executions/${uuid}/logs?cursor=${encodeURIComponent(page2.body.next_cursor)}`);
    expect(last.body.entries.map((e: any) => e.text)).toEqual(['fourth line, later']);
    const end = await t.request('GET', `/api/v1/task_executions/${uuid}/logs?cursor=${encodeURIComponent(last.body.next_cursor)}`);
    expect(end.body).toMatchObject({ entries: [], complete: true });
  });

  it('retries throttling, placement failures and 5xx answers, then launches', async () => {
    await task({ name: 'retried-ecs', command: 'true' });
    proxy.inject({ action: 'RunTask', times: 2, respond: { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } } });
    proxy.inject({
      action: 'RunTask',
      times: 1,
      respond: {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.1' },
        body: JSON.stringify({ tasks: [], failures: [{ reason: 'RESOURCE:ENI', detail: 'no ENI available' }] }),
      },
    });
    proxy.inject({ action: 'RunTask', times: 1, respond: { status: 503, body: 'Service Unavailable' } });
    proxy.inject({ action: 'RunTask', times: 1, respond: { status: 400, body: { __type: 'InvalidParameterException', message: 'Rate exceeded' } } });
    const uuid = await start('retried-ecs');
    const arn = await taskArnOf(uuid);
    expect(proxy.calls('RunTask')).toBe(6);
    expect(await tasksStartedBy(`${uuid}-1`)).toEqual([arn]);
    await finish(arn, 0);
    expect((await waitForEnd(uuid)).status).toBe('SUCCEEDED');
  });

  it('retries a concurrent registration of the family, and throttled log reads', async () => {
    await task({ name: 'contended-ecs', command: 'true' });
    proxy.inject({
      action: 'RegisterTaskDefinition',
      times: 2,
      respond: { status: 400, body: { __type: 'ClientException', message: 'Too many concurrent attempts to create a new revision of the specified family.' } },
    });
    const uuid = await start('contended-ecs');
    const arn = await taskArnOf(uuid);
    expect(proxy.calls('RegisterTaskDefinition')).toBe(3);
    proxy.inject({ action: 'GetLogEvents', times: 2, respond: { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } } });
    const page = await t.request('GET', `/api/v1/task_executions/${uuid}/logs`);
    expect(page.status).toBe(200);
    expect(proxy.calls('GetLogEvents')).toBe(3);
    await finish(arn, 0);
    expect((await waitForEnd(uuid)).status).toBe('SUCCEEDED');
  });

  it('fails clearly when RunTask keeps failing or is denied, leaving nothing RUNNING', async () => {
    await task({ name: 'throttled-ecs', command: 'true' });
    proxy.inject({ action: 'RunTask', times: Infinity, respond: { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } } });
    const throttled = await start('throttled-ecs');
    const ended = await waitForEnd(throttled);
    expect(ended).toMatchObject({ status: 'FAILED', stop_reason: 'FAILED_TO_START', failure: { code: 'RUN_TASK_GAVE_UP' } });
    expect(ended.failure.message).toMatch(/ThrottlingException/);
    expect(proxy.calls('RunTask')).toBe(6);
    proxy.clearInjections();

    proxy.inject({
      action: 'RunTask',
      times: 1,
      respond: { status: 400, body: { __type: 'AccessDeniedException', message: 'User: arn:aws:sts::123456789012:assumed-role/berth/x is not authorized to perform: ecs:RunTask' } },
    });
    const denied = await waitForEnd(await start('throttled-ecs'));
    expect(denied).toMatchObject({ status: 'FAILED', failure: { code: 'ACCESS_DENIED', fault: 'config' } });
    expect(denied.failure.message).toMatch(/AWS denied ecs:RunTask/);

    const running = await t.request('GET', '/api/v1/task_executions/?status=RUNNING,MANUALLY_STARTED&limit=100');
    for (const e of running.body.results) expect(e.executor.details.task_arn, `${e.uuid} has no ECS task`).toBeTruthy();
  });

  it('refuses per-run overrides over the 8 KiB RunTask limit, with what to do', async () => {
    await task({ name: 'big-ecs', command: 'true' });
    const uuid = await start('big-ecs', { environment: { BIG: 'x'.repeat(9000) } });
    const ended = await waitForEnd(uuid);
    expect(ended).toMatchObject({ status: 'FAILED', stop_reason: 'FAILED_TO_START', failure: { code: 'OVERRIDES_TOO_LARGE', fault: 'config' } });
    expect(ended.failure.message).toMatch(/at most 8192/);
    expect(proxy.calls('RunTask')).toBe(0);
  });

  it('resolves a RunTask whose answer was lost by finding the task, not by launching again', async () => {
    await task({ name: 'dropped-ecs', command: 'true' });
    proxy.inject({ action: 'RunTask', times: 1, respond: 'forward-then-drop' });
    const uuid = await start('dropped-ecs');
    const arn = await taskArnOf(uuid);
    expect(await tasksStartedBy(`${uuid}-1`)).toEqual([arn]);
    expect(proxy.calls('RunTask')).toBe(1);
    await finish(arn, 0);
    expect((await waitForEnd(uuid)).status).toBe('SUCCEEDED');
  });

  it('rejects bad input before any AWS call, and an unknown cluster at the first', async () => {
    const bad = await t.request('POST', '/api/v1/apply/', {
      document: {
        run_environments: [envSpec({ name: 'bad-env', subnets: ['subnet-xyz'] })],
        tasks: [
          { name: 'bad-size', run_environment: 'ecs', image: 'x', cpu: 256, memory: 4096 },
          { name: 'bad-secret', run_environment: 'ecs', image: 'x', secrets: { DB: 'ENV:DB' } },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('CONFIG_INVALID');
    const paths = bad.body.error.details.issues.map((i: any) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['run_environments[0].subnets[0]']));
    const second = await t.request('POST', '/api/v1/apply/', {
      document: {
        tasks: [
          { name: 'bad-size', run_environment: 'ecs', image: 'x', cpu: 256, memory: 4096 },
          { name: 'bad-secret', run_environment: 'ecs', image: 'x', secrets: { DB: 'ENV:DB' } },
        ],
      },
    });
    const issues = second.body.error.details.issues;
    expect(issues).toContainEqual(expect.objectContaining({ path: 'tasks[0].memory', message: expect.stringMatching(/with cpu 256 use 512, 1024, 2048/) }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'tasks[1].secrets.DB' }));
    expect(proxy.callLog()).toEqual([]);

    await t.request('POST', '/api/v1/run_environments/', envSpec({ name: 'nowhere', cluster: 'no-such-cluster' }));
    await t.request('POST', '/api/v1/tasks/', { name: 'lost-ecs', run_environment: 'nowhere', image: 'x', command: 'true' });
    const lost = await waitForEnd(await start('lost-ecs'));
    expect(lost).toMatchObject({ status: 'FAILED', failure: { code: 'CLUSTER_NOT_FOUND' } });
    expect(lost.failure.message).toMatch(/no cluster "no-such-cluster" in us-east-1/);
  });

  it('assumes the control role (with its External ID) for every call', async () => {
    await t.request('POST', '/api/v1/run_environments/', envSpec({
      name: 'ecs-role',
      role_arn: 'arn:aws:iam::123456789012:role/berth-control',
      external_id: 'berth-external-id-1234',
    }));
    await t.request('POST', '/api/v1/tasks/', { name: 'role-ecs', run_environment: 'ecs-role', image: 'x', command: 'true' });
    const uuid = await start('role-ecs');
    await finish(await taskArnOf(uuid), 0);
    expect((await waitForEnd(uuid)).status).toBe('SUCCEEDED');
    const assume = proxy.callLog().filter((c) => c.action === 'AssumeRole');
    expect(assume.length).toBeGreaterThanOrEqual(1);
    expect(assume[0]!.params).toMatchObject({ RoleArn: 'arn:aws:iam::123456789012:role/berth-control', ExternalId: 'berth-external-id-1234' });
  });

  it('survives a crash between storing the launch token and hearing RunTask: one ECS task, observed to the end', async () => {
    const temp = (await import('../support/temp.js')).tempDir('berth-ecs-crash-');
    const env = {
      BERTH_DATA_DIR: temp.dir,
      BERTH_ADMIN_API_KEY: TEST_ADMIN_KEY,
      BERTH_MONITOR_INTERVAL_MS: '100',
      BERTH_LAUNCHER_INTERVAL_MS: '100',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const { startServerProcess, client } = await import('../support/server-process.js');
    const first = await startServerProcess(env);
    let second: Awaited<ReturnType<typeof startServerProcess>> | undefined;
    try {
      let api = client(first.url, TEST_ADMIN_KEY);
      const applied = await api('POST', '/api/v1/apply/', {
        document: {
          run_environments: [envSpec({ name: 'ecs-crash' })],
          tasks: [{ name: 'crash-ecs', run_environment: 'ecs-crash', image: 'x', command: 'true' }],
        },
      });
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      // ECS gets the RunTask and starts the task; the answer never comes back.
      proxy.inject({ action: 'RunTask', times: 1, respond: 'forward-then-hold' });
      const started = await api('POST', '/api/v1/task_executions/', { task: 'crash-ecs' });
      const uuid = started.body.uuid as string;
      await proxy.waitForCalls('RunTask', 1);
      await waitFor(async () => (await tasksStartedBy(`${uuid}-1`)).length === 1, 'the task to exist in ECS');
      expect((await api('GET', `/api/v1/task_executions/${uuid}`)).body).toMatchObject({ status: 'MANUALLY_STARTED', executor: { details: {} } });
      await first.kill('SIGKILL');

      second = await startServerProcess(env);
      api = client(second.url, TEST_ADMIN_KEY);
      const arn = await waitFor(async () => (await api('GET', `/api/v1/task_executions/${uuid}`)).body.executor?.details?.task_arn as string | undefined, 'the restarted server to find the task');
      expect(await tasksStartedBy(`${uuid}-1`)).toEqual([arn]);
      expect(proxy.calls('RunTask')).toBe(1);
      await finish(arn, 0);
      const ended = await waitFor(async () => {
        const e = (await api('GET', `/api/v1/task_executions/${uuid}`)).body;
        return TERMINAL.includes(e.status) ? e : null;
      }, 'the recovered execution to end');
      expect(ended).toMatchObject({ status: 'SUCCEEDED', attempt: 1 });
    } finally {
      await first.kill('SIGKILL');
      await second?.kill('SIGTERM');
      temp.cleanup();
    }
  });

  it('observes 1,000 running tasks with ceil(1000/100) DescribeTasks calls', async () => {
    const env = AwsEcsRunEnvironmentSpec.parse(envSpec());
    const bulk = await runBulkTasks(moto.endpoint, { cluster: 'berth', subnets: env.subnets, securityGroups: env.security_groups, count: 1000 });
    const handles: EcsHandle[] = bulk.taskArns.map((taskArn, i) => ({
      executor: 'aws-ecs',
      run_environment_uuid: 'bulk-env',
      region: 'us-east-1',
      cluster: 'berth',
      task_arn: taskArn,
      task_definition_arn: bulk.taskDefinitionArn,
      launch_token: `bulk-${i}`,
      container: 'main',
      log_group: '/berth/ecs',
      log_stream: 'x',
      launched_at: Date.now(),
    }));
    expect(handles).toHaveLength(1000);
    const executor = new EcsExecutor({
      runEnvironment: async () => ({ uuid: 'bulk-env', name: 'ecs', settings: env }),
      definitions: { get: async () => null, put: async () => undefined, delete: async () => undefined },
      clients: new EcsClientFactory({ defaultCredentials: awsTestConfig(moto.endpoint).credentials }),
    });
    proxy.resetCounts();
    const observations = await executor.observe(handles);
    expect(proxy.calls('DescribeTasks')).toBe(Math.ceil(1000 / 100));
    expect(proxy.calls()).toBe(10);
    expect(observations.filter((o) => o.state === 'running')).toHaveLength(1000);

    // A task ECS does not know: still starting right after launch, lost once that grace is over.
    const ghost = { ...handles[0]!, task_arn: 'arn:aws:ecs:us-east-1:123456789012:task/berth/0000000000000000' };
    const [fresh, old] = await executor.observe([ghost, { ...ghost, launched_at: Date.now() - 10 * 60_000 }]);
    expect(fresh).toEqual({ state: 'pending' });
    expect(old).toMatchObject({ state: 'lost', message: expect.stringMatching(/ECS no longer knows task/) });
    await executor.close();
  }, 120_000);
});
