/**
 * The scheduler against a real server (SQLite) with a fake clock: fires at the right instants,
 * the missed-fire policies after a gap in which no pass ran (skip / run_once, never a burst), the
 * overlap policies while a run is in progress (skip / queue), a changed schedule restarting from
 * now, and a scheduled Workflow. The clock moves only when a test says so; the scheduler runs
 * every 50 ms of real time, and "not before" is checked after two whole passes.
 *
 * The executor is a FakeExecutor: executions stay in progress until a test ends them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../src/executors/executor.js';
import type { ExecutionRecord, ScheduleFireRecord } from '../../src/store/store.js';
import { FakeExecutor } from '../support/fake-executor.js';
import { startTestServer } from '../support/server.js';
import { waitFor } from '../support/temp.js';
import { FakeClock, ok } from '../support/fake-clock.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const at = (text: string) => Date.parse(text);

describe('scheduler on one server (SQLite, fake clock)', () => {
  const clock = new FakeClock(at('2031-01-01T00:00:30Z'));
  const local = new FakeExecutor('local');
  let t: TestServer;

  beforeAll(async () => {
    const executors = new Map<string, Executor>([['local', local]]);
    // Liveness rarely: it would fail the fake executor's never-started executions after the jumps.
    t = await startTestServer({ schedulerIntervalMs: 50, livenessIntervalMs: 600_000 }, { clock, executors });
    await ok(t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' }));
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Resolves after `n` whole scheduler passes that started after this call. */
  async function passes(n = 2): Promise<void> {
    const start = t.server.loopStats().scheduler.passes;
    await waitFor(() => t.server.loopStats().scheduler.passes >= start + n + 1, `${n} scheduler passes`);
  }

  async function createTask(name: string, fields: Record<string, unknown>): Promise<string> {
    const task = await ok(t.request('POST', '/api/v1/tasks/', { name, run_environment: 'local', command: 'true', ...fields }));
    return task.uuid as string;
  }

  async function executions(taskUuid: string): Promise<ExecutionRecord[]> {
    const page = await t.server.ctx.store.listExecutions({ task_uuid: taskUuid, limit: 1000, offset: 0 });
    return [...page.items].sort((a, b) => a.created_at - b.created_at);
  }

  async function fires(uuid: string): Promise<ScheduleFireRecord[]> {
    return t.server.ctx.store.listScheduleFires({ target_uuid: uuid, limit: 1000 });
  }

  async function waitForFires(uuid: string, n: number): Promise<ScheduleFireRecord[]> {
    return waitFor(async () => {
      const f = await fires(uuid);
      return f.length >= n ? f : null;
    }, `${n} fire(s)`);
  }

  /** Ends an in-progress execution the fake executor holds, and waits until Berth has seen it. */
  async function finish(e: ExecutionRecord): Promise<void> {
    local.set(e.uuid, 1, { state: 'exited', startedAt: e.created_at, finishedAt: clock.now(), exitCode: 0, signal: null, timedOut: false, failure: null });
    await waitFor(async () => (await t.server.ctx.store.getExecution(e.uuid))?.status === 'SUCCEEDED', 'the execution to succeed');
  }

  async function disable(name: string): Promise<void> {
    await ok(t.request('PATCH', `/api/v1/tasks/${name}`, { enabled: false }));
  }

  it('fires at each fire time, not before, with run reason SCHEDULED_START', async () => {
    const uuid = await createTask('every-five', { schedule: '*/5 * * * *', schedule_overlap: 'queue' });
    const task = await ok(t.request('GET', '/api/v1/tasks/every-five'));
    expect(task).toMatchObject({ schedule_overlap: 'queue', schedule_missed: 'run_once' });

    clock.set(at('2031-01-01T00:04:59.999Z'));
    await passes();
    expect(await executions(uuid)).toHaveLength(0);

    clock.set(at('2031-01-01T00:05:00Z'));
    const [first] = await waitForFires(uuid, 1);
    expect(first).toMatchObject({ fire_at: at('2031-01-01T00:05:00Z'), outcome: 'started', covered: 1, created_at: at('2031-01-01T00:05:00Z') });
    const one = await executions(uuid);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ uuid: first!.execution_uuid, run_reason: 'SCHEDULED_START', created_at: at('2031-01-01T00:05:00Z') });

    // Passes at the same instant fire nothing more.
    await passes();
    expect(await executions(uuid)).toHaveLength(1);

    clock.set(at('2031-01-01T00:10:00.200Z'));
    await waitForFires(uuid, 2);
    await passes();
    const two = await executions(uuid);
    expect(two).toHaveLength(2);
    expect(two.map((e) => e.run_reason)).toEqual(['SCHEDULED_START', 'SCHEDULED_START']);
    expect((await fires(uuid)).map((f) => f.fire_at)).toEqual([at('2031-01-01T00:05:00Z'), at('2031-01-01T00:10:00Z')]);
    await disable('every-five');
  });

  it('after a gap with no pass (as after downtime): skip runs nothing, run_once runs once for all missed fires', async () => {
    const skip = await createTask('missed-skip', { schedule: '0 * * * *', schedule_missed: 'skip', schedule_overlap: 'queue' });
    const once = await createTask('missed-once', { schedule: '0 * * * *', schedule_missed: 'run_once', schedule_overlap: 'queue' });
    // Created at 00:10: first fire 01:00. The clock jumps to 05:30; fires at 01:00 … 05:00 were missed.
    clock.set(at('2031-01-01T05:30:00Z'));
    const [onceFire] = await waitForFires(once, 1);
    const [skipFire] = await waitForFires(skip, 1);
    await passes();
    expect(onceFire).toMatchObject({ fire_at: at('2031-01-01T05:00:00Z'), outcome: 'started', covered: 5 });
    expect(skipFire).toMatchObject({ fire_at: at('2031-01-01T05:00:00Z'), outcome: 'skipped_missed', covered: 5, execution_uuid: null });
    expect(await executions(once)).toHaveLength(1);
    expect(await executions(skip)).toHaveLength(0);

    // The next fire on time runs for both.
    clock.set(at('2031-01-01T06:00:01Z'));
    await waitForFires(skip, 2);
    await waitForFires(once, 2);
    await passes();
    expect(await executions(once)).toHaveLength(2);
    expect(await executions(skip)).toHaveLength(1);
    expect((await fires(skip))[1]).toMatchObject({ fire_at: at('2031-01-01T06:00:00Z'), outcome: 'started', covered: 1 });
    await disable('missed-skip');
    await disable('missed-once');
  });

  it('a fire found less than a minute late still runs under schedule_missed: skip', async () => {
    const uuid = await createTask('slightly-late', { schedule: '*/10 * * * *', schedule_missed: 'skip' });
    clock.set(at('2031-01-01T06:10:59Z'));
    const [f] = await waitForFires(uuid, 1);
    expect(f).toMatchObject({ fire_at: at('2031-01-01T06:10:00Z'), outcome: 'started', covered: 1 });
    await disable('slightly-late');
  });

  it('a long run blocks overlapping fires with schedule_overlap: skip; queue starts another', async () => {
    const skip = await createTask('overlap-skip', { schedule: '* * * * *', schedule_overlap: 'skip' });
    const queue = await createTask('overlap-queue', { schedule: '* * * * *', schedule_overlap: 'queue' });
    clock.set(at('2031-01-01T07:00:00Z'));
    await waitForFires(skip, 1);
    await waitForFires(queue, 1);
    const [running] = await executions(skip);
    expect(running!.status).not.toBe('SUCCEEDED');

    // Still in progress at the next fire.
    clock.set(at('2031-01-01T07:01:00Z'));
    const skipFires = await waitForFires(skip, 2);
    await waitForFires(queue, 2);
    await passes();
    expect(skipFires[1]).toMatchObject({ fire_at: at('2031-01-01T07:01:00Z'), outcome: 'skipped_overlap', execution_uuid: null });
    expect(await executions(skip)).toHaveLength(1);
    expect(await executions(queue)).toHaveLength(2);

    // Once it has finished, the next fire runs.
    await finish(running!);
    clock.set(at('2031-01-01T07:02:00Z'));
    const after = await waitForFires(skip, 3);
    expect(after[2]).toMatchObject({ fire_at: at('2031-01-01T07:02:00Z'), outcome: 'started' });
    expect(await executions(skip)).toHaveLength(2);
    await disable('overlap-skip');
    await disable('overlap-queue');
  });

  it('recomputes the next fire from now when the schedule changes, and forgets it when disabled', async () => {
    const uuid = await createTask('changing', { schedule: '0 0 * * *' });
    const row = async () => (await t.server.ctx.store.listDueSchedules(Number.MAX_SAFE_INTEGER, 1000)).find((s) => s.target_uuid === uuid);
    expect((await row())?.next_fire_at).toBe(at('2031-01-02T00:00:00Z'));
    clock.set(at('2031-01-01T07:03:00Z'));
    await ok(t.request('PATCH', '/api/v1/tasks/changing', { schedule: '*/20 * * * *' }));
    expect((await row())?.next_fire_at).toBe(at('2031-01-01T07:20:00Z'));
    // Another change that keeps the expression keeps the next fire time.
    clock.set(at('2031-01-01T07:04:00Z'));
    await ok(t.request('PATCH', '/api/v1/tasks/changing', { description: 'every 20 minutes' }));
    expect((await row())?.next_fire_at).toBe(at('2031-01-01T07:20:00Z'));
    await disable('changing');
    expect(await row()).toBeUndefined();
    // Passive Tasks are watched (docs/liveness.md), never started.
    const passive = await ok(t.request('POST', '/api/v1/tasks/', { name: 'passive-one', run_environment: 'local', passive: true, schedule: '* * * * *' }));
    expect((await t.server.ctx.store.listDueSchedules(Number.MAX_SAFE_INTEGER, 1000)).some((s) => s.target_uuid === passive.uuid)).toBe(false);
  });

  it('starts a scheduled Workflow with run reason SCHEDULED_START, once per fire', async () => {
    await createTask('wf-step', {});
    const workflow = await ok(
      t.request('POST', '/api/v1/workflows/', { name: 'scheduled-flow', schedule: '*/15 * * * *', schedule_overlap: 'queue', task_instances: [{ task: 'wf-step' }] }),
    );
    clock.set(at('2031-01-01T07:15:00Z'));
    const [f] = await waitForFires(workflow.uuid, 1);
    expect(f).toMatchObject({ target_kind: 'workflow', fire_at: at('2031-01-01T07:15:00Z'), outcome: 'started' });
    const list = await waitFor(async () => {
      const page = await ok(t.request('GET', '/api/v1/workflow_executions?workflow=scheduled-flow'));
      return page.count >= 1 ? page : null;
    }, 'a workflow execution');
    await passes();
    expect((await ok(t.request('GET', '/api/v1/workflow_executions?workflow=scheduled-flow'))).count).toBe(1);
    expect(list.results[0]).toMatchObject({ uuid: f!.execution_uuid, run_reason: 'SCHEDULED_START' });
    // Its first instance was started.
    const step = await t.server.ctx.store.getTask('wf-step');
    await waitFor(async () => (await executions(step!.uuid)).length === 1, 'the instance execution');
    // Half an hour later, with the first still running (overlap: queue): one more, not two.
    clock.set(at('2031-01-01T07:45:30Z'));
    const both = await waitForFires(workflow.uuid, 2);
    expect(both[1]).toMatchObject({ fire_at: at('2031-01-01T07:45:00Z'), covered: 2, outcome: 'started' });
    await passes();
    expect((await ok(t.request('GET', '/api/v1/workflow_executions?workflow=scheduled-flow'))).count).toBe(2);
  });

  it('had no failed pass', () => {
    expect(t.server.loopStats().scheduler).toMatchObject({ errors: 0, lastError: null });
  });
});
