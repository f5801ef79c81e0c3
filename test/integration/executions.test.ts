/**
 * Task Executions end to end against a real server: real child processes through the local
 * executor, a real SQLite file, the real launcher and monitor loops. Outcomes, timeouts, stops,
 * retries, concurrency, environment and secrets, refusals, and progress reports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/domain/errors.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
type Reply = { status: number; body: any };

const TERMINAL = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED', 'ABANDONED', 'ABORTED', 'EXITED_AFTER_MARKED_DONE'];
const ENV_SECRET_NAME = 'BERTH_EXEC_TEST_ENV_SECRET';
const ENV_SECRET_VALUE = `env-secret-${process.pid}-${Date.now()}`;
const NOT_INHERITED = 'BERTH_EXEC_TEST_SERVER_ONLY';

function expectError(reply: Reply, code: ErrorCode): any {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status: ERROR_CATALOGUE[code].status, code });
  expect(Object.keys(reply.body)).toEqual(['error']);
  expect(typeof reply.body.error.message).toBe('string');
  return reply.body.error;
}

const ms = (iso: string | null) => (iso === null ? NaN : Date.parse(iso));

let t: TestServer;
let marks: ReturnType<typeof tempDir>;

beforeAll(async () => {
  // ENV: secrets are read from the server's environment; this one is in it, NOT_INHERITED must
  // not reach commands (only PATH, HOME and a few others do).
  process.env[ENV_SECRET_NAME] = ENV_SECRET_VALUE;
  process.env[NOT_INHERITED] = 'server-only-value';
  marks = tempDir('berth-exec-marks-');
  t = await startTestServer();
  expect((await t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
});
afterAll(async () => {
  await t?.stop();
  marks?.cleanup();
  delete process.env[ENV_SECRET_NAME];
  delete process.env[NOT_INHERITED];
});

async function createTask(spec: Record<string, unknown>, server: TestServer = t) {
  const r = await server.request('POST', '/api/v1/tasks/', { run_environment: 'local', ...spec });
  expect([200, 201], JSON.stringify(r.body)).toContain(r.status);
  return r.body;
}

async function start(task: string, extra: Record<string, unknown> = {}) {
  const r = await t.request('POST', '/api/v1/task_executions/', { task, ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body.status).toBe('QUEUED');
  return r.body;
}

async function get(uuid: string) {
  const r = await t.request('GET', `/api/v1/task_executions/${uuid}`);
  expect(r.status).toBe(200);
  return r.body;
}

async function waitForStatus(uuid: string, statuses: string[], timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const e = await get(uuid);
      return statuses.includes(e.status) ? e : null;
    },
    `execution ${uuid} to be ${statuses.join(' or ')}`,
    timeoutMs,
  );
}

const waitForEnd = (uuid: string) => waitForStatus(uuid, TERMINAL);

async function stop(uuid: string) {
  const r = await t.request('PATCH', `/api/v1/task_executions/${uuid}`, { status: 'STOPPING' });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Every log line of an attempt (the current one unless given), following the cursor. */
async function logs(uuid: string, attempt?: number) {
  const entries: { stream: string; text: string }[] = [];
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    const q = new URLSearchParams({ ...(cursor ? { cursor } : {}), ...(attempt ? { attempt: String(attempt) } : {}) });
    const r = await t.request('GET', `/api/v1/task_executions/${uuid}/logs?${q.toString()}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    entries.push(...r.body.entries);
    if (r.body.complete || r.body.entries.length === 0) return { entries, complete: r.body.complete, attempt: r.body.attempt };
    cursor = r.body.next_cursor;
  }
  throw new Error('too many log pages');
}

const texts = (entries: { stream: string; text: string }[], stream: string) => entries.filter((e) => e.stream === stream).map((e) => e.text);
const mark = (name: string) => path.join(marks.dir, name);

describe('outcomes', () => {
  it('records a success and serves its stdout and stderr lines', async () => {
    await createTask({ name: 'says-hello', command: 'echo out-1; echo err-1 >&2; echo "uuid=$BERTH_TASK_EXECUTION_UUID attempt=$BERTH_ATTEMPT"' });
    const started = await start('says-hello');
    const done = await waitForEnd(started.uuid);
    expect(done).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, failure: null, attempt: 1, failed_attempts: 0, stop_reason: null });
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]).toMatchObject({ number: 1, status: 'SUCCEEDED', exit_code: 0 });
    expect(ms(done.started_at)).toBeLessThanOrEqual(ms(done.finished_at));
    expect(done.executor.kind).toBe('local');
    expect(typeof done.executor.details.pid).toBe('number');

    const log = await logs(started.uuid);
    expect(log.complete).toBe(true);
    expect(log.attempt).toBe(1);
    expect(texts(log.entries, 'stdout')).toEqual(['out-1', `uuid=${started.uuid} attempt=1`]);
    expect(texts(log.entries, 'stderr')).toEqual(['err-1']);
  });

  it('records a failure with its exit code and a message', async () => {
    await createTask({ name: 'exits-3', command: 'echo about to fail; exit 3' });
    const started = await start('exits-3');
    const done = await waitForEnd(started.uuid);
    expect(done).toMatchObject({ status: 'FAILED', exit_code: 3, failed_attempts: 1 });
    expect(done.failure).toMatchObject({ type: 'EXIT', exit_code: 3, fault: 'task' });
    expect(done.failure.message).toContain('code 3');
    expect(done.attempts[0]).toMatchObject({ status: 'FAILED', exit_code: 3 });
    expect(texts((await logs(started.uuid)).entries, 'stdout')).toEqual(['about to fail']);
  });

  it('records a death by signal', async () => {
    await createTask({ name: 'killed', command: 'kill -KILL $$; sleep 5' });
    const done = await waitForEnd((await start('killed')).uuid);
    expect(done).toMatchObject({ status: 'FAILED', exit_code: null });
    expect(done.failure).toMatchObject({ type: 'SIGNAL', signal: 'SIGKILL' });
    expect(done.failure.message).toContain('SIGKILL');
  });

  it('refuses to stop or report on a finished execution', async () => {
    await createTask({ name: 'quick', command: 'true' });
    const done = await waitForEnd((await start('quick')).uuid);
    expect(done.status).toBe('SUCCEEDED');
    const r = await t.request('PATCH', `/api/v1/task_executions/${done.uuid}`, { status: 'STOPPING' });
    expect(expectError(r, 'INVALID_TRANSITION').details).toMatchObject({ status: 'SUCCEEDED' });
    expectError(await t.request('PATCH', `/api/v1/task_executions/${done.uuid}`, { success_count: 1 }), 'INVALID_TRANSITION');
    expectError(await t.request('PATCH', `/api/v1/task_executions/${done.uuid}`, { status: 'RUNNING' }), 'INVALID_TRANSITION');
    expect(await get(done.uuid)).toMatchObject({ status: 'SUCCEEDED', success_count: null, stop_reason: null });
  });
});

describe('timeouts and stops', () => {
  it('ends a run that outlives timeout_seconds', async () => {
    await createTask({ name: 'too-slow', command: 'sleep 30', timeout_seconds: 1 });
    const before = Date.now();
    const done = await waitForEnd((await start('too-slow')).uuid);
    expect(Date.now() - before).toBeLessThan(10_000);
    expect(done).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED', timed_out_attempts: 1 });
    expect(done.failure).toMatchObject({ type: 'TIMEOUT', code: 'MAX_EXECUTION_TIME_EXCEEDED' });
    const ran = ms(done.finished_at) - ms(done.started_at);
    expect(ran).toBeGreaterThanOrEqual(950);
    expect(ran).toBeLessThan(5_000);
  });

  it('kills a run that ignores SIGTERM after the grace period', async () => {
    await createTask({ name: 'ignores-term', command: 'trap "" TERM; echo trapped; sleep 30', timeout_seconds: 1, termination_grace_period_seconds: 1 });
    const started = await start('ignores-term');
    const done = await waitForEnd(started.uuid);
    expect(done).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' });
    expect(done.failure).toMatchObject({ type: 'TIMEOUT', signal: 'SIGKILL' });
    expect(done.failure.message).toMatch(/ignored SIGTERM/);
    const ran = ms(done.finished_at) - ms(done.started_at);
    expect(ran).toBeGreaterThanOrEqual(1_900); // timeout + grace
    expect(ran).toBeLessThan(6_000);
    expect(texts((await logs(started.uuid)).entries, 'stderr').join('\n')).toMatch(/SIGKILL/);
  });

  it('stops a running execution on request, within its grace period', async () => {
    await createTask({ name: 'stoppable', command: 'sleep 30', termination_grace_period_seconds: 5 });
    const started = await start('stoppable');
    await waitForStatus(started.uuid, ['RUNNING']);
    const stopping = await stop(started.uuid);
    expect(stopping.status).toBe('STOPPING');
    expect(stopping.stop_requested_at).not.toBeNull();
    // Asking again while it stops changes nothing.
    expect((await stop(started.uuid)).stop_requested_at).toBe(stopping.stop_requested_at);
    const done = await waitForStatus(started.uuid, TERMINAL);
    expect(done).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL', failed_attempts: 0 });
    expect(ms(done.finished_at) - ms(stopping.stop_requested_at)).toBeLessThan(5_000);
    expect(done.attempts).toHaveLength(1);
  });

  it('stops a running execution that ignores SIGTERM, with SIGKILL after the grace period', async () => {
    await createTask({ name: 'stubborn', command: 'trap "" TERM; sleep 30', termination_grace_period_seconds: 1 });
    const started = await start('stubborn');
    await waitForStatus(started.uuid, ['RUNNING']);
    const stopping = await stop(started.uuid);
    const done = await waitForStatus(started.uuid, TERMINAL);
    expect(done).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL' });
    const took = ms(done.finished_at) - ms(stopping.stop_requested_at);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(6_000);
  });

  it('cancels a QUEUED execution at once, and it never runs', async () => {
    const command = `touch ${mark('ran-')}$BERTH_TASK_EXECUTION_UUID; sleep 30`;
    await createTask({ name: 'one-slot', command, max_concurrency: 1, termination_grace_period_seconds: 2 });
    const first = await start('one-slot');
    await waitForStatus(first.uuid, ['RUNNING']);
    const queued = await start('one-slot');
    expect((await get(queued.uuid)).status).toBe('QUEUED');

    const cancelled = await stop(queued.uuid);
    expect(cancelled).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL', attempt: 0 });
    expect(cancelled.finished_at).not.toBeNull();

    // Free the slot, then start another: once that one runs, the launcher has had its chance.
    expect((await stop(first.uuid)).status).toBe('STOPPING');
    expect((await waitForEnd(first.uuid)).status).toBe('STOPPED');
    const third = await start('one-slot');
    await waitFor(() => fs.existsSync(mark(`ran-${third.uuid}`)), 'the third execution to run');
    expect(fs.existsSync(mark(`ran-${first.uuid}`))).toBe(true);
    expect(fs.existsSync(mark(`ran-${queued.uuid}`))).toBe(false);
    expect(await get(queued.uuid)).toMatchObject({ status: 'STOPPED', attempt: 0, attempts: [], executor: { kind: 'local', details: {} } });
    // It never had an attempt: its logs are empty, and complete.
    const logs = await t.request('GET', `/api/v1/task_executions/${queued.uuid}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body).toMatchObject({ entries: [], attempt: 0, complete: true });
    await stop(third.uuid);
    await waitForEnd(third.uuid);
  });

  it('records progress sent with a stop of a queued execution, and refuses statuses only Berth sets', async () => {
    await createTask({ name: 'slot-two', command: 'sleep 30', max_concurrency: 1, termination_grace_period_seconds: 1 });
    const first = await start('slot-two');
    await waitForStatus(first.uuid, ['RUNNING']);
    const queued = await start('slot-two');
    for (const status of ['QUEUED', 'MANUALLY_STARTED']) {
      expectError(await t.request('PATCH', `/api/v1/task_executions/${queued.uuid}/`, { status }), 'INVALID_TRANSITION');
    }
    // A reporter cannot make a queued execution RUNNING behind the launcher's back.
    expectError(await t.request('PATCH', `/api/v1/task_executions/${queued.uuid}/`, { status: 'RUNNING' }), 'INVALID_TRANSITION');
    const r = await t.request('PATCH', `/api/v1/task_executions/${queued.uuid}/`, {
      status: 'STOPPING',
      last_status_message: 'cancelled by the operator',
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'STOPPED', last_status_message: 'cancelled by the operator' });
    await stop(first.uuid);
    await waitForEnd(first.uuid);
  });
});

describe('retries', () => {
  const gaps = (e: any) =>
    e.attempts.slice(1).map((a: any, i: number) => ms(a.started_at) - ms(e.attempts[i].finished_at));

  it('retries a failing command max_retries times, waiting retry_delay_seconds', async () => {
    await createTask({ name: 'always-4', command: 'echo "attempt $BERTH_ATTEMPT"; exit 4', max_retries: 2, retry_delay_seconds: 1 });
    const started = await start('always-4');
    expect(started.max_attempts).toBe(3);
    const done = await waitForEnd(started.uuid);
    expect(done).toMatchObject({ status: 'FAILED', exit_code: 4, attempt: 3, failed_attempts: 3 });
    expect(done.attempts.map((a: any) => [a.number, a.status, a.exit_code])).toEqual([
      [1, 'FAILED', 4],
      [2, 'FAILED', 4],
      [3, 'FAILED', 4],
    ]);
    for (const gap of gaps(done)) expect(gap).toBeGreaterThanOrEqual(950);
    // Each attempt keeps its own logs.
    expect(texts((await logs(started.uuid, 1)).entries, 'stdout')).toEqual(['attempt 1']);
    expect(texts((await logs(started.uuid)).entries, 'stdout')).toEqual(['attempt 3']);
  });

  it('grows the delay by retry_backoff_multiplier', async () => {
    await createTask({ name: 'backoff', command: 'exit 4', max_retries: 2, retry_delay_seconds: 1, retry_backoff_multiplier: 2 });
    const done = await waitForEnd((await start('backoff')).uuid);
    expect(done.attempts).toHaveLength(3);
    const [first, second] = gaps(done);
    expect(first).toBeGreaterThanOrEqual(950);
    expect(second).toBeGreaterThanOrEqual(1_950);
  });

  it('ends SUCCEEDED when a retry succeeds', async () => {
    const marker = mark('failed-once');
    await createTask({
      name: 'flaky',
      command: `if [ -e ${marker} ]; then echo second; else touch ${marker}; echo first; exit 1; fi`,
      max_retries: 2,
      retry_delay_seconds: 0,
    });
    const done = await waitForEnd((await start('flaky')).uuid);
    expect(done).toMatchObject({ status: 'SUCCEEDED', attempt: 2, failed_attempts: 1, exit_code: 0, failure: null, stop_reason: null });
    expect(done.attempts.map((a: any) => a.status)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(texts((await logs(done.uuid)).entries, 'stdout')).toEqual(['second']);
  });

  it('retries a timeout only with retry_on_timeout', async () => {
    await createTask({ name: 'slow-no-retry', command: 'sleep 30', timeout_seconds: 1, max_retries: 1, retry_delay_seconds: 0 });
    await createTask({
      name: 'slow-retry',
      command: 'sleep 30',
      timeout_seconds: 1,
      max_retries: 1,
      retry_delay_seconds: 0,
      retry_on_timeout: true,
    });
    const [noRetry, retry] = [await start('slow-no-retry'), await start('slow-retry')];
    const a = await waitForEnd(noRetry.uuid);
    expect(a).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', attempt: 1, timed_out_attempts: 1 });
    expect(a.attempts).toHaveLength(1);
    const b = await waitForEnd(retry.uuid);
    expect(b).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', attempt: 2, timed_out_attempts: 2, stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' });
    expect(b.attempts.map((x: any) => x.status)).toEqual(['TERMINATED_AFTER_TIME_OUT', 'TERMINATED_AFTER_TIME_OUT']);
  });
});

describe('concurrency', () => {
  it('queues a second start until the first ends, without overlap', async () => {
    const order = mark('serial.log');
    await createTask({
      name: 'serial',
      command: `echo "start $BERTH_TASK_EXECUTION_UUID" >> ${order}; sleep 1; echo "end $BERTH_TASK_EXECUTION_UUID" >> ${order}`,
      max_concurrency: 1,
    });
    const first = await start('serial');
    const second = await start('serial');
    await waitForStatus(first.uuid, ['RUNNING']);
    expect((await get(second.uuid)).status).toBe('QUEUED');
    const a = await waitForEnd(first.uuid);
    const b = await waitForEnd(second.uuid);
    expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(ms(b.started_at)).toBeGreaterThanOrEqual(ms(a.finished_at));
    expect(fs.readFileSync(order, 'utf8').trim().split('\n')).toEqual([
      `start ${first.uuid}`,
      `end ${first.uuid}`,
      `start ${second.uuid}`,
      `end ${second.uuid}`,
    ]);
  });

  it('rejects a start over the limit with on_concurrency_limit: reject', async () => {
    await createTask({ name: 'exclusive', command: 'sleep 30', max_concurrency: 1, on_concurrency_limit: 'reject', termination_grace_period_seconds: 2 });
    const first = await start('exclusive');
    const refused = await t.request('POST', '/api/v1/task_executions/', { task: 'exclusive' });
    expect(expectError(refused, 'MAX_CONCURRENCY_REACHED').details).toMatchObject({ max_concurrency: 1, in_progress: 1 });
    await waitForStatus(first.uuid, ['RUNNING']);
    expectError(await t.request('POST', '/api/v1/task_executions/', { task: 'exclusive' }), 'MAX_CONCURRENCY_REACHED');
    expect((await t.request('GET', '/api/v1/task_executions/?task=exclusive')).body.count).toBe(1);
    await stop(first.uuid);
    await waitForEnd(first.uuid);
    const next = await start('exclusive');
    await stop(next.uuid);
    await waitForEnd(next.uuid);
  });
});

describe('environment and secrets', () => {
  it('layers Run Environment, Task and start-request variables, and passes no other server variables', async () => {
    expect(
      (
        await t.request('POST', '/api/v1/run_environments/', {
          name: 'layers',
          kind: 'local',
          environment: { LAYER_A: 'env', LAYER_B: 'env', LAYER_C: 'env' },
        })
      ).status,
    ).toBe(201);
    await createTask({
      name: 'layered',
      run_environment: 'layers',
      environment: { LAYER_B: 'task', LAYER_C: 'task' },
      command: `echo "A=$LAYER_A B=$LAYER_B C=$LAYER_C server=\${${NOT_INHERITED}:-unset}"`,
    });
    const started = await start('layered', { environment: { LAYER_C: 'start' } });
    expect(started.environment_overrides).toEqual({ LAYER_C: 'start' });
    expect((await waitForEnd(started.uuid)).status).toBe('SUCCEEDED');
    expect(texts((await logs(started.uuid)).entries, 'stdout')).toEqual(['A=env B=task C=start server=unset']);
  });

  it('hands ENV: and FILE: secrets to the process, never to the API', async () => {
    const file = mark('file-secret.txt');
    const fileValue = `file-secret-${Date.now()}`;
    fs.writeFileSync(file, `${fileValue}\n`);
    await createTask({
      name: 'secretive',
      secrets: { FROM_ENV: `ENV:${ENV_SECRET_NAME}`, FROM_FILE: `FILE:${file}` },
      command: 'echo "env=$FROM_ENV file=$FROM_FILE"',
    });
    const started = await start('secretive');
    const done = await waitForEnd(started.uuid);
    expect(done.status).toBe('SUCCEEDED');
    expect(texts((await logs(started.uuid)).entries, 'stdout')).toEqual([`env=${ENV_SECRET_VALUE} file=${fileValue}`]);
    const task = await t.request('GET', '/api/v1/tasks/secretive');
    expect(task.body.secrets).toEqual({ FROM_ENV: `ENV:${ENV_SECRET_NAME}`, FROM_FILE: `FILE:${file}` });
    for (const body of [task.body, done, (await t.request('GET', '/api/v1/task_executions/?task=secretive')).body]) {
      expect(JSON.stringify(body)).not.toContain(ENV_SECRET_VALUE);
      expect(JSON.stringify(body)).not.toContain(fileValue);
    }
  });

  it('fails to start, without retrying or leaking, when a secret is missing', async () => {
    await createTask({
      name: 'missing-secret',
      secrets: { PRESENT: `ENV:${ENV_SECRET_NAME}`, MISSING_ONE: 'ENV:BERTH_EXEC_TEST_NO_SUCH_VARIABLE' },
      command: 'echo should not run; touch ' + mark('missing-secret-ran'),
      max_retries: 2,
      retry_delay_seconds: 0,
    });
    const done = await waitForEnd((await start('missing-secret')).uuid);
    expect(done).toMatchObject({ status: 'FAILED', stop_reason: 'FAILED_TO_START', attempt: 1, exit_code: null });
    expect(done.failure).toMatchObject({ type: 'START_FAILED', code: 'SECRET_UNRESOLVED', fault: 'config' });
    expect(done.failure.message).toContain('MISSING_ONE');
    expect(done.failure.message).toContain('BERTH_EXEC_TEST_NO_SUCH_VARIABLE');
    expect(done.attempts).toHaveLength(1);
    expect(JSON.stringify(done)).not.toContain(ENV_SECRET_VALUE);
    expect(fs.existsSync(mark('missing-secret-ran'))).toBe(false);
  });

  it('fails to start a program that does not exist', async () => {
    await createTask({ name: 'no-program', command: ['/nonexistent/berth-no-such-program', '--flag'] });
    const done = await waitForEnd((await start('no-program')).uuid);
    expect(done).toMatchObject({ status: 'FAILED', stop_reason: 'FAILED_TO_START' });
    expect(done.failure).toMatchObject({ type: 'START_FAILED', code: 'COMMAND_NOT_FOUND' });
    expect(done.failure.message).toContain('/nonexistent/berth-no-such-program');
  });
});

describe('refusals', () => {
  it('refuses to start a disabled or a passive Task', async () => {
    await createTask({ name: 'switched-off', command: 'true', enabled: false });
    await createTask({ name: 'watched-only', passive: true });
    expectError(await t.request('POST', '/api/v1/task_executions/', { task: 'switched-off' }), 'TASK_DISABLED');
    expectError(await t.request('POST', '/api/v1/task_executions/', { task: { name: 'watched-only' } }), 'TASK_IS_PASSIVE');
    for (const task of ['switched-off', 'watched-only']) {
      expect((await t.request('GET', `/api/v1/task_executions/?task=${task}`)).body.count).toBe(0);
    }
    // Enabling it is enough.
    expect((await t.request('PATCH', '/api/v1/tasks/switched-off', { enabled: true })).status).toBe(200);
    expect((await waitForEnd((await start('switched-off')).uuid)).status).toBe('SUCCEEDED');
  });

  it('refuses to start local Tasks on a server without the local executor', async () => {
    const off = await startTestServer({ localExecutor: false });
    try {
      expect((await off.request('GET', '/health', undefined, null)).body.executors).toEqual(['aws-ecs']);
      expect((await off.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
      await createTask({ name: 'nowhere-to-run', command: 'true' }, off);
      expectError(await off.request('POST', '/api/v1/task_executions/', { task: 'nowhere-to-run' }), 'EXECUTOR_DISABLED');
      expect((await off.request('GET', '/api/v1/task_executions/')).body.count).toBe(0);
    } finally {
      await off.stop();
    }
  });
});

describe('progress reports', () => {
  it('stores progress fields, answers 204 for content=false, and ends EXITED_AFTER_MARKED_DONE', async () => {
    const go = mark('go');
    await createTask({ name: 'reports', command: `while [ ! -e ${go} ]; do sleep 0.1; done; echo released` });
    const started = await start('reports');
    await waitForStatus(started.uuid, ['RUNNING']);

    const progress = {
      success_count: 5,
      error_count: 1,
      skipped_count: 2,
      expected_count: 10,
      last_status_message: 'halfway there',
      output_value: { rows: 5 },
    };
    const patched = await t.request('PATCH', `/api/v1/task_executions/${started.uuid}`, progress);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ ...progress, status: 'RUNNING' });
    expect(patched.body.last_heartbeat_at).not.toBeNull();
    expect(await get(started.uuid)).toMatchObject(progress);

    const quiet = await fetch(`${t.server.url}/api/v1/task_executions/${started.uuid}?content=false`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ success_count: 6, last_status_message: 'more' }),
    });
    expect(quiet.status).toBe(204);
    expect(await quiet.text()).toBe('');
    expect(await get(started.uuid)).toMatchObject({ ...progress, success_count: 6, last_status_message: 'more' });

    const invalid = await t.request('PATCH', `/api/v1/task_executions/${started.uuid}`, { success_count: -1 });
    expect(expectError(invalid, 'VALIDATION_FAILED').details.issues.map((i: any) => i.path)).toContain('body.success_count');
    expectError(await t.request('PATCH', `/api/v1/task_executions/${started.uuid}`, { status: 'QUEUED' }), 'INVALID_TRANSITION');

    const marked = await t.request('PATCH', `/api/v1/task_executions/${started.uuid}`, { status: 'MARKED_DONE' });
    expect(marked.status).toBe(200);
    expect(marked.body.status).toBe('MARKED_DONE');
    expect(marked.body.finished_at).not.toBeNull();
    expectError(await t.request('PATCH', `/api/v1/task_executions/${started.uuid}`, { status: 'STOPPING' }), 'INVALID_TRANSITION');
    // Berth no longer waits for it, but still notices when the process exits.
    expect((await get(started.uuid)).status).toBe('MARKED_DONE');
    fs.writeFileSync(go, '');
    const done = await waitForEnd(started.uuid);
    expect(done).toMatchObject({ status: 'EXITED_AFTER_MARKED_DONE', exit_code: 0, success_count: 6, last_status_message: 'more' });
    expect(texts((await logs(started.uuid)).entries, 'stdout')).toEqual(['released']);
  });
});
