/**
 * Schedules kept as EventBridge rules (`schedules: eventbridge`), end to end: a real server
 * (SQLite, fake clock) whose aws-ecs executor talks to moto's server through the counting proxy.
 * Applying and changing Tasks creates, updates, disables and deletes the rule and its ECS target;
 * re-applying unchanged writes nothing; Berth's scheduler leaves those Tasks alone; bad
 * expressions and AWS errors are refused with clear messages and nothing saved.
 */
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAwsProxy } from '../support/aws-proxy.js';
import type { AwsProxy } from '../support/aws-proxy.js';
import { awsTestConfig, motoAvailable, startEcsAccount } from '../support/moto.js';
import type { DefaultNetwork, Moto } from '../support/moto.js';
import { startTestServer } from '../support/server.js';
import { waitFor } from '../support/temp.js';
import { FakeClock } from '../support/fake-clock.js';

const EXEC_ROLE = 'arn:aws:iam::123456789012:role/berth-task-execution';
const EVENTS_ROLE = 'arn:aws:iam::123456789012:role/berth-eventbridge';
const KEY_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:berth-reporter-key-AbCdEf';
const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/berth';
const IMAGE = 'public.ecr.aws/docker/library/busybox:1.36';

describe.runIf(await motoAvailable())('EventBridge schedules against moto', () => {
  let moto: Moto;
  let proxy: AwsProxy;
  let net: DefaultNetwork;
  let ecs: ECSClient;
  let events: EventBridgeClient;
  let t: Awaited<ReturnType<typeof startTestServer>>;
  const clock = new FakeClock(Date.parse('2031-03-03T00:00:30Z'));

  const envSpec = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    kind: 'aws-ecs',
    region: 'us-east-1',
    cluster: 'berth',
    subnets: net.subnets.slice(0, 1),
    security_groups: net.securityGroups.slice(0, 1),
    execution_role_arn: EXEC_ROLE,
    endpoint_url: proxy.endpoint,
    launch_rate: { burst: 1000, per_second: 1000 },
    api_url: 'https://berth.example.com',
    api_key_secret: KEY_SECRET,
    ...extra,
  });
  const ebEnv = () => envSpec('eb', { schedules: 'eventbridge', eventbridge_role_arn: EVENTS_ROLE, assign_public_ip: true });
  const nightly = (extra: Record<string, unknown> = {}) => ({
    name: 'nightly',
    run_environment: 'eb',
    image: IMAGE,
    command: ['echo', 'hi'],
    schedule: '30 2 * * MON-FRI',
    ...extra,
  });

  async function ok(reply: Promise<{ status: number; body: any }>, statuses = [200, 201]) {
    const r = await reply;
    expect(statuses, JSON.stringify(r.body)).toContain(r.status);
    return r.body;
  }
  const apply = (doc: Record<string, unknown>) => ok(t.request('POST', '/api/v1/apply/', { document: doc }));
  const rule = (name = 'berth-nightly') => events.send(new DescribeRuleCommand({ Name: name }));
  const targets = async (name = 'berth-nightly') => (await events.send(new ListTargetsByRuleCommand({ Rule: name }))).Targets ?? [];
  const puts = () => ({ PutRule: proxy.calls('PutRule'), PutTargets: proxy.calls('PutTargets') });

  beforeAll(async () => {
    ({ moto, net, ecs } = await startEcsAccount());
    proxy = await startAwsProxy(moto.endpoint);
    events = new EventBridgeClient({ ...awsTestConfig(moto.endpoint), maxAttempts: 1 });
    t = await startTestServer({ schedulerIntervalMs: 50, livenessIntervalMs: 600_000 }, { clock });
    await apply({ run_environments: [ebEnv(), envSpec('plain')] });
  }, 120_000);

  afterAll(async () => {
    await t?.stop();
    ecs?.destroy();
    events?.destroy();
    await proxy?.stop();
    await moto?.stop();
  });

  beforeEach(() => {
    proxy.clearInjections();
    proxy.resetCounts();
  });

  it('applying a scheduled Task creates its rule and ECS target', async () => {
    await apply({ tasks: [nightly()] });
    const task = await ok(t.request('GET', '/api/v1/tasks/nightly'));
    const r = await rule();
    expect(r.ScheduleExpression).toBe('cron(30 2 ? * MON-FRI *)');
    expect(r.State).toBe('ENABLED');
    expect(r.Description).toContain('"nightly"');

    const [target, ...others] = await targets();
    expect(others).toEqual([]);
    const td = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'berth-nightly' }));
    expect(target?.Arn).toBe(CLUSTER_ARN);
    expect(target?.RoleArn).toBe(EVENTS_ROLE);
    expect(target?.EcsParameters).toMatchObject({
      TaskDefinitionArn: td.taskDefinition?.taskDefinitionArn,
      TaskCount: 1,
      LaunchType: 'FARGATE',
      NetworkConfiguration: {
        awsvpcConfiguration: { Subnets: net.subnets.slice(0, 1), SecurityGroups: net.securityGroups.slice(0, 1), AssignPublicIp: 'ENABLED' },
      },
    });
    const input = JSON.parse(target?.Input ?? '{}');
    const env = Object.fromEntries(
      (input.containerOverrides[0].environment as { name: string; value: string }[]).map((e) => [e.name, e.value]),
    );
    expect(input.containerOverrides[0].name).toBe('main');
    expect(env).toEqual({ BERTH_TASK_UUID: task.uuid, PROC_WRAPPER_TASK_NAME: 'nightly', PROC_WRAPPER_TASK_UUID: task.uuid });
    // The task definition carries the wrapper's API settings; the run gets no execution uuid,
    // so the wrapper reports a new (REPORTED) execution of the Task.
    const main = td.taskDefinition?.containerDefinitions?.[0];
    expect(main?.environment).toContainEqual({ name: 'PROC_WRAPPER_API_BASE_URL', value: 'https://berth.example.com' });
    expect(main?.secrets).toContainEqual({ name: 'PROC_WRAPPER_API_KEY', valueFrom: KEY_SECRET });
  });

  it('re-applying an unchanged Task writes nothing to AWS', async () => {
    await apply({ run_environments: [ebEnv(), envSpec('plain')], tasks: [nightly()] });
    expect(proxy.calls('DescribeRule')).toBeGreaterThan(0);
    expect(puts()).toEqual({ PutRule: 0, PutTargets: 0 });
    expect(proxy.calls('RegisterTaskDefinition')).toBe(0);
  });

  it('changing the schedule updates the rule; disabling the Task disables it', async () => {
    await ok(t.request('PATCH', '/api/v1/tasks/nightly', { schedule: 'rate(15 minutes)' }));
    expect((await rule()).ScheduleExpression).toBe('rate(15 minutes)');
    expect(puts()).toEqual({ PutRule: 1, PutTargets: 0 });

    await ok(t.request('PATCH', '/api/v1/tasks/nightly', { enabled: false }));
    expect((await rule()).State).toBe('DISABLED');
    await ok(t.request('PATCH', '/api/v1/tasks/nightly', { enabled: true }));
    expect((await rule()).State).toBe('ENABLED');
  });

  it("Berth's scheduler does not fire a Task EventBridge fires (it does fire the same schedule elsewhere)", async () => {
    await apply({ tasks: [{ ...nightly({ name: 'control', run_environment: 'plain' }), schedule: 'rate(15 minutes)' }] });
    const executionsOf = async (task: string) => {
      const uuid = (await ok(t.request('GET', `/api/v1/tasks/${task}`))).uuid as string;
      return (await t.server.ctx.store.listExecutions({ task_uuid: uuid, limit: 100, offset: 0 })).items;
    };
    const passes = async (n: number) => {
      const start = t.server.loopStats().scheduler.passes;
      await waitFor(() => t.server.loopStats().scheduler.passes >= start + n + 1, `${n} scheduler passes`);
    };
    await passes(2);
    clock.advance(20 * 60_000);
    await passes(3);
    await waitFor(async () => (await executionsOf('control')).length > 0, 'the control Task to be fired by Berth');
    expect(await executionsOf('nightly')).toEqual([]);
    await ok(t.request('DELETE', '/api/v1/tasks/control'), [200, 204, 409]);
  });

  it('refuses a schedule EventBridge cannot run, saying what to change, and creates no rule', async () => {
    const reply = await t.request('POST', '/api/v1/tasks/', { ...nightly({ name: 'paris' }), schedule: 'TZ=Europe/Paris 0 3 * * *' });
    expect(reply.status).toBe(400);
    expect(reply.body.error.details.issues[0]).toMatchObject({ path: 'schedule' });
    expect(reply.body.error.message).toMatch(/EventBridge rules run in UTC only; remove TZ=Europe\/Paris/);
    const seconds = await t.request('POST', '/api/v1/tasks/', { ...nightly({ name: 'fast' }), schedule: 'rate(30 seconds)' });
    expect(seconds.status).toBe(400);
    expect(seconds.body.error.message).toMatch(/at most once a minute/);
    expect(puts()).toEqual({ PutRule: 0, PutTargets: 0 });
    expect((await t.request('GET', '/api/v1/tasks/paris')).status).toBe(404);
  });

  it('an AWS error is reported naming the action, and the Task is not changed', async () => {
    proxy.inject({
      action: 'PutRule',
      respond: { status: 400, body: { __type: 'AccessDeniedException', message: 'User is not authorized to perform: events:PutRule' } },
    });
    const reply = await t.request('PATCH', '/api/v1/tasks/nightly', { schedule: '0 4 * * *' });
    expect(reply.status).toBe(502);
    expect(reply.body.error.code).toBe('AWS_CALL_FAILED');
    expect(reply.body.error.message).toMatch(/AWS denied events:PutRule/);
    expect((await ok(t.request('GET', '/api/v1/tasks/nightly'))).schedule).toBe('rate(15 minutes)');
    expect((await rule()).ScheduleExpression).toBe('rate(15 minutes)');
  });

  it('deleting the Task removes its target and rule', async () => {
    await ok(t.request('DELETE', '/api/v1/tasks/nightly'), [200, 204]);
    expect(proxy.calls('RemoveTargets')).toBe(1);
    expect(proxy.calls('DeleteRule')).toBe(1);
    await expect(rule()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('a Run Environment change re-syncs its rules; leaving EventBridge removes them and hands the Task to Berth', async () => {
    await apply({ tasks: [nightly({ name: 'hourly', schedule: 'rate(1 hour)' })] });
    expect((await rule('berth-hourly')).ScheduleExpression).toBe('rate(1 hour)');
    proxy.resetCounts();

    await ok(t.request('PATCH', '/api/v1/run_environments/eb', { assign_public_ip: false }));
    expect(puts()).toEqual({ PutRule: 0, PutTargets: 1 });
    const [target] = await targets('berth-hourly');
    expect(target?.EcsParameters?.NetworkConfiguration?.awsvpcConfiguration?.AssignPublicIp).toBe('DISABLED');

    await apply({ run_environments: [envSpec('eb')] });
    await expect(rule('berth-hourly')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const task = await ok(t.request('GET', '/api/v1/tasks/hourly'));
    const state = await t.server.ctx.store.listUnsyncedScheduleTargets(100);
    // Its schedules row exists again (Berth's scheduler fires it now), so it is not "unsynced".
    expect(state.map((x) => x.uuid)).not.toContain(task.uuid);
    expect(await t.server.ctx.store.nextScheduleFireAt()).not.toBeNull();
  });
});
