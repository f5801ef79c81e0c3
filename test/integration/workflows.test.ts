/**
 * Workflows end to end on a real server: real child processes through the local executor, a
 * real SQLite file, the real launcher, monitor and workflow engine. Every rule type, every start
 * condition, every failure behaviour, parallel branches, a join, stop, retry from failure, the
 * Workflow timeout, and refusals (a cycle, an unknown Task, scopes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/domain/errors.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import { startTestServer } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
type Reply = { status: number; body: any };

let t: TestServer;
let marks: ReturnType<typeof tempDir>;

function expectError(reply: Reply, code: ErrorCode): any {
  expect({ status: reply.status, code: reply.body?.error?.code }, JSON.stringify(reply.body)).toEqual({ status: ERROR_CATALOGUE[code].status, code });
  return reply.body.error;
}

async function task(name: string, command: string, extra: Record<string, unknown> = {}) {
  const r = await t.request('POST', '/api/v1/tasks/', { name, run_environment: 'local', command, ...extra });
  expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
}

async function putWorkflow(spec: Record<string, unknown>) {
  const r = await t.request('POST', '/api/v1/workflows/', spec);
  expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
  return r.body;
}

async function start(workflow: string, environment?: Record<string, string>) {
  const r = await t.request('POST', '/api/v1/workflow_executions/', { workflow, ...(environment ? { environment } : {}) });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

async function getWfe(uuid: string) {
  const r = await t.request('GET', `/api/v1/workflow_executions/${uuid}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Waits until the Workflow Execution is over (final status, every execution in it ended). */
async function waitForEnd(uuid: string, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const wfe = await getWfe(uuid);
      return wfe.finished_at !== null ? wfe : null;
    },
    `workflow execution ${uuid} to end`,
    timeoutMs,
  );
}

async function waitForNodes(uuid: string, predicate: (nodes: Record<string, any>) => boolean, what: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const wfe = await getWfe(uuid);
      return predicate(nodesOf(wfe)) ? wfe : null;
    },
    what,
    timeoutMs,
  );
}

const nodesOf = (wfe: any): Record<string, any> => Object.fromEntries(wfe.nodes.map((n: any) => [n.name, n]));
const statesOf = (wfe: any): Record<string, string> => Object.fromEntries(wfe.nodes.map((n: any) => [n.name, n.state]));
const ms = (iso: string) => Date.parse(iso);

async function execution(uuid: string) {
  const r = await t.request('GET', `/api/v1/task_executions/${uuid}`);
  expect(r.status).toBe(200);
  return r.body;
}

beforeAll(async () => {
  marks = tempDir('berth-wf-marks-');
  t = await startTestServer();
  expect((await t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
  await task('ok', 'exit 0');
  await task('fail', 'exit 1');
  await task('exit3', 'exit 3');
  await task('nap', 'sleep 1');
  await task('long', 'sleep 60', { termination_grace_period_seconds: 2 });
});

afterAll(async () => {
  await t?.stop();
  marks?.cleanup();
});

describe('the example: B after A succeeds, C if A fails, D when whichever ran is done', () => {
  const spec = (a: string) => ({
    name: `example-${a}`,
    task_instances: [
      { name: 'A', task: a },
      { name: 'B', task: 'ok' },
      { name: 'C', task: 'ok' },
      { name: 'D', task: 'ok' },
    ],
    transitions: [
      { from: 'A', to: 'B', on: 'success' },
      { from: 'A', to: 'C', on: 'failure' },
      { from: 'B', to: 'D', on: 'always' },
      { from: 'C', to: 'D', on: 'always' },
    ],
  });

  it('A succeeds: B then D run, C is skipped, the workflow succeeds', async () => {
    await putWorkflow(spec('ok'));
    const wfe = await waitForEnd((await start('example-ok')).uuid);
    expect(wfe.status).toBe('SUCCEEDED');
    expect(statesOf(wfe)).toEqual({ A: 'SUCCEEDED', B: 'SUCCEEDED', C: 'SKIPPED', D: 'SUCCEEDED' });
    expect(wfe.edges.map((e: any) => e.state)).toEqual(['FIRED', 'NOT_FIRED', 'FIRED', 'VOID']);
    const nodes = nodesOf(wfe);
    const b = await execution(nodes.B.execution.uuid);
    const d = await execution(nodes.D.execution.uuid);
    expect(b.run_reason).toBe('WORKFLOW');
    expect(ms(d.started_at)).toBeGreaterThanOrEqual(ms(b.finished_at));
    expect(nodes.C.execution).toBeNull();
  });

  it('A fails: C then D run, B is skipped; the failure was handled, so the workflow succeeds', async () => {
    await putWorkflow(spec('fail'));
    const wfe = await waitForEnd((await start('example-fail')).uuid);
    expect(statesOf(wfe)).toEqual({ A: 'FAILED', B: 'SKIPPED', C: 'SUCCEEDED', D: 'SUCCEEDED' });
    expect(wfe.status).toBe('SUCCEEDED');
    expect(wfe.failure).toBeNull();
  });
});

describe('transition rules', () => {
  it('fire on success, failure, timeout, exit_code, always, threshold and expression', async () => {
    // Reports error_count 12 through the API, as a wrapper would, then succeeds.
    const report = `const u = process.env.BERTH_WF_URL + '/api/v1/task_executions/' + process.env.BERTH_TASK_EXECUTION_UUID + '/';
fetch(u, { method: 'PATCH', headers: { authorization: 'Bearer ' + process.env.BERTH_WF_KEY, 'content-type': 'application/json' },
  body: JSON.stringify({ error_count: 12, output_value: { rows: 3 } }) }).then((r) => process.exit(r.ok ? 0 : 9), () => process.exit(8));`;
    fs.writeFileSync(path.join(marks.dir, 'report.cjs'), report);
    await task('counted', `"${process.execPath}" "${path.join(marks.dir, 'report.cjs')}"`, {
      environment: { BERTH_WF_URL: t.server.url, BERTH_WF_KEY: 'berth_test_admin_key_0123456789abcdef' },
    });
    const target = (name: string) => ({ name, task: 'ok' });
    const targets = [
      'on_success', 'on_success_not', 'on_failure', 'on_failure_not', 'on_timeout', 'on_timeout_not', 'on_exit3', 'on_exit4',
      'always_ok', 'always_fail', 'over10', 'over20', 'expr_yes', 'expr_no',
    ];
    await putWorkflow({
      name: 'rules',
      task_instances: [
        { name: 's0', task: 'ok' },
        { name: 's3', task: 'exit3', failure_behavior: 'ignore' },
        // The Task has no timeout; the instance gives it one.
        { name: 'slow', task: 'long', timeout_seconds: 1, failure_behavior: 'ignore' },
        { name: 'counted', task: 'counted' },
        ...targets.map(target),
      ],
      transitions: [
        { from: 's0', to: 'on_success', on: 'success' },
        { from: 's3', to: 'on_success_not', on: 'success' },
        { from: 's3', to: 'on_failure', on: 'failure' },
        { from: 's0', to: 'on_failure_not', on: 'failure' },
        { from: 'slow', to: 'on_timeout', on: 'timeout' },
        { from: 's3', to: 'on_timeout_not', on: 'timeout' },
        { from: 's3', to: 'on_exit3', on: 'exit_code', exit_codes: [2, 3] },
        { from: 's3', to: 'on_exit4', on: 'exit_code', exit_codes: [4] },
        { from: 's0', to: 'always_ok', on: 'always' },
        { from: 's3', to: 'always_fail', on: 'always' },
        { from: 'counted', to: 'over10', on: 'threshold', threshold: { field: 'error_count', operator: '>', value: 10 } },
        { from: 'counted', to: 'over20', on: 'threshold', threshold: { field: 'error_count', operator: '>', value: 20 } },
        { from: 'counted', to: 'expr_yes', on: 'expression', expression: 'succeeded and error_count == 12 and output_value.rows >= 3' },
        { from: 's3', to: 'expr_no', on: 'expression', expression: 'exit_code == 4 or succeeded' },
      ],
    });
    const wfe = await waitForEnd((await start('rules')).uuid);
    const states = statesOf(wfe);
    expect(states).toEqual({
      s0: 'SUCCEEDED',
      s3: 'FAILED',
      slow: 'FAILED',
      counted: 'SUCCEEDED',
      on_success: 'SUCCEEDED',
      on_success_not: 'SKIPPED',
      on_failure: 'SUCCEEDED',
      on_failure_not: 'SKIPPED',
      on_timeout: 'SUCCEEDED',
      on_timeout_not: 'SKIPPED',
      on_exit3: 'SUCCEEDED',
      on_exit4: 'SKIPPED',
      always_ok: 'SUCCEEDED',
      always_fail: 'SUCCEEDED',
      over10: 'SUCCEEDED',
      over20: 'SKIPPED',
      expr_yes: 'SUCCEEDED',
      expr_no: 'SKIPPED',
    });
    expect(wfe.status).toBe('SUCCEEDED');
    const slow = await execution(nodesOf(wfe).slow.execution.uuid);
    expect(slow.status).toBe('TERMINATED_AFTER_TIME_OUT');
    expect(ms(slow.finished_at) - ms(slow.started_at)).toBeLessThan(20_000);
    expect(wfe.edges.find((e: any) => e.to === 'over10')).toMatchObject({ on: 'threshold', rule: 'error_count > 10', state: 'FIRED' });
  });
});

describe('start conditions', () => {
  it('all, any, count_at_least and ratio_at_least', async () => {
    const from = (sources: string[], to: string) => sources.map((s) => ({ from: s, to, on: 'success' }));
    await putWorkflow({
      name: 'conditions',
      task_instances: [
        { name: 'ok1', task: 'ok' },
        { name: 'ok2', task: 'ok' },
        { name: 'bad', task: 'fail', failure_behavior: 'ignore' },
        { name: 'slowok', task: 'nap' },
        { name: 'any_t', task: 'ok', start_condition: 'any' },
        { name: 'count2', task: 'ok', start_condition: { count_at_least: 2 } },
        { name: 'count3', task: 'ok', start_condition: { count_at_least: 3 } },
        { name: 'ratio60', task: 'ok', start_condition: { ratio_at_least: 0.6 } },
        { name: 'ratio90', task: 'ok', start_condition: { ratio_at_least: 0.9 } },
        { name: 'all_ok', task: 'ok', start_condition: 'all' },
        { name: 'all_bad', task: 'ok', start_condition: 'all' },
      ],
      transitions: [
        ...from(['ok1', 'slowok'], 'any_t'),
        ...from(['ok1', 'ok2', 'bad'], 'count2'),
        ...from(['ok1', 'ok2', 'bad'], 'count3'),
        ...from(['ok1', 'ok2', 'bad'], 'ratio60'),
        ...from(['ok1', 'ok2', 'bad'], 'ratio90'),
        ...from(['ok1', 'ok2', 'slowok'], 'all_ok'),
        ...from(['ok1', 'bad'], 'all_bad'),
      ],
    });
    const wfe = await waitForEnd((await start('conditions')).uuid);
    expect(statesOf(wfe)).toMatchObject({
      any_t: 'SUCCEEDED',
      count2: 'SUCCEEDED',
      count3: 'SKIPPED',
      ratio60: 'SUCCEEDED',
      ratio90: 'SKIPPED',
      all_ok: 'SUCCEEDED',
      all_bad: 'SKIPPED',
    });
    expect(wfe.status).toBe('SUCCEEDED');
    const nodes = nodesOf(wfe);
    // any: started on ok1 without waiting for slowok; all: only after slowok.
    const slowok = await execution(nodes.slowok.execution.uuid);
    const anyT = await execution(nodes.any_t.execution.uuid);
    const allOk = await execution(nodes.all_ok.execution.uuid);
    expect(ms(anyT.created_at)).toBeLessThan(ms(slowok.finished_at));
    expect(ms(allOk.created_at)).toBeGreaterThanOrEqual(ms(slowok.finished_at));
    expect(nodes.count3.incoming).toEqual({ fired: 2, not_fired: 1, pending: 0, void: 0 });
  });
});

describe('failure behaviours', () => {
  const spec = (name: string, behaviour: string, handler: boolean) => ({
    name,
    task_instances: [{ name: 'A', task: 'fail', failure_behavior: behaviour }, ...(handler ? [{ name: 'H', task: 'ok' }] : [])],
    transitions: handler ? [{ from: 'A', to: 'H', on: 'failure' }] : [],
  });

  it('fail_workflow fails the workflow even though the handler ran', async () => {
    await putWorkflow(spec('fb-always', 'fail_workflow', true));
    const wfe = await waitForEnd((await start('fb-always')).uuid);
    expect(statesOf(wfe)).toEqual({ A: 'FAILED', H: 'SUCCEEDED' });
    expect(wfe.status).toBe('FAILED');
    expect(wfe.failure).toEqual({
      code: 'INSTANCE_FAILED',
      message: '"A" ended FAILED (exit code 1) (failure_behavior: fail_workflow).',
      instances: ['A'],
    });
    expect(nodesOf(wfe).A.fails_workflow).toBe(true);
  });

  it('fail_if_unhandled: handled → succeeds; unhandled → fails, saying so', async () => {
    await putWorkflow(spec('fb-handled', 'fail_if_unhandled', true));
    await putWorkflow(spec('fb-unhandled', 'fail_if_unhandled', false));
    const [handled, unhandled] = await Promise.all([start('fb-handled'), start('fb-unhandled')]);
    expect((await waitForEnd(handled.uuid)).status).toBe('SUCCEEDED');
    const failed = await waitForEnd(unhandled.uuid);
    expect(failed.status).toBe('FAILED');
    expect(failed.failure.message).toContain('no transition handled it (failure_behavior: fail_if_unhandled)');
  });

  it('ignore: the workflow succeeds', async () => {
    await putWorkflow(spec('fb-ignore', 'ignore', false));
    expect((await waitForEnd((await start('fb-ignore')).uuid)).status).toBe('SUCCEEDED');
  });

  it('an instance whose Task cannot start fails the workflow with the reason, without stopping the rest', async () => {
    await task('soon-disabled', 'exit 0');
    await putWorkflow({ name: 'cannot-start', task_instances: [{ task: 'soon-disabled' }, { name: 'other', task: 'ok' }] });
    await task('soon-disabled', 'exit 0', { enabled: false });
    const wfe = await waitForEnd((await start('cannot-start')).uuid);
    expect(wfe.status).toBe('FAILED');
    expect(wfe.failure.code).toBe('INSTANCE_START_FAILED');
    expect(wfe.failure.message).toContain('"soon-disabled" could not start: Task "soon-disabled" is disabled');
    expect(statesOf(wfe)).toEqual({ 'soon-disabled': 'FAILED', other: 'SUCCEEDED' });
  });
});

describe('parallel branches and joins', () => {
  it('runs independent branches at the same time and joins them', async () => {
    await task('nap2', 'sleep 2');
    await putWorkflow({
      name: 'parallel',
      task_instances: [{ name: 'root', task: 'ok' }, { name: 'left', task: 'nap2' }, { name: 'right', task: 'nap2' }, { name: 'join', task: 'ok' }],
      transitions: [
        { from: 'root', to: 'left', on: 'success' },
        { from: 'root', to: 'right', on: 'success' },
        { from: 'left', to: 'join', on: 'success' },
        { from: 'right', to: 'join', on: 'success' },
      ],
    });
    const wfe = await waitForEnd((await start('parallel')).uuid);
    expect(wfe.status).toBe('SUCCEEDED');
    const nodes = nodesOf(wfe);
    const [left, right, join] = await Promise.all(['left', 'right', 'join'].map((n) => execution(nodes[n].execution.uuid)));
    // Overlap: each started before the other finished.
    expect(ms(left.started_at)).toBeLessThan(ms(right.finished_at));
    expect(ms(right.started_at)).toBeLessThan(ms(left.finished_at));
    // The join waited for both.
    expect(ms(join.created_at)).toBeGreaterThanOrEqual(Math.max(ms(left.finished_at), ms(right.finished_at)));
  });
});

describe('stop', () => {
  it('stops every running execution in it and starts nothing more', async () => {
    await putWorkflow({
      name: 'to-stop',
      task_instances: [{ name: 'one', task: 'long' }, { name: 'two', task: 'long' }, { name: 'after', task: 'ok' }],
      transitions: [{ from: 'one', to: 'after', on: 'always' }],
    });
    const started = await start('to-stop');
    const running = await waitForNodes(
      started.uuid,
      (n) => n.one.execution?.status === 'RUNNING' && n.two.execution?.status === 'RUNNING',
      'both executions to run',
    );
    const r = await t.request('PATCH', `/api/v1/workflow_executions/${started.uuid}`, { status: 'STOPPING' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(['STOPPING', 'STOPPED']).toContain(r.body.status);
    const wfe = await waitForEnd(started.uuid);
    expect(wfe).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL', failure: { code: 'STOPPED' } });
    expect(statesOf(wfe)).toEqual({ one: 'FAILED', two: 'FAILED', after: 'NOT_STARTED' });
    for (const name of ['one', 'two']) {
      const e = await execution(nodesOf(running)[name].execution.uuid);
      expect(e.status).toBe('STOPPED');
    }
    expectError(await t.request('PATCH', `/api/v1/workflow_executions/${started.uuid}`, { status: 'STOPPING' }), 'WORKFLOW_EXECUTION_NOT_RUNNING');
    expectError(await t.request('PATCH', `/api/v1/workflow_executions/${started.uuid}`, { status: 'RUNNING' }), 'VALIDATION_FAILED');
  });
});

describe('retry from failure', () => {
  it('keeps what succeeded and re-runs the failed instance and what it held back', async () => {
    const marker = path.join(marks.dir, 'second-time');
    await task('flaky', `if [ -f ${marker} ]; then exit 0; else touch ${marker}; exit 1; fi`);
    await putWorkflow({
      name: 'retryable',
      task_instances: [{ name: 'first', task: 'ok' }, { name: 'flaky', task: 'flaky' }, { name: 'last', task: 'ok' }],
      transitions: [
        { from: 'first', to: 'flaky', on: 'success' },
        { from: 'flaky', to: 'last', on: 'success' },
      ],
    });
    const started = await start('retryable');
    const failed = await waitForEnd(started.uuid);
    expect(failed.status).toBe('FAILED');
    expect(statesOf(failed)).toEqual({ first: 'SUCCEEDED', flaky: 'FAILED', last: 'SKIPPED' });
    const firstExecution = nodesOf(failed).first.execution.uuid;

    const r = await t.request('POST', `/api/v1/workflow_executions/${started.uuid}/retry`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ status: 'RUNNING', attempt: 2, failure: null });
    // Running again (or done already): either way not retryable now.
    expectError(await t.request('POST', `/api/v1/workflow_executions/${started.uuid}/retry`), 'WORKFLOW_EXECUTION_NOT_RETRYABLE');
    const wfe = await waitForEnd(started.uuid);
    expect(wfe.status).toBe('SUCCEEDED');
    expect(statesOf(wfe)).toEqual({ first: 'SUCCEEDED', flaky: 'SUCCEEDED', last: 'SUCCEEDED' });
    const nodes = nodesOf(wfe);
    expect(nodes.first.execution.uuid).toBe(firstExecution);
    expect(nodes.first.runs).toHaveLength(1);
    expect(nodes.flaky.runs.map((x: any) => [x.run_number, x.status])).toEqual([
      [1, 'FAILED'],
      [2, 'SUCCEEDED'],
    ]);
    expectError(await t.request('POST', `/api/v1/workflow_executions/${started.uuid}/retry`), 'WORKFLOW_EXECUTION_NOT_RETRYABLE');
  });
});

describe('workflow timeout', () => {
  it('stops what runs and ends TERMINATED_AFTER_TIME_OUT', async () => {
    await putWorkflow({
      name: 'too-slow',
      timeout_seconds: 1,
      task_instances: [{ name: 'slow', task: 'long' }, { name: 'next', task: 'ok' }],
      transitions: [{ from: 'slow', to: 'next', on: 'always' }],
    });
    const wfe = await waitForEnd((await start('too-slow')).uuid);
    expect(wfe).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED', failure: { code: 'TIMEOUT' } });
    expect(statesOf(wfe)).toEqual({ slow: 'FAILED', next: 'NOT_STARTED' });
    const slow = await execution(nodesOf(wfe).slow.execution.uuid);
    expect(slow.status).toBe('STOPPED');
    expect(ms(wfe.finished_at) - ms(wfe.started_at)).toBeLessThan(30_000);
  });
});

describe('the API', () => {
  it('refuses a cycle, naming it', async () => {
    const r = await t.request('POST', '/api/v1/workflows/', {
      name: 'loop',
      task_instances: [{ name: 'a', task: 'ok' }, { name: 'b', task: 'ok' }],
      transitions: [
        { from: 'a', to: 'b', on: 'success' },
        { from: 'b', to: 'a', on: 'failure' },
      ],
    });
    const error = expectError(r, 'VALIDATION_FAILED');
    expect(error.details.issues).toEqual([
      expect.objectContaining({ path: 'body.transitions[1]', message: expect.stringContaining('the transitions form a cycle: a → b → a') }),
    ]);
    expectError(await t.request('GET', '/api/v1/workflows/loop'), 'WORKFLOW_NOT_FOUND');
  });

  it('refuses unknown Tasks and passive ones, saying how to fix it', async () => {
    await task('passive-one', 'true', { passive: true });
    const error = expectError(
      await t.request('POST', '/api/v1/workflows/', { name: 'bad-tasks', task_instances: [{ task: 'nope' }, { task: 'passive-one' }] }),
      'VALIDATION_FAILED',
    );
    expect(error.details.issues).toEqual([
      expect.objectContaining({ path: 'task_instances[0].task', message: expect.stringContaining('no Task named "nope"; create it first') }),
      expect.objectContaining({ path: 'task_instances[1].task', message: expect.stringContaining('is passive') }),
    ]);
  });

  it('checks cpu/memory overrides of an aws-ecs Task against Fargate sizes', async () => {
    const env = await t.request('POST', '/api/v1/run_environments/', {
      name: 'ecs',
      kind: 'aws-ecs',
      region: 'us-east-1',
      cluster: 'berth',
      subnets: ['subnet-0123456789abcdef0'],
      security_groups: ['sg-0123456789abcdef0'],
      execution_role_arn: 'arn:aws:iam::123456789012:role/berth-execution',
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    await task('in-ecs', 'true', { run_environment: 'ecs', image: 'public.ecr.aws/docker/library/busybox:1', cpu: 256, memory: 512 });
    const error = expectError(
      await t.request('POST', '/api/v1/workflows/', { name: 'ecs-sized', task_instances: [{ task: 'in-ecs', cpu: 300 }] }),
      'VALIDATION_FAILED',
    );
    expect(error.details.issues).toEqual([expect.objectContaining({ path: 'task_instances[0].cpu' })]);
    expect((await t.request('POST', '/api/v1/workflows/', { name: 'ecs-sized', task_instances: [{ task: 'in-ecs', cpu: 1024, memory: 2048 }] })).status).toBe(201);
  });

  it('creates, versions, lists, shows and deletes Workflows', async () => {
    const spec = { name: 'crud', task_instances: [{ task: 'ok' }] };
    const created = await t.request('POST', '/api/v1/workflows/', spec);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'crud', version: 1, timeout_seconds: null });
    expect(created.body.task_instances[0]).toMatchObject({ name: 'ok', task: 'ok', start_condition: 'all', failure_behavior: 'fail_if_unhandled', cpu: null });
    const same = await t.request('POST', '/api/v1/workflows/', spec);
    expect([same.status, same.body.version]).toEqual([200, 1]);
    const changed = await t.request('POST', '/api/v1/workflows/', { ...spec, description: 'now described' });
    expect([changed.status, changed.body.version]).toEqual([200, 2]);
    expect((await t.request('GET', `/api/v1/workflows/${created.body.uuid}`)).body.name).toBe('crud');
    const list = await t.request('GET', '/api/v1/workflows?search=cru');
    expect(list.body.results.map((w: any) => w.name)).toEqual(['crud']);
    expect((await t.request('DELETE', '/api/v1/workflows/crud')).status).toBe(204);
    expectError(await t.request('DELETE', '/api/v1/workflows/crud'), 'WORKFLOW_NOT_FOUND');
  });

  it('refuses to delete a Workflow while it runs; lists executions with filters', async () => {
    await putWorkflow({ name: 'busy', task_instances: [{ task: 'long' }] });
    const running = await start('busy', { EXTRA: 'yes' });
    expect(running.environment).toEqual({ EXTRA: 'yes' });
    expectError(await t.request('DELETE', '/api/v1/workflows/busy'), 'WORKFLOW_HAS_ACTIVE_EXECUTIONS');
    const list = await t.request('GET', '/api/v1/workflow_executions?workflow=busy&status=in_progress');
    expect(list.body.results.map((w: any) => w.uuid)).toEqual([running.uuid]);
    expect(list.body.results[0].nodes).toBeUndefined();
    expect((await t.request('GET', '/api/v1/workflow_executions?workflow=busy&status=FAILED')).body.count).toBe(0);
    expectError(await t.request('GET', '/api/v1/workflow_executions?status=BOGUS'), 'VALIDATION_FAILED');
    const node = await waitForNodes(running.uuid, (n) => n.long.execution !== null, 'the execution to exist');
    const e = await execution(nodesOf(node).long.execution.uuid);
    expect(e.environment_overrides).toMatchObject({ EXTRA: 'yes', BERTH_WORKFLOW_EXECUTION_UUID: running.uuid, BERTH_WORKFLOW_INSTANCE: 'long' });
    await t.request('PATCH', `/api/v1/workflow_executions/${running.uuid}`, { status: 'STOPPING' });
    await waitForEnd(running.uuid);
    expect((await t.request('DELETE', '/api/v1/workflows/busy')).status).toBe(204);
    expectError(await t.request('GET', `/api/v1/workflow_executions/${running.uuid}`), 'WORKFLOW_EXECUTION_NOT_FOUND');
  });

  it('answers 404 for unknown Workflows and executions', async () => {
    expectError(await t.request('POST', '/api/v1/workflow_executions/', { workflow: 'nope' }), 'WORKFLOW_NOT_FOUND');
    expectError(await t.request('GET', '/api/v1/workflow_executions/0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f'), 'WORKFLOW_EXECUTION_NOT_FOUND');
    expectError(await t.request('POST', '/api/v1/workflow_executions/0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f/retry'), 'WORKFLOW_EXECUTION_NOT_FOUND');
  });

  it('lets reporter keys read, and only developer keys change', async () => {
    const created = await t.request('POST', '/api/v1/api_keys/', { name: 'wf-reporter', scope: 'reporter' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const key = created.body.key as string;
    await putWorkflow({ name: 'scoped', task_instances: [{ task: 'ok' }] });
    expect((await t.request('GET', '/api/v1/workflows', undefined, key)).status).toBe(200);
    expect((await t.request('GET', '/api/v1/workflow_executions', undefined, key)).status).toBe(200);
    expectError(await t.request('POST', '/api/v1/workflows/', { name: 'x', task_instances: [{ task: 'ok' }] }, key), 'INSUFFICIENT_SCOPE');
    expectError(await t.request('POST', '/api/v1/workflow_executions/', { workflow: 'scoped' }, key), 'INSUFFICIENT_SCOPE');
    expectError(await t.request('DELETE', '/api/v1/workflows/scoped', undefined, key), 'INSUFFICIENT_SCOPE');
  });
});

describe('berth.yaml', () => {
  it('applies workflows with the Tasks of the same document, in one transaction', async () => {
    const document = {
      tasks: [{ name: 'yaml-task', run_environment: 'local', command: 'exit 0' }],
      workflows: [{ name: 'from-yaml', task_instances: [{ task: 'yaml-task' }, { name: 'then', task: 'ok' }], transitions: [{ from: 'yaml-task', to: 'then', on: 'success' }] }],
    };
    const dry = await t.request('POST', '/api/v1/apply', { document, dry_run: true });
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(dry.body.changes).toEqual([
      { kind: 'task', name: 'yaml-task', action: 'create', fields: [] },
      { kind: 'workflow', name: 'from-yaml', action: 'create', fields: [] },
    ]);
    expectError(await t.request('GET', '/api/v1/workflows/from-yaml'), 'WORKFLOW_NOT_FOUND');
    expect((await t.request('POST', '/api/v1/apply', { document })).status).toBe(200);
    const again = await t.request('POST', '/api/v1/apply', { document });
    expect(again.body.changes.map((c: any) => c.action)).toEqual(['unchanged', 'unchanged']);
    const wfe = await waitForEnd((await start('from-yaml')).uuid);
    expect(wfe.status).toBe('SUCCEEDED');
  });

  it('refuses a cycle or an unknown Task and writes nothing', async () => {
    const cyclic = {
      tasks: [{ name: 'never-written', run_environment: 'local', command: 'true' }],
      workflows: [
        {
          name: 'cyclic',
          task_instances: [{ task: 'ok' }, { task: 'fail' }],
          transitions: [
            { from: 'ok', to: 'fail', on: 'success' },
            { from: 'fail', to: 'ok', on: 'success' },
          ],
        },
      ],
    };
    const error = expectError(await t.request('POST', '/api/v1/apply', { document: cyclic }), 'CONFIG_INVALID');
    expect(error.details.issues).toEqual([
      expect.objectContaining({ path: 'workflows[0].transitions[1]', message: expect.stringContaining('cycle: ok → fail → ok') }),
    ]);
    const unknown = { tasks: cyclic.tasks, workflows: [{ name: 'unknown-task', task_instances: [{ task: 'missing' }] }] };
    const second = expectError(await t.request('POST', '/api/v1/apply', { document: unknown }), 'CONFIG_INVALID');
    expect(second.details.issues).toEqual([expect.objectContaining({ path: 'workflows[0].task_instances[0].task' })]);
    expectError(await t.request('GET', '/api/v1/tasks/never-written'), 'TASK_NOT_FOUND');
  });
});
