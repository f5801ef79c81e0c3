/**
 * The server side of CloudReactor's proc_wrapper protocol (shared docs: cloudreactor-protocol.md;
 * Berth's rules: docs/protocol.md), driven as a wrapper drives it: the same paths with a trailing
 * slash, the same headers, the same field names, against a real in-process server.
 *
 * Two servers: one with the real local executor (real processes, one of which plays the wrapper
 * itself), and one whose executor the test controls (what ECS without exit codes looks like, a
 * process that ends only when the test says so), for the manual start, the reconciliation of the
 * executor's view with the wrapper's report, retries, and stops.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/domain/errors.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import { runCli } from '../cli/cli.js';
import { FakeExecutor } from '../support/fake-executor.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
type Reply = { status: number; body: any; text: string };

const KEY_ENV = 'BERTH_PROTOCOL_TEST_REPORTER_KEY';

function expectError(reply: Reply, code: ErrorCode): { code: string; message: string; details?: any } {
  expect({ status: reply.status, code: reply.body?.error?.code }, reply.text).toEqual({ status: ERROR_CATALOGUE[code].status, code });
  expect(Object.keys(reply.body)).toEqual(['error']);
  expect(reply.body.error.message.length).toBeGreaterThan(0);
  return reply.body.error;
}

/** A request exactly as proc_wrapper sends it: bearer key, JSON in and out. */
async function wrapperCall(server: TestServer, method: 'POST' | 'PATCH', urlPath: string, body: unknown, key: string): Promise<Reply> {
  const response = await fetch(`${server.server.url}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

const create = (server: TestServer, body: unknown, key: string) => wrapperCall(server, 'POST', '/api/v1/task_executions/', body, key);
const patch = (server: TestServer, uuid: string, body: unknown, key: string, content = true) =>
  wrapperCall(server, 'PATCH', `/api/v1/task_executions/${uuid}/${content ? '' : '?content=false'}`, body, key);

async function get(server: TestServer, uuid: string) {
  const r = await server.request('GET', `/api/v1/task_executions/${uuid}/`);
  expect(r.status).toBe(200);
  return r.body;
}

async function waitForStatus(server: TestServer, uuid: string, statuses: string[]) {
  return waitFor(async () => {
    const e = await get(server, uuid);
    return statuses.includes(e.status) ? e : null;
  }, `execution ${uuid} to be ${statuses.join(' or ')}`);
}

/** The fields proc_wrapper 6.x sends when it starts (protocol §1), minus `task`. */
function wrapperFields(extra: Record<string, unknown> = {}) {
  return {
    status: 'RUNNING',
    started_at: '2024-05-01T12:00:00.250Z',
    embedded_mode: false,
    task_version_number: 14,
    task_version_text: '1.4.0',
    task_version_signature: '3f2a9c1',
    process_command: 'python etl.py --password=hunter2',
    process_timeout_seconds: 3600,
    process_max_retries: -1,
    process_retry_delay_seconds: 60,
    process_termination_grace_period_seconds: 30,
    task_max_concurrency: -1,
    max_conflicting_age_seconds: null,
    prevent_offline_execution: false,
    wrapper_log_level: 'INFO',
    wrapper_family: 'CloudReactor python proc_wrapper',
    wrapper_version: '6.0.1',
    api_error_timeout_seconds: 300,
    api_retry_delay_seconds: 120,
    api_resume_delay_seconds: 600,
    api_task_execution_creation_error_timeout_seconds: 300,
    api_task_execution_creation_conflict_timeout_seconds: 1800,
    api_task_execution_creation_conflict_retry_delay_seconds: 60,
    api_final_update_timeout_seconds: 1800,
    api_request_timeout_seconds: 30,
    status_update_interval_seconds: 60,
    status_update_port: 2373,
    status_update_message_max_bytes: 65536,
    num_log_lines_sent_on_failure: 25,
    num_log_lines_sent_on_timeout: 25,
    num_log_lines_sent_on_success: 0,
    max_log_line_length: 1000,
    is_service: false,
    schedule: '',
    heartbeat_interval_seconds: 300,
    input_value: { since: '2024-04-30' },
    hostname: 'worker-7',
    other_instance_metadata: { build: 42 },
    execution_method_type: 'AWS ECS',
    execution_method_details: { task_arn: 'arn:aws:ecs:us-east-1:123456789012:task/c/0f' },
    infrastructure_type: 'AWS',
    infrastructure_settings: { network: { subnets: ['subnet-1'] } },
    allocated_cpu_units: 256,
    allocated_memory_mb: 512,
    ...extra,
  };
}

/** The `task` of a creation body when the wrapper may auto-create it (protocol §1). */
function autoCreateTask(name: string, runEnvironment: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    name,
    was_auto_created: true,
    passive: true,
    max_concurrency: -1,
    run_environment: runEnvironment,
    execution_method_type: 'Unknown',
    execution_method_capability_details: { type: 'Unknown' },
    infrastructure_settings: {},
    is_service: false,
    schedule: '',
    heartbeat_interval_seconds: 300,
    ...extra,
  };
}

let t: TestServer;
let files: ReturnType<typeof tempDir>;
/** Reporter keys: bound to proto (without / with the flag), and one bound to proto-other with it. */
const keys: { plain: string; creator: string; otherCreator: string; developer: string } = { plain: '', creator: '', otherCreator: '', developer: '' };

async function newKey(server: TestServer, body: Record<string, unknown>): Promise<string> {
  const r = await server.request('POST', '/api/v1/api_keys/', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.key;
}

beforeAll(async () => {
  files = tempDir('berth-protocol-');
  t = await startTestServer();
  for (const name of ['proto', 'proto-other']) {
    expect((await t.request('POST', '/api/v1/run_environments/', { name, kind: 'local' })).status).toBe(201);
  }
  keys.plain = await newKey(t, { name: 'wrapper-plain', scope: 'reporter', run_environment: 'proto' });
  keys.creator = await newKey(t, { name: 'wrapper-creator', scope: 'reporter', run_environment: 'proto', may_create_passive_tasks: true });
  keys.otherCreator = await newKey(t, { name: 'wrapper-other', scope: 'reporter', run_environment: 'proto-other', may_create_passive_tasks: true });
  keys.developer = await newKey(t, { name: 'protocol-dev', scope: 'developer' });
  expect((await t.request('POST', '/api/v1/tasks/', { name: 'etl', run_environment: 'proto', passive: true })).status).toBe(201);
});
afterAll(async () => {
  await t?.stop();
  files?.cleanup();
  delete process.env[KEY_ENV];
});

describe('POST /api/v1/task_executions/ (a wrapper reports a run it started)', () => {
  it('creates a RUNNING execution with run reason REPORTED, ignoring fields Berth does not know', async () => {
    const body = { ...wrapperFields({ some_future_field: { a: 1 } }), task: { name: 'etl', some_other_field: true } };
    const r = await create(t, body, keys.plain);
    expect(r.status, r.text).toBe(201);
    // What the wrapper reads from the answer.
    expect(r.body).toMatchObject({ task: { name: 'etl' }, input_value: { since: '2024-04-30' } });
    expect(r.body.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.task.uuid).toBe((await t.request('GET', '/api/v1/tasks/etl')).body.uuid);
    expect(r.body).toMatchObject({
      status: 'RUNNING',
      run_reason: 'REPORTED',
      started_at: '2024-05-01T12:00:00.250Z',
      executor: null,
      attempt: 1,
      run_environment: { name: 'proto' },
      wrapper: { wrapper_family: 'CloudReactor python proc_wrapper', wrapper_version: '6.0.1', hostname: 'worker-7', task_version_text: '1.4.0' },
      wrapper_report: { status: 'RUNNING', exit_code: null },
    });
    // A command line can hold secrets: it is not kept.
    expect(r.text).not.toContain('hunter2');
    expect(JSON.stringify(await get(t, r.body.uuid))).not.toContain('hunter2');
    // Berth did not start it and cannot read its output: it says so.
    const logs = await t.request('GET', `/api/v1/task_executions/${r.body.uuid}/logs`);
    expect(expectError({ ...logs, text: '' }, 'LOGS_UNAVAILABLE').message).toMatch(/reported by a wrapper.*error_log_tail/);
    await patch(t, r.body.uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain);
  });

  it('takes started_at without an offset as UTC (Python isoformat), and defaults it to now', async () => {
    const naive = await create(t, { ...wrapperFields({ started_at: '2024-05-01T12:00:00.123456' }), task: { name: 'etl' } }, keys.plain);
    expect(naive.status, naive.text).toBe(201);
    expect(naive.body.started_at).toBe('2024-05-01T12:00:00.123Z');
    const before = Date.now();
    const { started_at: _omitted, ...rest } = wrapperFields();
    const now = await create(t, { ...rest, task: { uuid: naive.body.task.uuid } }, keys.plain);
    expect(now.status, now.text).toBe(201);
    expect(Date.parse(now.body.started_at)).toBeGreaterThanOrEqual(before - 1000);
    for (const uuid of [naive.body.uuid, now.body.uuid]) await patch(t, uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain);
  });

  it('refuses a bad known field with a message that names it', async () => {
    const badTime = await create(t, { ...wrapperFields({ started_at: 'yesterday' }), task: { name: 'etl' } }, keys.plain);
    const error = expectError(badTime, 'VALIDATION_FAILED');
    expect(error.message).toContain('body.started_at');
    expect(error.message).toContain('ISO-8601');
    const badConcurrency = await create(t, { ...wrapperFields(), task: autoCreateTask('never-made', { name: 'proto' }, { max_concurrency: 'two' }) }, keys.creator);
    expect(expectError(badConcurrency, 'VALIDATION_FAILED').message).toContain('body.task.max_concurrency');
    const badStatus = await create(t, { ...wrapperFields({ status: 'SUCCEEDED' }), task: { name: 'etl' } }, keys.plain);
    expect(expectError(badStatus, 'VALIDATION_FAILED').message).toMatch(/body\.status: status must be RUNNING .*leave it out to start a Task/);
    const noTask = await create(t, { ...wrapperFields(), task: { was_auto_created: true } }, keys.creator);
    expect(expectError(noTask, 'VALIDATION_FAILED').message).toMatch(/body\.task.*name/);
    expect((await t.request('GET', '/api/v1/tasks/never-made')).status).toBe(404);
    // Only task_executions is lenient: other routes still refuse unknown fields.
    expectError({ ...(await t.request('PATCH', '/api/v1/tasks/etl', { colour: 'red' })), text: '' }, 'VALIDATION_FAILED');
  });

  it('answers an unknown Task without auto-create with 404 TASK_NOT_FOUND saying how to fix it', async () => {
    const r = await create(t, { ...wrapperFields(), task: { name: 'nobody-made-me' } }, keys.creator);
    const error = expectError(r, 'TASK_NOT_FOUND');
    expect(error.message).toContain('nobody-made-me');
    expect(error.message).toContain('berth apply');
    expect(error.message).toContain('PROC_WRAPPER_AUTO_CREATE_TASK=TRUE');
    expect(error.message).toContain('--may-create-passive-tasks');
  });

  it('auto-creates a passive Task when the wrapper asks and the key may', async () => {
    const r = await create(t, { ...wrapperFields(), task: autoCreateTask('nightly-report', { name: 'proto' }) }, keys.creator);
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ status: 'RUNNING', run_reason: 'REPORTED', task: { name: 'nightly-report' } });
    const task = (await t.request('GET', '/api/v1/tasks/nightly-report')).body;
    expect(task).toMatchObject({
      uuid: r.body.task.uuid,
      passive: true,
      max_concurrency: null,
      heartbeat_interval_seconds: 300,
      run_environment: { name: 'proto' },
      command: null,
    });
    expect(task.description).toContain('6.0.1');
    // Reported again: the same Task, not changed by the wrapper.
    const again = await create(t, { ...wrapperFields(), task: autoCreateTask('nightly-report', { name: 'proto' }, { max_concurrency: 5 }) }, keys.creator);
    expect(again.status).toBe(201);
    expect(again.body.task.uuid).toBe(task.uuid);
    expect((await t.request('GET', '/api/v1/tasks/nightly-report')).body.max_concurrency).toBeNull();
    // Admin and developer keys may too; a reporter key's own Run Environment is the default.
    const byDeveloper = await create(t, { ...wrapperFields(), task: autoCreateTask('dev-made', { uuid: r.body.run_environment.uuid }) }, keys.developer);
    expect(byDeveloper.status, byDeveloper.text).toBe(201);
    const defaulted = await create(t, { ...wrapperFields(), task: autoCreateTask('defaulted-env', {}) }, keys.creator);
    expect(defaulted.status, defaulted.text).toBe(201);
    expect((await t.request('GET', '/api/v1/tasks/defaulted-env')).body.run_environment.name).toBe('proto');
    for (const e of [r, again, byDeveloper, defaulted]) await patch(t, e.body.uuid, { status: 'SUCCEEDED', exit_code: 0 }, TEST_ADMIN_KEY);
  });

  it('gives two concurrent auto-creating reports of one new name one Task, and both their executions', async () => {
    const body = { ...wrapperFields(), task: autoCreateTask('raced-task', { name: 'proto' }) };
    const [a, b] = await Promise.all([create(t, body, keys.creator), create(t, body, keys.creator)]);
    expect([a.status, b.status], a.text + b.text).toEqual([201, 201]);
    expect(a.body.task.uuid).toBe(b.body.task.uuid);
    expect(a.body.uuid).not.toBe(b.body.uuid);
    expect((await t.request('GET', '/api/v1/tasks/?search=raced-task')).body.count).toBe(1);
    expect((await t.request('GET', '/api/v1/task_executions/?task=raced-task')).body.count).toBe(2);
    for (const e of [a, b]) await patch(t, e.body.uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.creator);
  });

  it('refuses auto-create into a Run Environment that does not exist, or with none named, saying what to set', async () => {
    const missing = await create(t, { ...wrapperFields(), task: autoCreateTask('orphan', { name: 'no-such-env' }) }, TEST_ADMIN_KEY);
    const error = expectError(missing, 'RUN_ENVIRONMENT_NOT_FOUND');
    expect(error.message).toContain('"no-such-env"');
    expect(error.message).toContain('PROC_WRAPPER_AUTO_CREATE_TASK_RUN_ENVIRONMENT_NAME');
    const none = await create(t, { ...wrapperFields(), task: autoCreateTask('orphan', {}) }, TEST_ADMIN_KEY);
    expect(expectError(none, 'RUN_ENVIRONMENT_NOT_FOUND').message).toContain('named no Run Environment');
    expect((await t.request('GET', '/api/v1/tasks/orphan')).status).toBe(404);
  });

  it('holds reporter keys to their scope: no auto-create without the flag, nothing in another Run Environment', async () => {
    const noFlag = await create(t, { ...wrapperFields(), task: autoCreateTask('not-allowed', { name: 'proto' }) }, keys.plain);
    const error = expectError(noFlag, 'INSUFFICIENT_SCOPE');
    expect(error.message).toContain('may not create Tasks');
    expect(error.message).toContain('berth keys create NAME --scope reporter --run-environment ENV --may-create-passive-tasks');
    const elsewhere = await create(t, { ...wrapperFields(), task: autoCreateTask('not-allowed', { name: 'proto-other' }) }, keys.creator);
    expect(expectError(elsewhere, 'INSUFFICIENT_SCOPE').message).toContain('own Run Environment');
    expect((await t.request('GET', '/api/v1/tasks/not-allowed')).status).toBe(404);
    // An existing Task of another Run Environment: no report either.
    expectError(await create(t, { ...wrapperFields(), task: { name: 'etl' } }, keys.otherCreator), 'INSUFFICIENT_SCOPE');
    // The flag is for reporter keys bound to a Run Environment.
    for (const body of [
      { name: 'flag-unbound', scope: 'reporter', may_create_passive_tasks: true },
      { name: 'flag-developer', scope: 'developer', may_create_passive_tasks: true },
    ]) {
      const r = await t.request('POST', '/api/v1/api_keys/', body);
      expect(expectError({ ...r, text: '' }, 'VALIDATION_FAILED').message).toContain('body.may_create_passive_tasks');
    }
    const listed = (await t.request('GET', '/api/v1/api_keys/')).body.results;
    expect(listed.find((k: any) => k.name === 'wrapper-creator').may_create_passive_tasks).toBe(true);
    expect(listed.find((k: any) => k.name === 'wrapper-plain').may_create_passive_tasks).toBe(false);
  });

  it('answers 409 MAX_CONCURRENCY_REACHED at the limit, counting reported runs with launched ones', async () => {
    expect((await t.request('POST', '/api/v1/tasks/', { name: 'one-at-a-time', run_environment: 'proto', passive: true, max_concurrency: 1 })).status).toBe(201);
    const first = await create(t, { ...wrapperFields(), task: { name: 'one-at-a-time' } }, keys.plain);
    expect(first.status).toBe(201);
    const second = await create(t, { ...wrapperFields(), task: { name: 'one-at-a-time' } }, keys.plain);
    const error = expectError(second, 'MAX_CONCURRENCY_REACHED');
    expect(error.details).toMatchObject({ max_concurrency: 1, in_progress: 1 });
    expect(error.message).toContain('retries');
    expect((await t.request('GET', '/api/v1/task_executions/?task=one-at-a-time')).body.count).toBe(1);
    // Once it has ended there is a slot again (the wrapper's retry succeeds).
    expect((await patch(t, first.body.uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain, false)).status).toBe(204);
    const retried = await create(t, { ...wrapperFields(), task: { name: 'one-at-a-time' } }, keys.plain);
    expect(retried.status).toBe(201);

    // A reported run holds a slot of a Task Berth launches too.
    expect(
      (await t.request('POST', '/api/v1/tasks/', { name: 'launched-or-reported', run_environment: 'proto', command: 'sleep 30', max_concurrency: 1, on_concurrency_limit: 'reject' }))
        .status,
    ).toBe(201);
    const reported = await create(t, { ...wrapperFields(), task: { name: 'launched-or-reported' } }, keys.plain);
    expect(reported.status).toBe(201);
    expectError({ ...(await t.request('POST', '/api/v1/task_executions/', { task: 'launched-or-reported' })), text: '' }, 'MAX_CONCURRENCY_REACHED');
    for (const e of [retried, reported]) await patch(t, e.body.uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain);
  });
});

describe('PATCH /api/v1/task_executions/{uuid}/ of a reported run: heartbeats, finish, stop', () => {
  async function reportedRun(task = 'etl') {
    const r = await create(t, { ...wrapperFields(), task: { name: task } }, keys.plain);
    expect(r.status, r.text).toBe(201);
    return r.body.uuid as string;
  }

  it('takes heartbeats with content=false: 204 and no body, the counts on GET, last_heartbeat_at by the server clock', async () => {
    const uuid = await reportedRun();
    const before = Date.now();
    const r = await patch(
      t,
      uuid,
      {
        status: 'RUNNING',
        success_count: 40,
        error_count: 2,
        skipped_count: 3,
        expected_count: 100,
        last_status_message: 'loaded 40 of 100 files',
        last_app_heartbeat_at: '2024-05-01T12:05:00.500000',
        failed_attempts: 1,
        timed_out_attempts: 0,
        exit_code: 1,
        pid: 4242,
        other_runtime_metadata: { queue_depth: 7 },
        a_field_from_a_newer_wrapper: [1, 2, 3],
      },
      keys.plain,
      false,
    );
    const after = Date.now();
    expect(r.status, r.text).toBe(204);
    expect(r.text).toBe('');
    const e = await get(t, uuid);
    expect(e).toMatchObject({
      status: 'RUNNING',
      success_count: 40,
      error_count: 2,
      skipped_count: 3,
      expected_count: 100,
      last_status_message: 'loaded 40 of 100 files',
      last_app_heartbeat_at: '2024-05-01T12:05:00.500Z',
      failed_attempts: 1,
      timed_out_attempts: 0,
      exit_code: 1,
      pid: 4242,
      other_runtime_metadata: { queue_depth: 7 },
      wrapper_report: { status: 'RUNNING', exit_code: 1, failed_attempts: 1 },
    });
    expect(Date.parse(e.last_heartbeat_at)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(e.last_heartbeat_at)).toBeLessThanOrEqual(after + 5);

    // A bad known field is refused, naming it; nothing of that request is stored.
    for (const [field, value] of [
      ['exit_code', 1.5],
      ['exit_code', '3'],
      ['success_count', -1],
      ['last_app_heartbeat_at', 'noon'],
    ] as const) {
      const bad = await patch(t, uuid, { status: 'RUNNING', success_count: 41, [field]: value }, keys.plain, false);
      const error = expectError(bad, 'VALIDATION_FAILED');
      expect(error.message, `${field}=${String(value)}`).toContain(`body.${field}`);
      expect(error.details.issues.map((i: any) => i.path)).toContain(`body.${field}`);
    }
    expect((await get(t, uuid)).success_count).toBe(40);
    await patch(t, uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain);
  });

  it('records the final report: status, exit code, times, attempts, output and log tails (capped, the end kept)', async () => {
    const uuid = await reportedRun();
    const debugTail = `${'x'.repeat(70 * 1024)}\nlast debug line\n`;
    const r = await patch(
      t,
      uuid,
      {
        status: 'FAILED',
        exit_code: 3,
        finished_at: '2024-05-01T13:00:00Z',
        failed_attempts: 2,
        timed_out_attempts: 1,
        output_value: { partial: true },
        debug_log_tail: debugTail,
        error_log_tail: 'Traceback (most recent call last):\n  File "etl.py", line 9\nValueError: bad row\n',
        pid: 4243,
      },
      keys.plain,
    );
    expect(r.status, r.text).toBe(200);
    const e = await get(t, uuid);
    expect(e).toMatchObject({
      status: 'FAILED',
      exit_code: 3,
      finished_at: '2024-05-01T13:00:00.000Z',
      failed_attempts: 2,
      timed_out_attempts: 1,
      output_value: { partial: true },
      error_log_tail: 'Traceback (most recent call last):\n  File "etl.py", line 9\nValueError: bad row\n',
      wrapper_report: { status: 'FAILED', exit_code: 3, failed_attempts: 2, timed_out_attempts: 1, finished_at: '2024-05-01T13:00:00.000Z' },
      attempts: [{ number: 1, status: 'FAILED', exit_code: 3 }],
    });
    expect(e.failure).toMatchObject({ type: 'EXIT', exit_code: 3, fault: 'task' });
    expect(e.failure.message).toContain('The wrapper reported');
    expect(Buffer.byteLength(e.debug_log_tail, 'utf8')).toBeLessThanOrEqual(64 * 1024);
    expect(e.debug_log_tail).toMatch(/^\[… cut by Berth: this tail had \d+ bytes; the end is kept\]\n/);
    expect(e.debug_log_tail.endsWith('x\nlast debug line\n')).toBe(true);
    // It has ended: a heartbeat or a second report is refused.
    expectError(await patch(t, uuid, { status: 'RUNNING', success_count: 1 }, keys.plain), 'INVALID_TRANSITION');
    expectError(await patch(t, uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain), 'INVALID_TRANSITION');

    const ok = await reportedRun();
    expect((await patch(t, ok, { status: 'SUCCEEDED', exit_code: 0, output_value: { rows: 9 } }, keys.plain, false)).status).toBe(204);
    expect(await get(t, ok)).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, output_value: { rows: 9 }, failure: null });
  });

  it('answers a heartbeat after `berth stop` with 409 STOP_REQUESTED, and the execution becomes STOPPED', async () => {
    const uuid = await reportedRun();
    const stop = await runCli(['stop', uuid], { env: { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY } });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('STOPPING');
    expect((await get(t, uuid)).status).toBe('STOPPING');

    const heartbeat = await patch(t, uuid, { status: 'RUNNING', success_count: 12 }, keys.plain, false);
    const error = expectError(heartbeat, 'STOP_REQUESTED');
    expect(error.message).toContain('end the command');
    expect(error.details).toEqual({ status: 'STOPPED', stop_reason: 'MANUAL' });
    const stopped = await get(t, uuid);
    expect(stopped).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL', success_count: 12 });
    expect(stopped.finished_at).not.toBeNull();
    // proc_wrapper then ends its command and sends its final report: kept, the status stays.
    const late = await patch(t, uuid, { status: 'ABORTED', exit_code: 143, error_log_tail: 'terminated\n' }, keys.plain, false);
    expect(late.status, late.text).toBe(204);
    expect(await get(t, uuid)).toMatchObject({ status: 'STOPPED', exit_code: 143, error_log_tail: 'terminated\n', wrapper_report: { status: 'ABORTED' } });
    expectError(await patch(t, uuid, { status: 'RUNNING' }, keys.plain), 'STOP_REQUESTED');
    expectError(await patch(t, uuid, { status: 'FAILED', exit_code: 1 }, keys.plain), 'INVALID_TRANSITION');
  });

  it('takes heartbeats of a run marked done, and ends it EXITED_AFTER_MARKED_DONE', async () => {
    const uuid = await reportedRun();
    expect((await t.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status: 'MARKED_DONE' })).body.status).toBe('MARKED_DONE');
    expect((await patch(t, uuid, { status: 'RUNNING', success_count: 5 }, keys.plain, false)).status).toBe(204);
    expect((await patch(t, uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain, false)).status).toBe(204);
    expect(await get(t, uuid)).toMatchObject({ status: 'EXITED_AFTER_MARKED_DONE', success_count: 5, exit_code: 0 });
  });

  it('holds reporter keys to their Run Environment on PATCH too', async () => {
    const uuid = await reportedRun();
    expectError(await patch(t, uuid, { status: 'RUNNING', success_count: 1 }, keys.otherCreator), 'INSUFFICIENT_SCOPE');
    expect((await get(t, uuid)).success_count).toBeNull();
    await patch(t, uuid, { status: 'SUCCEEDED', exit_code: 0 }, keys.plain);
  });
});

describe('a real local process that speaks the protocol itself', () => {
  it("keeps the wrapper's report and tails, and the process's real exit code decides", async () => {
    process.env[KEY_ENV] = keys.plain;
    // The process plays proc_wrapper: manual start, a heartbeat, a final report of success, then
    // it exits with 5. The executor's exit code is real, so the execution FAILED with 5.
    const script = path.join(files.dir, 'fake-wrapper.mjs');
    fs.writeFileSync(
      script,
      `
const base = process.env.PROC_WRAPPER_API_BASE_URL;
const uuid = process.env.BERTH_TASK_EXECUTION_UUID;
const headers = { Authorization: 'Bearer ' + process.env.PROC_WRAPPER_API_KEY, 'Content-Type': 'application/json', Accept: 'application/json' };
const call = async (query, body) => {
  const r = await fetch(base + '/api/v1/task_executions/' + uuid + '/' + query, { method: 'PATCH', headers, body: JSON.stringify(body) });
  return { status: r.status, text: await r.text() };
};
const started = await call('', { status: 'RUNNING', wrapper_family: 'test wrapper', wrapper_version: '0.0.1', hostname: 'local-box', pid: process.pid });
const heartbeat = await call('?content=false', { status: 'RUNNING', success_count: 7, last_status_message: 'working' });
const done = await call('?content=false', { status: 'SUCCEEDED', exit_code: 0, debug_log_tail: 'all good\\n', output_value: { rows: 7 } });
console.log(JSON.stringify({ started: started.status, name: JSON.parse(started.text).task.name, heartbeat: heartbeat.status, body: heartbeat.text, done: done.status }));
process.exit(5);
`,
    );
    const task = await t.request('POST', '/api/v1/tasks/', {
      name: 'self-reporting',
      run_environment: 'proto',
      command: [process.execPath, script],
      environment: { PROC_WRAPPER_API_BASE_URL: t.server.url },
      secrets: { PROC_WRAPPER_API_KEY: `ENV:${KEY_ENV}` },
    });
    expect(task.status, JSON.stringify(task.body)).toBe(201);
    const started = await t.request('POST', '/api/v1/task_executions/', { task: 'self-reporting' });
    expect(started.status).toBe(201);
    const done = await waitForStatus(t, started.body.uuid, ['SUCCEEDED', 'FAILED', 'ABANDONED']);
    const logs = await t.request('GET', `/api/v1/task_executions/${started.body.uuid}/logs`);
    const printed = logs.body.entries.filter((e: any) => e.stream === 'stdout').map((e: any) => e.text).join('');
    expect(JSON.parse(printed)).toEqual({ started: 200, name: 'self-reporting', heartbeat: 204, body: '', done: 204 });
    expect(done).toMatchObject({
      status: 'FAILED',
      exit_code: 5,
      run_reason: 'EXPLICIT_START',
      success_count: 7,
      last_status_message: 'working',
      debug_log_tail: 'all good\n',
      output_value: { rows: 7 },
      wrapper: { wrapper_family: 'test wrapper', wrapper_version: '0.0.1', hostname: 'local-box' },
      wrapper_report: { status: 'SUCCEEDED', exit_code: 0 },
      attempts: [{ number: 1, status: 'FAILED', exit_code: 5 }],
    });
    expect(done.failure.message).toContain('exited with code 5');
  });
});

describe('executions Berth launched (an executor the test controls)', () => {
  let f: TestServer;
  let fake: FakeExecutor;
  let reporter: string;

  beforeAll(async () => {
    fake = new FakeExecutor('local');
    f = await startTestServer({}, { executors: new Map([['local', fake]]) });
    expect((await f.request('POST', '/api/v1/run_environments/', { name: 'launched', kind: 'local' })).status).toBe(201);
    for (const spec of [
      { name: 'job', command: 'run-it' },
      { name: 'retried-job', command: 'run-it', max_retries: 1, retry_delay_seconds: 0 },
    ]) {
      expect((await f.request('POST', '/api/v1/tasks/', { run_environment: 'launched', ...spec })).status).toBe(201);
    }
    reporter = await newKey(f, { name: 'launched-wrapper', scope: 'reporter', run_environment: 'launched' });
  });
  afterAll(async () => f?.stop());

  /** Starts the Task through Berth and waits until the launcher has handed it to the executor. */
  async function launch(task: string): Promise<string> {
    const r = await f.request('POST', '/api/v1/task_executions/', { task, input_value: { day: 1 } });
    expect(r.status).toBe(201);
    await waitFor(async () => {
      const e = await get(f, r.body.uuid);
      return e.status === 'MANUALLY_STARTED' && e.executor?.details?.fake ? e : null;
    }, 'the launch');
    return r.body.uuid;
  }

  const exited = (exitCode: number | null, failure: Record<string, unknown> | null = null) =>
    ({ state: 'exited', startedAt: Date.now() - 1000, finishedAt: Date.now(), exitCode, signal: null, timedOut: false, failure }) as never;
  const noExitCode = { type: 'EXIT', code: 'NO_EXIT_CODE', message: 'ECS stopped the task without an exit code for container main.', fault: 'infrastructure' };

  it("manual start: PATCHes MANUALLY_STARTED to RUNNING and answers with the execution the wrapper reads", async () => {
    const uuid = await launch('job');
    const { task: _task, ...manualStart } = { ...wrapperFields({ started_at: '2024-05-01T12:00:00Z', unknown_thing: 1 }), task: { name: 'job' } };
    const r = await patch(f, uuid, manualStart, reporter);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      uuid,
      task: { name: 'job' },
      input_value: { day: 1 },
      status: 'RUNNING',
      run_reason: 'EXPLICIT_START',
      started_at: '2024-05-01T12:00:00.000Z',
      wrapper: { wrapper_version: '6.0.1', hostname: 'worker-7' },
    });
    expect(r.body.task.uuid).toBe((await f.request('GET', '/api/v1/tasks/job')).body.uuid);
    fake.set(uuid, 1, exited(0));
    expect((await waitForStatus(f, uuid, ['SUCCEEDED'])).exit_code).toBe(0);
  });

  it("without an exit code from the executor (ECS on moto), the wrapper's status and exit code decide", async () => {
    const uuid = await launch('job');
    expect((await patch(f, uuid, wrapperFields(), reporter)).status).toBe(200);
    expect((await patch(f, uuid, { status: 'RUNNING', success_count: 3 }, reporter, false)).status).toBe(204);
    const final = await patch(
      f,
      uuid,
      { status: 'FAILED', exit_code: 3, failed_attempts: 1, error_log_tail: 'ValueError: bad row\n', debug_log_tail: 'row 1\nrow 2\n' },
      reporter,
      false,
    );
    expect(final.status).toBe(204);
    // Recorded; the execution ends when the executor sees the process end.
    expect(await get(f, uuid)).toMatchObject({ status: 'RUNNING', exit_code: null, wrapper_report: { status: 'FAILED', exit_code: 3 } });
    fake.set(uuid, 1, exited(null, noExitCode));
    const done = await waitForStatus(f, uuid, ['FAILED', 'SUCCEEDED']);
    expect(done).toMatchObject({
      status: 'FAILED',
      exit_code: 3,
      failed_attempts: 1,
      success_count: 3,
      error_log_tail: 'ValueError: bad row\n',
      debug_log_tail: 'row 1\nrow 2\n',
      wrapper_report: { status: 'FAILED', exit_code: 3, failed_attempts: 1 },
      attempts: [{ number: 1, status: 'FAILED', exit_code: 3 }],
    });
    expect(done.failure.message).toContain('The wrapper reported');

    // The same observation without a wrapper report is ECS's own failure.
    const silent = await launch('job');
    fake.set(silent, 1, exited(null, noExitCode));
    expect((await waitForStatus(f, silent, ['FAILED'])).failure.code).toBe('NO_EXIT_CODE');
  });

  it('retries once by the Task\'s policy, never twice for one failure, and each attempt reports afresh', async () => {
    const uuid = await launch('retried-job');
    await patch(f, uuid, { status: 'FAILED', exit_code: 3 }, reporter, false);
    fake.set(uuid, 1, exited(3));
    const second = await waitFor(async () => {
      const e = await get(f, uuid);
      return e.attempt === 2 && e.status === 'MANUALLY_STARTED' ? e : null;
    }, 'the retry');
    expect(second).toMatchObject({ failed_attempts: 1, wrapper_report: null, attempts: [{ number: 1, status: 'FAILED', exit_code: 3 }] });
    await patch(f, uuid, { status: 'RUNNING' }, reporter);
    await patch(f, uuid, { status: 'SUCCEEDED', exit_code: 0 }, reporter, false);
    fake.set(uuid, 2, exited(0));
    const done = await waitForStatus(f, uuid, ['SUCCEEDED', 'FAILED']);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2, failed_attempts: 1, exit_code: 0 });
    expect(done.attempts.map((a: any) => a.status)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(fake.started.filter((k) => k.startsWith(uuid))).toEqual([`${uuid}-1`, `${uuid}-2`]);
  });

  it('answers a heartbeat after a stop with 409; the monitor ends the process and records STOPPED', async () => {
    const uuid = await launch('job');
    expect((await patch(f, uuid, wrapperFields(), reporter)).status).toBe(200);
    const stop = await f.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status: 'STOPPING' });
    expect(stop.body.status).toBe('STOPPING');
    await waitFor(() => fake.stops.includes(`${uuid}-1`), 'the monitor to send the stop');

    const heartbeat = await patch(f, uuid, { status: 'RUNNING', success_count: 4 }, reporter, false);
    expect(expectError(heartbeat, 'STOP_REQUESTED').details).toEqual({ status: 'STOPPING', stop_reason: 'MANUAL' });
    // The process may still be running: Berth keeps watching it until it ends.
    expect(await get(f, uuid)).toMatchObject({ status: 'STOPPING', success_count: 4 });
    // proc_wrapper ends its command, reports ABORTED and exits 0 (what it does after SIGTERM).
    expect((await patch(f, uuid, { status: 'ABORTED', exit_code: 1 }, reporter, false)).status).toBe(204);
    fake.set(uuid, 1, exited(0));
    const done = await waitForStatus(f, uuid, ['STOPPED', 'ABORTED', 'SUCCEEDED', 'FAILED']);
    expect(done).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL', wrapper_report: { status: 'ABORTED' } });
  });

  it('treats STOPPED set on a launched run as a stop request: the process is never left unwatched', async () => {
    const uuid = await launch('job');
    const r = await f.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status: 'STOPPED' });
    expect(r.body.status).toBe('STOPPING');
    await waitFor(() => fake.stops.includes(`${uuid}-1`), 'the monitor to send the stop');
    fake.set(uuid, 1, exited(null, null));
    expect(await waitForStatus(f, uuid, ['STOPPED', 'FAILED'])).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL' });
  });

  it("ends ABORTED when the wrapper was stopped from outside Berth, though the container exited 0", async () => {
    const uuid = await launch('job');
    await patch(f, uuid, wrapperFields(), reporter);
    await patch(f, uuid, { status: 'ABORTED', exit_code: 1 }, reporter, false);
    fake.set(uuid, 1, exited(0));
    const done = await waitForStatus(f, uuid, ['ABORTED', 'SUCCEEDED', 'FAILED']);
    expect(done).toMatchObject({ status: 'ABORTED', exit_code: 0, failure: { code: 'ABORTED' } });
  });
});

describe('berth executions show and berth keys', () => {
  it('shows what the wrapper reported, as text and as --json', async () => {
    const r = await create(t, { ...wrapperFields(), task: { name: 'etl' } }, keys.plain);
    const uuid = r.body.uuid;
    await patch(t, uuid, { status: 'RUNNING', success_count: 40, error_count: 2, last_status_message: 'almost there' }, keys.plain, false);
    await patch(
      t,
      uuid,
      { status: 'FAILED', exit_code: 3, failed_attempts: 2, error_log_tail: 'ValueError: bad row\n', debug_log_tail: 'loading\nrow 40\n' },
      keys.plain,
      false,
    );
    const env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
    const [text, json] = await Promise.all([runCli(['executions', 'show', uuid], { env }), runCli(['executions', 'show', uuid, '--json'], { env })]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Status:\s+FAILED$/m);
    expect(text.stdout).toMatch(/^Run reason:\s+REPORTED$/m);
    expect(text.stdout).toMatch(/^Exit code:\s+3$/m);
    expect(text.stdout).toMatch(/^Attempt:\s+1 of at most 1 \(2 failed, 0 timed out\)$/m);
    expect(text.stdout).toMatch(/^Counts:\s+40 succeeded, 2 errors$/m);
    expect(text.stdout).toMatch(/^Status message:\s+almost there$/m);
    expect(text.stdout).toMatch(/^Last heartbeat:\s+\d{4}-\d\d-\d\d /m);
    expect(text.stdout).toMatch(/^Wrapper:\s+CloudReactor python proc_wrapper 6\.0\.1 on worker-7$/m);
    expect(text.stdout).toMatch(/^Wrapper report:\s+FAILED, exit code 3, 2 failed attempt\(s\) inside the wrapper/m);
    expect(text.stdout).toMatch(/^Error log tail \(from the wrapper\)\nValueError: bad row$/m);
    expect(text.stdout).toMatch(/^Debug log tail \(from the wrapper\)\nloading\nrow 40$/m);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await get(t, uuid));
  });

  it('creates a reporter key that may create passive Tasks, and lists the flag', async () => {
    const env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
    const created = await runCli(['keys', 'create', 'cli-creator', '--scope', 'reporter', '--run-environment', 'proto', '--may-create-passive-tasks'], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain('may create passive Tasks');
    const key = created.stdout.trim();
    const r = await create(t, { ...wrapperFields(), task: autoCreateTask('cli-key-task', { name: 'proto' }) }, key);
    expect(r.status, r.text).toBe(201);
    await patch(t, r.body.uuid, { status: 'SUCCEEDED', exit_code: 0 }, key);

    const refused = await runCli(['keys', 'create', 'cli-unbound', '--scope', 'reporter', '--may-create-passive-tasks'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('must be bound to a Run Environment');

    const list = await runCli(['keys', 'ls'], { env });
    expect(list.stdout).toMatch(/^NAME\s+SCOPE\s+PREFIX\s+RUN ENVIRONMENT\s+CREATES TASKS/m);
    expect(list.stdout).toMatch(/^cli-creator\s+reporter\s+berth_[0-9a-f]{8}\s+proto\s+passive\s/m);
    expect(list.stdout).toMatch(/^wrapper-plain\s+reporter\s+berth_[0-9a-f]{8}\s+proto\s+no\s/m);
    expect(list.stdout).toMatch(/^admin\s+admin\s+\S+\s+-\s+yes\s/m);
  });
});
