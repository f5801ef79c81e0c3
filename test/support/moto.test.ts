/**
 * Proves the AWS test harness (moto + test-only task edits + counting/fault-injecting proxy) works,
 * and pins down the moto behaviour the aws-ecs executor's tests rely on.
 */
import {
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  CloudWatchLogsClient,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAwsProxy } from './aws-proxy.js';
import type { AwsProxy } from './aws-proxy.js';
import { awsTestConfig, defaultNetwork, motoAvailable, startMoto } from './moto.js';
import type { DefaultNetwork, Moto } from './moto.js';

const CLUSTER = 'berth-test';

describe.runIf(await motoAvailable())('AWS test harness (moto + proxy)', () => {
  let moto: Moto;
  let proxy: AwsProxy;
  let ecs: ECSClient; // through the proxy, default retries
  let ecsOnce: ECSClient; // through the proxy, no retries: faults reach the test as they are
  let network: DefaultNetwork;
  let taskDefinition: string;

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startAwsProxy(moto.endpoint);
    ecs = new ECSClient(awsTestConfig(proxy.endpoint));
    ecsOnce = new ECSClient({ ...awsTestConfig(proxy.endpoint), maxAttempts: 1 });
  });

  afterAll(async () => {
    ecs?.destroy();
    ecsOnce?.destroy();
    await proxy?.stop();
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    proxy.clearInjections();
    network = await defaultNetwork(moto.endpoint); // ids change with every reset
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const registered = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'berth-harness',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'main', image: 'public.ecr.aws/docker/library/busybox:latest', memory: 512, essential: true }],
      }),
    );
    taskDefinition = registered.taskDefinition!.taskDefinitionArn!;
    proxy.resetCounts();
  });

  const runInput = (extra: Partial<RunTaskCommandInput> = {}): RunTaskCommandInput => ({
    cluster: CLUSTER,
    taskDefinition,
    launchType: 'FARGATE',
    networkConfiguration: { awsvpcConfiguration: { subnets: network.subnets, securityGroups: network.securityGroups, assignPublicIp: 'DISABLED' } },
    ...extra,
  });

  const runTask = async (client = ecs, extra: Partial<RunTaskCommandInput> = {}) => {
    const answer = await client.send(new RunTaskCommand(runInput(extra)));
    expect(answer.failures).toEqual([]);
    return answer.tasks![0]!.taskArn!;
  };

  const describeTask = async (arn: string) => {
    const answer = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }));
    return answer.tasks![0]!;
  };

  const listTasks = async (extra: Record<string, string> = {}) =>
    (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, ...extra }))).taskArns ?? [];

  it('runs and describes a Fargate task and counts each call once', async () => {
    await moto.setTaskTransition({ progression: 'manual', times: 3 });
    const arn = await runTask();
    expect(arn).toMatch(new RegExp(`^arn:aws:ecs:us-east-1:\\d{12}:task/${CLUSTER}/[0-9a-f-]{36}$`));
    const task = await describeTask(arn);
    expect(task).toMatchObject({ taskArn: arn, lastStatus: 'RUNNING', desiredStatus: 'RUNNING', launchType: 'FARGATE' });
    await describeTask(arn);

    expect(proxy.calls('RunTask')).toBe(1);
    expect(proxy.calls('DescribeTasks')).toBe(2);
    expect(proxy.calls()).toBe(3);
    const [run] = proxy.callLog();
    expect(run).toMatchObject({ action: 'RunTask', service: 'AmazonEC2ContainerServiceV20141113', status: 200 });
    expect(run!.body).toMatchObject({ cluster: CLUSTER, launchType: 'FARGATE', taskDefinition });
    expect(typeof (run!.body as any).clientToken).toBe('string'); // the SDK adds one per call

    // Query-protocol services (EC2, STS) are counted by their Action= parameter.
    await defaultNetwork(proxy.endpoint);
    expect(proxy.calls('DescribeVpcs')).toBe(1);
    expect(proxy.callLog().find((c) => c.action === 'DescribeSubnets')).toMatchObject({ service: 'query', status: 200 });
    proxy.resetCounts();
    expect(proxy.calls()).toBe(0);
  });

  it('editTask makes DescribeTasks report a failed task the way ECS does', async () => {
    const arn = await runTask();
    const stoppedAt = new Date('2026-01-02T03:04:05.678Z');
    const edited = await moto.editTask({
      task: arn,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'ResourceInitializationError: unable to pull secrets',
      exitCode: 137,
      containerReason: 'OutOfMemoryError: Container killed due to memory usage',
      startedAt: 1767323000,
      stoppedAt,
    });
    expect(edited).toMatchObject({ taskArn: arn, lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart' });

    const task = await describeTask(arn);
    expect(task).toMatchObject({
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'ResourceInitializationError: unable to pull secrets',
    });
    expect(task.stoppedAt).toEqual(stoppedAt);
    expect(task.startedAt).toEqual(new Date(1767323000 * 1000));
    expect(task.containers).toHaveLength(1);
    expect(task.containers![0]).toMatchObject({
      name: 'main',
      lastStatus: 'STOPPED',
      exitCode: 137,
      reason: 'OutOfMemoryError: Container killed due to memory usage',
    });
    expect((await describeTask(arn)).lastStatus).toBe('STOPPED'); // STOPPED is final

    // A task that never started: no containers at all; by id instead of ARN.
    const second = await runTask();
    await moto.editTask({ task: second.split('/').pop()!, lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart', containers: [] });
    expect((await describeTask(second)).containers).toEqual([]);

    // PENDING is outside moto's transition list: it stays PENDING until edited again.
    const third = await runTask();
    await moto.editTask({ task: third, lastStatus: 'PENDING', exitCode: null });
    expect((await describeTask(third)).lastStatus).toBe('PENDING');
    expect((await describeTask(third)).lastStatus).toBe('PENDING');
    expect((await describeTask(third)).containers![0]!.exitCode).toBeUndefined();
  });

  it('editTask fails loudly for an unknown task or field', async () => {
    await expect(moto.editTask({ task: 'arn:aws:ecs:us-east-1:123456789012:task/nope/0000' })).rejects.toThrow(/HTTP 404.*no ECS task/);
    const arn = await runTask();
    await expect(moto.editTask({ task: arn, exitcode: 1 } as any)).rejects.toThrow(/HTTP 400.*unknown field.*exitcode/);
    await expect(moto.editTask({ task: arn, exitCode: '1' } as any)).rejects.toThrow(/HTTP 400/);
  });

  it('injects AWS errors that the SDK maps to the right exception names', async () => {
    proxy.inject({ action: 'RunTask', times: 2, respond: { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } } });
    const error = await ecsOnce.send(new RunTaskCommand(runInput())).catch((e: unknown) => e as any);
    expect(error.name).toBe('ThrottlingException');
    expect(error.message).toBe('Rate exceeded');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(await listTasks()).toEqual([]); // never forwarded

    // With the SDK's default retries, the second throttle is retried away and the third call lands.
    await runTask(ecs);
    expect(proxy.calls('RunTask')).toBe(3);
    expect(proxy.callLog().map((c) => `${c.action} ${c.status}`)).toEqual(['RunTask 400', 'ListTasks 200', 'RunTask 400', 'RunTask 200']);

    const cases = [
      { status: 400, type: 'ClientException', message: 'Too many concurrent attempts to create a new revision of the specified family.' },
      { status: 500, type: 'ServerException', message: 'Service unavailable' },
      { status: 400, type: 'AccessDeniedException', message: 'not authorized to perform: ecs:RunTask' },
      { status: 400, type: 'InvalidParameterException', message: 'Rate exceeded' },
    ];
    for (const c of cases) {
      proxy.inject({ action: 'RunTask', respond: { status: c.status, body: { __type: c.type, message: c.message } } });
      const failure = await ecsOnce.send(new RunTaskCommand(runInput())).catch((e: unknown) => e as any);
      expect({ name: failure.name, message: failure.message, status: failure.$metadata?.httpStatusCode }).toEqual({
        name: c.type,
        message: c.message,
        status: c.status,
      });
    }

    // A 503 with a non-JSON body: the SDK still fails with that status.
    proxy.inject({ action: 'DescribeTasks', respond: { status: 503, body: 'Service Unavailable' } });
    const unavailable = await ecsOnce.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: ['x'] })).catch((e: unknown) => e as any);
    expect(unavailable).toBeInstanceOf(Error);
    expect(unavailable.$metadata?.httpStatusCode).toBe(503);

    // Query protocols get AWS XML errors.
    const sts = new STSClient({ ...awsTestConfig(proxy.endpoint), maxAttempts: 1 });
    const ec2 = new EC2Client({ ...awsTestConfig(proxy.endpoint), maxAttempts: 1 });
    try {
      proxy.inject({ action: 'GetCallerIdentity', respond: { status: 403, body: { __type: 'AccessDenied', message: 'no' } } });
      await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'AccessDenied', message: 'no' });
      expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toMatch(/^\d{12}$/); // rule used up
      proxy.inject({ action: 'DescribeVpcs', respond: { status: 403, body: { __type: 'UnauthorizedOperation', message: 'denied' } } });
      await expect(ec2.send(new DescribeVpcsCommand({}))).rejects.toMatchObject({ name: 'UnauthorizedOperation', message: 'denied' });
    } finally {
      sts.destroy();
      ec2.destroy();
    }
  });

  it('forward-then-drop: the call takes effect in moto but the client gets no answer', async () => {
    const rule = proxy.inject({ action: 'RunTask', times: 1, respond: 'forward-then-drop' });
    await expect(ecsOnce.send(new RunTaskCommand(runInput({ startedBy: 'berth-crash' })))).rejects.toThrow();
    expect(rule.hits()).toBe(1);
    expect(proxy.calls('RunTask')).toBe(1);
    expect(proxy.callLog()[0]).toMatchObject({ action: 'RunTask', status: null, injected: 'forward-then-drop' });
    const running = await listTasks({ startedBy: 'berth-crash' });
    expect(running).toHaveLength(1);

    // 'drop' is the opposite: nothing reaches moto.
    proxy.inject({ action: 'RunTask', respond: 'drop' });
    await expect(ecsOnce.send(new RunTaskCommand(runInput({ startedBy: 'berth-drop' })))).rejects.toThrow();
    expect(await listTasks({ startedBy: 'berth-drop' })).toEqual([]);
  });

  it('rewrites a successful answer, e.g. into a RunTask placement failure', async () => {
    proxy.inject({
      action: 'RunTask',
      respond: {
        rewrite: (json: any) => ({
          tasks: [],
          failures: [{ arn: json.tasks[0].taskArn, reason: 'RESOURCE:ENI', detail: 'injected by the test' }],
        }),
      },
    });
    const answer = await ecs.send(new RunTaskCommand(runInput()));
    expect(answer.tasks).toEqual([]);
    expect(answer.failures).toEqual([{ arn: expect.stringContaining(':task/'), reason: 'RESOURCE:ENI', detail: 'injected by the test' }]);
    expect(proxy.callLog()[0]).toMatchObject({ injected: 'rewrite', status: 200 });
    // The rewrite only changes the answer: moto did start the task.
    expect(await listTasks()).toHaveLength(1);
  });

  it('delays a call, and match narrows a rule to one request body', async () => {
    const arn = await runTask();
    const other = await runTask();
    proxy.inject({ action: 'DescribeTasks', delayMs: 300, times: 1, match: ({ body }) => JSON.stringify(body).includes(other) });
    await describeTask(arn); // does not match: not delayed, rule not used up
    const started = Date.now();
    await describeTask(other);
    expect(Date.now() - started).toBeGreaterThanOrEqual(295);
    await describeTask(other); // used up
    const describes = proxy.callLog().filter((c) => c.action === 'DescribeTasks');
    expect(describes.map((c) => c.injected)).toEqual([undefined, 'delay', undefined]);
    expect(JSON.stringify(describes[1]!.body)).toContain(other);
  });

  it('setTaskTransition controls how describes move tasks on; reset() restores the default', async () => {
    // manual/times N: the N-th describe already shows the next status.
    await moto.setTaskTransition({ progression: 'manual', times: 2 });
    const arn = await runTask();
    expect((await describeTask(arn)).lastStatus).toBe('RUNNING');
    expect((await describeTask(arn)).lastStatus).toBe('DEACTIVATING');
    expect((await describeTask(arn)).lastStatus).toBe('DEACTIVATING');
    expect((await describeTask(arn)).lastStatus).toBe('STOPPING');

    // times 1 is moto's default: RUNNING only in the RunTask answer.
    await moto.setTaskTransition({ progression: 'manual', times: 1 });
    const second = await ecs.send(new RunTaskCommand(runInput()));
    expect(second.tasks![0]!.lastStatus).toBe('RUNNING');
    const secondArn = second.tasks![0]!.taskArn!;
    expect((await describeTask(secondArn)).lastStatus).toBe('DEACTIVATING');
    for (const next of ['STOPPING', 'DEPROVISIONING', 'STOPPED', 'STOPPED']) expect((await describeTask(secondArn)).lastStatus).toBe(next);
    // moto never sets these, even once STOPPED: that is what editTask is for.
    const stopped = await describeTask(secondArn);
    expect(stopped.stopCode).toBeUndefined();
    expect(stopped.stoppedAt).toBeUndefined();
    expect(stopped.desiredStatus).toBe('RUNNING');

    await moto.setTaskTransition({ progression: 'immediate' });
    const third = await ecs.send(new RunTaskCommand(runInput()));
    expect(third.tasks![0]!.lastStatus).toBe('STOPPED');

    await moto.unsetTaskTransition();
    const fourth = await runTask();
    expect((await describeTask(fourth)).lastStatus).toBe('DEACTIVATING');

    await moto.setTaskTransition({ progression: 'time', seconds: 3600 });
    const fifth = await runTask();
    expect((await describeTask(fifth)).lastStatus).toBe('RUNNING');
    expect((await describeTask(fifth)).lastStatus).toBe('RUNNING');

    await moto.reset();
    expect((await ecs.send(new ListClustersCommand({}))).clusterArns).toEqual([]);
    const transition = await fetch(`${moto.endpoint}/moto-api/state-manager/get-transition?model_name=ecs::task`).then((r) => r.json());
    expect(transition).toEqual({ progression: 'manual', times: 1 });
    const fresh = await defaultNetwork(moto.endpoint);
    expect(fresh.subnets).not.toEqual(network.subnets); // new ids after a reset
  });

  it('CloudWatch Logs works through the proxy with forward tokens', async () => {
    const logs = new CloudWatchLogsClient(awsTestConfig(proxy.endpoint));
    try {
      const logGroupName = '/berth/harness';
      const logStreamName = 'main/main/0123';
      await logs.send(new CreateLogGroupCommand({ logGroupName }));
      await logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
      const now = Date.now();
      await logs.send(
        new PutLogEventsCommand({ logGroupName, logStreamName, logEvents: [{ timestamp: now, message: 'first' }, { timestamp: now + 1, message: 'second' }] }),
      );
      const page = await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, startFromHead: true }));
      expect(page.events?.map((e) => e.message)).toEqual(['first', 'second']);
      expect(page.nextForwardToken).toMatch(/^f\//);
      const end = await logs.send(new GetLogEventsCommand({ logGroupName, logStreamName, startFromHead: true, nextToken: page.nextForwardToken }));
      expect(end.events).toEqual([]);
      expect(end.nextForwardToken).toBe(page.nextForwardToken); // an unchanged token means the end
      expect(proxy.calls('GetLogEvents')).toBe(2);
      expect(proxy.callLog().find((c) => c.action === 'PutLogEvents')?.service).toBe('Logs_20140328');
    } finally {
      logs.destroy();
    }
  });

  // Not the harness itself: moto behaviour the aws-ecs executor and its tests must live with.
  it('moto quirks: clientToken, unknown ARNs, ListTasks filters, StopTask', async () => {
    // RunTask ignores clientToken: the same token twice starts two tasks.
    const a = await runTask(ecs, { clientToken: 'same-token' });
    const b = await runTask(ecs, { clientToken: 'same-token' });
    expect(a).not.toBe(b);

    // DescribeTasks of an unknown ARN: no task and no failures entry (AWS answers reason MISSING).
    const unknown = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [`arn:aws:ecs:us-east-1:123456789012:task/${CLUSTER}/00000000-0000-0000-0000-000000000000`] }));
    expect(unknown.tasks).toEqual([]);
    expect(unknown.failures).toEqual([]);

    // ListTasks: startedBy and family filter; desiredStatus follows moto's desiredStatus (RUNNING until StopTask).
    await runTask(ecs, { startedBy: 'berth' });
    expect(await listTasks()).toHaveLength(3);
    expect(await listTasks({ startedBy: 'berth' })).toHaveLength(1);
    expect(await listTasks({ family: 'berth-harness' })).toHaveLength(3);
    expect(await listTasks({ family: 'berth' })).toHaveLength(0); // exact family only
    expect(await listTasks({ desiredStatus: 'STOPPED' })).toHaveLength(0);
    const stopped = await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: a, reason: 'Stopped by Berth' }));
    expect(stopped.task).toMatchObject({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedReason: 'Stopped by Berth' });
    expect(stopped.task!.stopCode).toBeUndefined();
    expect(await listTasks({ desiredStatus: 'STOPPED' })).toEqual([a]);
    expect(await listTasks({ desiredStatus: 'RUNNING' })).toHaveLength(2);
  });
});
