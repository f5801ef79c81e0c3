/**
 * Liveness against a real server with a fake clock (no sleeps that guess): missing heartbeats
 * of reported and launched executions, start deadlines, and missed scheduled runs of passive
 * Tasks, with their events. The clock moves only when a test says so; the liveness loop runs
 * every 50 ms of real time, and "not before" is checked after two whole passes.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/executors/local/local-executor.js';
import type { Executor } from '../../src/executors/executor.js';
import { FakeExecutor } from '../support/fake-executor.js';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../support/postgres.js';
import { startTestServer } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';
import { FakeClock, ok } from '../support/fake-clock.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const SECOND = 1000;
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Resolves after `n` whole liveness passes that started after this call. */
async function livenessPasses(server: TestServer, n = 2): Promise<void> {
  const start = server.server.loopStats().liveness.passes;
  await waitFor(() => server.server.loopStats().liveness.passes >= start + n + 1, `${n} liveness passes`);
}

function nextUtcTime(after: number, hour: number): number {
  const d = new Date(after);
  const candidate = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hour);
  return candidate > after ? candidate : candidate + 24 * HOUR;
}

describe('liveness on one server (SQLite)', () => {
  // A real base, so the local executor's own timestamps are close to the fake clock's.
  const clock = new FakeClock(Math.floor(Date.now() / SECOND) * SECOND);
  const data = tempDir('berth-liveness-');
  const ecs = new FakeExecutor('aws-ecs');
  let t: TestServer;

  beforeAll(async () => {
    const executors = new Map<string, Executor>([
      ['local', new LocalExecutor({ dataDir: data.dir, defaultWorkingDirectory: data.dir })],
      ['aws-ecs', ecs],
    ]);
    t = await startTestServer({ dataDir: data.dir, livenessIntervalMs: 50 }, { clock, executors });
    await ok(t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' }));
    await ok(
      t.request('POST', '/api/v1/run_environments/', {
        name: 'ecs',
        kind: 'aws-ecs',
        region: 'eu-west-1',
        cluster: 'berth',
        subnets: ['subnet-0a1b2c3d4e5f60718'],
        security_groups: ['sg-0123456789abcdef0'],
        execution_role_arn: 'arn:aws:iam::123456789012:role/berth-task-execution',
      }),
    );
  });
  afterAll(async () => {
    await t?.stop();
    data.cleanup();
  });

  const get = async (uuid: string) => ok(t.request('GET', `/api/v1/task_executions/${uuid}`));
  const events = async (query: string) => ok(t.request('GET', `/api/v1/events?${query}`));
  const report = async (task: string) => {
    const r = await ok(t.request('POST', '/api/v1/task_executions/', { task: { name: task }, status: 'RUNNING' }));
    expect(r).toMatchObject({ status: 'RUNNING', run_reason: 'REPORTED' });
    return r.uuid as string;
  };

  it('abandons a reported execution whose heartbeats stop, after interval + lateness and not before; a heartbeat in time keeps it alive', async () => {
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'reported', run_environment: 'local', passive: true, heartbeat_interval_seconds: 30, max_heartbeat_lateness_seconds: 15 }));
    const uuid = await report('reported');
    const t0 = clock.now();

    // 44 s of silence: within 30 + 15 s.
    clock.set(t0 + 44 * SECOND);
    await livenessPasses(t);
    expect((await get(uuid)).status).toBe('RUNNING');

    // A heartbeat at +44 s; then exactly 45 s of silence is still allowed.
    expect((await t.request('PATCH', `/api/v1/task_executions/${uuid}/?content=false`, { status: 'RUNNING', success_count: 3 })).status).toBe(204);
    clock.set(t0 + 89 * SECOND);
    await livenessPasses(t);
    const alive = await get(uuid);
    expect(alive.status).toBe('RUNNING');
    expect(alive.last_heartbeat_at).toBe(iso(t0 + 44 * SECOND));

    // One second more: given up.
    const late = clock.set(t0 + 90 * SECOND);
    const abandoned = await waitFor(async () => {
      const e = await get(uuid);
      return e.status === 'ABANDONED' ? e : null;
    }, 'the reported execution to be ABANDONED');
    expect(abandoned).toMatchObject({ stop_reason: 'MISSING_HEARTBEAT', finished_at: iso(late), success_count: 3 });
    expect(abandoned.attempts).toEqual([expect.objectContaining({ number: 1, status: 'ABANDONED', finished_at: iso(late) })]);
    expect(abandoned.failure).toMatchObject({ type: 'MISSING_HEARTBEAT', code: 'MISSING_HEARTBEAT', fault: 'infrastructure' });
    expect(abandoned.failure.message).toContain(`The last heartbeat arrived at ${iso(t0 + 44 * SECOND)} (46 s ago)`);
    expect(abandoned.failure.message).toContain('every 30 s, at most 15 s late');

    // The wrapper's next heartbeat is refused: that is how it learns to end its command.
    expect((await t.request('PATCH', `/api/v1/task_executions/${uuid}/?content=false`, { status: 'RUNNING' })).status).toBe(409);

    const recorded = await events(`type=MISSING_HEARTBEAT&task_execution=${uuid}`);
    expect(recorded.count).toBe(1);
    expect(recorded.results[0]).toMatchObject({
      type: 'MISSING_HEARTBEAT',
      severity: 'error',
      task: { name: 'reported' },
      task_execution: { uuid },
      created_at: iso(late),
      details: { last_seen_at: iso(t0 + 44 * SECOND), heartbeat_interval_seconds: 30, max_heartbeat_lateness_seconds: 15, launched_by_berth: false },
    });
    expect(recorded.results[0].message).toContain(`Execution ${uuid} of Task "reported"`);
  });

  it('never gives up on executions of a Task without a heartbeat interval', async () => {
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'no-heartbeat', run_environment: 'local', passive: true }));
    const uuid = await report('no-heartbeat');
    clock.advance(24 * HOUR);
    await livenessPasses(t);
    expect((await get(uuid)).status).toBe('RUNNING');
    // Done with it: end it so that it does not linger into later tests.
    await ok(t.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status: 'SUCCEEDED', exit_code: 0 }));
  });

  it('stops a process Berth launched when its heartbeats stop, then records ABANDONED', async () => {
    // Interval 10 s and the default lateness (60 s): silent for more than 70 s is too long.
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'sleeper', run_environment: 'local', command: 'sleep 600', heartbeat_interval_seconds: 10, termination_grace_period_seconds: 5 }));
    const started = await ok(t.request('POST', '/api/v1/task_executions/', { task: 'sleeper' }));
    // The monitor's regular pass (every 100 ms of the server's clock) sees it running: let time pass.
    const running = await waitFor(async () => {
      clock.advance(100);
      const e = await get(started.uuid);
      return e.status === 'RUNNING' ? e : null;
    }, 'the sleeper to run');
    const pid = running.executor.details.pid as number;
    expect(() => process.kill(pid, 0)).not.toThrow();

    // Its start (real time, close to the fake clock) plus 70 s is well behind this.
    clock.advance(5 * 60 * SECOND);
    const done = await waitFor(async () => {
      const e = await get(started.uuid);
      return e.status === 'ABANDONED' ? e : null;
    }, 'the sleeper to be stopped and ABANDONED');
    expect(done.stop_reason).toBe('MISSING_HEARTBEAT');
    expect(done.failure.message).toMatch(/^No heartbeat arrived since it started .* Berth stopped the process/);
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]).toMatchObject({ status: 'ABANDONED', failure: { type: 'MISSING_HEARTBEAT' } });
    // Nothing left running unwatched.
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, `process ${pid} to be gone`);
    const recorded = await events(`type=MISSING_HEARTBEAT&task=sleeper`);
    expect(recorded.count).toBe(1);
    expect(recorded.results[0].details).toMatchObject({ launched_by_berth: true, status_before: 'RUNNING' });
  });

  it('fails an ECS task that is not running within its start deadline (600 s by default) and stops it', async () => {
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'slow-pull', run_environment: 'ecs', image: 'public.ecr.aws/docker/library/busybox:1.36' }));
    const task = await ok(t.request('GET', '/api/v1/tasks/slow-pull'));
    expect(task.start_deadline_seconds).toBeNull();
    const started = await ok(t.request('POST', '/api/v1/task_executions/', { task: 'slow-pull' }));
    const uuid = started.uuid as string;
    await waitFor(async () => {
      const e = await get(uuid);
      return e.status === 'MANUALLY_STARTED' && e.executor !== null;
    }, 'the launch');
    const launchedAt = clock.now();

    clock.set(launchedAt + 600 * SECOND);
    await livenessPasses(t);
    expect((await get(uuid)).status).toBe('MANUALLY_STARTED');
    expect(ecs.stops).toEqual([]);

    clock.set(launchedAt + 601 * SECOND);
    await waitFor(() => ecs.stops.includes(`${uuid}-1`), 'the monitor to stop the ECS task');
    const stopping = await get(uuid);
    expect(stopping).toMatchObject({ status: 'STOPPING', stop_reason: 'FAILED_TO_START' });

    // ECS reports the stopped task (no exit code: it never ran).
    ecs.set(uuid, 1, { state: 'exited', startedAt: null, finishedAt: clock.now(), exitCode: null, signal: null, timedOut: false, failure: null });
    const failed = await waitFor(async () => {
      const e = await get(uuid);
      return e.status === 'FAILED' ? e : null;
    }, 'the execution to be FAILED');
    expect(failed).toMatchObject({ stop_reason: 'FAILED_TO_START', failed_attempts: 1 });
    expect(failed.failure).toMatchObject({ type: 'START_FAILED', code: 'START_DEADLINE_EXCEEDED', fault: 'infrastructure' });
    expect(failed.failure.message).toMatch(/start deadline of 600 s, so Berth stopped it\. The ECS task stayed PROVISIONING or PENDING/);
    const recorded = await events(`type=FAILED_TO_START&task_execution=${uuid}`);
    expect(recorded.count).toBe(1);
    expect(recorded.results[0].details).toMatchObject({ start_deadline_seconds: 600, executor_kind: 'aws-ecs', executor_accepted: true });
  });

  it('fails an execution that nothing launched and nobody reported RUNNING, after the fallback deadline', async () => {
    // Created MANUALLY_STARTED with no executor: a run a wrapper was to report (as CloudReactor allows).
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'awaited', run_environment: 'local', passive: true }));
    const task = (await t.server.ctx.store.getTask('awaited'))!;
    const uuid = randomUUID();
    const createdAt = clock.now();
    await t.server.ctx.store.createExecution({
      uuid,
      task_uuid: task.uuid,
      run_environment_uuid: task.run_environment_uuid,
      status: 'MANUALLY_STARTED',
      run_reason: 'EXPLICIT_START',
      max_attempts: 1,
      environment_overrides: {},
      input_value: null,
      created_at: createdAt,
    });
    clock.set(createdAt + 600 * SECOND);
    await livenessPasses(t);
    expect((await get(uuid)).status).toBe('MANUALLY_STARTED');
    clock.set(createdAt + 601 * SECOND);
    const failed = await waitFor(async () => {
      const e = await get(uuid);
      return e.status === 'FAILED' ? e : null;
    }, 'the unlaunched execution to fail');
    expect(failed).toMatchObject({ stop_reason: 'FAILED_TO_START', finished_at: iso(createdAt + 601 * SECOND), attempts: [] });
    expect(failed.failure.message).toMatch(/so Berth gave up on it\. Nothing reported it RUNNING/);
    expect((await events(`type=FAILED_TO_START&task_execution=${uuid}`)).results[0].details).toMatchObject({ executor_kind: null, start_deadline_seconds: 600 });
  });

  it('records one missed-run event for a passive scheduled Task with no run, and none for a run that arrives', async () => {
    // The Task is written at 02:00 UTC and expects a run at 03:00, ten minutes late at most.
    const written = clock.set(nextUtcTime(clock.now(), 2));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'nightly', run_environment: 'local', passive: true, schedule: '0 3 * * *' }));
    const due = written + HOUR;

    clock.set(due + 600 * SECOND - 1);
    await livenessPasses(t);
    expect((await events('type=MISSED_SCHEDULED_RUN&task=nightly')).count).toBe(0);

    clock.set(due + 600 * SECOND);
    const first = await waitFor(async () => {
      const page = await events('type=MISSED_SCHEDULED_RUN&task=nightly');
      return page.count > 0 ? page : null;
    }, 'the missed run to be recorded');
    expect(first.count).toBe(1);
    expect(first.results[0]).toMatchObject({
      type: 'MISSED_SCHEDULED_RUN',
      task: { name: 'nightly' },
      task_execution: null,
      details: { expected_at: iso(due), deadline: iso(due + 600 * SECOND), schedule: '0 3 * * *', max_schedule_lateness_seconds: 600 },
    });
    expect(first.results[0].message).toContain(`Task "nightly" was expected to run at ${iso(due)}`);
    // Later passes do not record it again.
    clock.advance(HOUR);
    await livenessPasses(t, 3);
    expect((await events('type=MISSED_SCHEDULED_RUN&task=nightly')).count).toBe(1);

    // The next night the run is reported five minutes late: no event.
    clock.set(due + 24 * HOUR + 5 * 60 * SECOND);
    const uuid = await report('nightly');
    await ok(t.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status: 'SUCCEEDED', exit_code: 0 }));
    clock.set(due + 24 * HOUR + 11 * 60 * SECOND);
    await livenessPasses(t);
    expect((await events('type=MISSED_SCHEDULED_RUN&task=nightly')).count).toBe(1);

    // The night after, nothing again: a second event, for that night.
    clock.set(due + 48 * HOUR + 10 * 60 * SECOND);
    const second = await waitFor(async () => {
      const page = await events('type=MISSED_SCHEDULED_RUN&task=nightly');
      return page.count === 2 ? page : null;
    }, 'the second missed run');
    expect(second.results[0].details.expected_at).toBe(iso(due + 48 * HOUR));
  });

  it('validates the new Task fields with messages that say what to change', async () => {
    const bad = await t.request('POST', '/api/v1/tasks/', {
      name: 'bad-liveness',
      run_environment: 'local',
      passive: true,
      schedule: 'cron(0 12 * * MON *)',
      max_heartbeat_lateness_seconds: 30,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'body.schedule', message: expect.stringMatching(/exactly one of day-of-month and day-of-week must be "\?"/) }),
        expect.objectContaining({ path: 'body.max_heartbeat_lateness_seconds', message: expect.stringMatching(/needs heartbeat_interval_seconds/) }),
      ]),
    );
    const filter = await t.request('GET', '/api/v1/events?type=MISSED,FAILED_TO_START');
    expect(filter.status).toBe(400);
    expect(JSON.stringify(filter.body)).toContain('unknown event type \\"MISSED\\"');
    expect((await t.request('GET', '/api/v1/events?task=no-such-task')).body.error.code).toBe('TASK_NOT_FOUND');
  });

  it('leaves no liveness work behind: the loop ran and never failed', () => {
    const stats = t.server.loopStats().liveness;
    expect(stats.passes).toBeGreaterThan(10);
    expect(stats.errors).toBe(0);
    expect(fs.existsSync(data.dir)).toBe(true);
  });
});

describe.runIf(await postgresAvailable())('missed runs with two servers on one PostgreSQL database', () => {
  const schema = freshSchemaName();
  const clock = new FakeClock(Date.UTC(2030, 0, 1, 2, 0));
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await dropSchema(schema);
  });

  it('records each missed run exactly once', async () => {
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startTestServer(
          { databaseUrl: POSTGRES_TEST_URL, databaseSchema: schema, livenessIntervalMs: 20, localExecutor: false },
          { clock, executors: new Map() },
        ),
      );
    }
    const [a, b] = servers as [TestServer, TestServer];
    await ok(a.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' }));
    // Five Tasks that each miss two runs: every server sees every one of them.
    for (let i = 0; i < 5; i++) {
      await ok(a.request('POST', '/api/v1/tasks/', { name: `every-10-${i}`, run_environment: 'local', passive: true, schedule: '*/10 * * * *', max_schedule_lateness_seconds: 60 }));
    }
    clock.set(Date.UTC(2030, 0, 1, 2, 11));
    await livenessPasses(a);
    await livenessPasses(b);
    clock.set(Date.UTC(2030, 0, 1, 2, 21));
    await livenessPasses(a);
    await livenessPasses(b);
    const page = await ok(b.request('GET', '/api/v1/events?type=MISSED_SCHEDULED_RUN&limit=100'));
    expect(page.count).toBe(10);
    const keys = page.results.map((e: any) => `${e.task.name} ${e.details.expected_at}`);
    expect(new Set(keys).size).toBe(10);
    expect(keys.filter((k: string) => k.endsWith('02:10:00.000Z'))).toHaveLength(5);
    expect(keys.filter((k: string) => k.endsWith('02:20:00.000Z'))).toHaveLength(5);
  });
});
