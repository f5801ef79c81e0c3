/**
 * The one store test suite. `sqlite/sqlite-store.test.ts` and `postgres/postgres-store.test.ts`
 * run it against a real SQLite file and a real PostgreSQL schema.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { TaskSpec } from '../domain/task.js';
import type { TaskSpecInput } from '../domain/task.js';
import { LocalRunEnvironmentSpec } from '../domain/run-environment.js';
import type { ExecutionStatus } from '../domain/execution-status.js';
import type { EventRecord, NewExecution, Store } from './store.js';
import { workflowStoreCases } from './workflow-store.suite.js';
import { notificationStoreCases } from './notification-store.suite.js';
import { serviceStoreCases } from './service-store.suite.js';
import { summaryStoreCases } from './summary-store.suite.js';

export interface StoreFixture {
  /** A store on an empty database. */
  open(): Promise<Store>;
  /** Re-opens the same database (runs migrations again). */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

const NOW = 1_700_000_000_000;

function taskSpec(name: string, extra: Partial<TaskSpecInput> = {}) {
  return TaskSpec.parse({ name, run_environment: 'local', command: 'true', ...extra });
}

export function storeSuite(label: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`Store on ${label}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    let envUuid: string;

    beforeEach(async () => {
      if (fixture) {
        await store.close();
        await fixture.cleanup();
      }
      fixture = await makeFixture();
      store = await fixture.open();
      const { record } = await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }), NOW);
      envUuid = record.uuid;
    });

    afterAll(async () => {
      await store?.close();
      await fixture?.cleanup();
    });

    async function newTask(name: string, extra: Partial<TaskSpecInput> = {}) {
      return (await store.upsertTask(taskSpec(name, extra), envUuid, NOW)).record;
    }

    async function newExecution(taskUuid: string, overrides: Partial<NewExecution> = {}) {
      return store.createExecution({
        uuid: randomUUID(),
        task_uuid: taskUuid,
        run_environment_uuid: envUuid,
        status: 'QUEUED',
        run_reason: 'EXPLICIT_START',
        max_attempts: 1,
        environment_overrides: {},
        input_value: null,
        created_at: NOW,
        executor_kind: 'local',
        ...overrides,
      });
    }

    it('migrates idempotently: reopening keeps the data', async () => {
      await newTask('kept');
      await store.close();
      store = await fixture.reopen();
      expect((await store.getTask('kept'))?.name).toBe('kept');
    });

    it('upserts run environments by name and finds them by name or uuid', async () => {
      const spec = LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local', environment: { A: '1' } });
      const { record, created } = await store.upsertRunEnvironment(spec, NOW + 5);
      expect(created).toBe(false);
      expect(record.uuid).toBe(envUuid);
      expect(record.spec.environment).toEqual({ A: '1' });
      expect((await store.getRunEnvironment(envUuid))?.name).toBe('local');
      expect((await store.getRunEnvironment('local'))?.uuid).toBe(envUuid);
      expect(await store.getRunEnvironment('missing')).toBeNull();
      const page = await store.listRunEnvironments({ limit: 10, offset: 0 });
      expect(page.total).toBe(1);
    });

    it('counts what still uses a run environment before it is deleted', async () => {
      const { record } = await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'other', kind: 'local' }), NOW);
      expect(await store.countTasksInRunEnvironment(record.uuid)).toBe(0);
      await store.upsertTask(taskSpec('t1', { run_environment: 'other' }), record.uuid, NOW);
      expect(await store.countTasksInRunEnvironment(record.uuid)).toBe(1);
      expect(await store.deleteRunEnvironment((await store.getRunEnvironment('local'))!.uuid)).toBe(true);
    });

    it('upserts tasks by name, keeping the uuid, and lists them with filters', async () => {
      const a = await newTask('Alpha_1');
      const again = (await store.upsertTask(taskSpec('Alpha_1', { timeout_seconds: 9 }), envUuid, NOW + 1)).record;
      expect(again.uuid).toBe(a.uuid);
      expect(again.spec.timeout_seconds).toBe(9);
      expect(again.updated_at).toBe(NOW + 1);
      await newTask('beta', { enabled: false });
      await newTask('gamma', { passive: true, command: undefined });
      const all = await store.listTasks({ limit: 10, offset: 0 });
      expect(all.items.map((t) => t.name)).toEqual(['Alpha_1', 'beta', 'gamma']);
      expect((await store.listTasks({ search: 'ALPHA', limit: 10, offset: 0 })).items.map((t) => t.name)).toEqual(['Alpha_1']);
      // LIKE wildcards in the search text are literal.
      expect((await store.listTasks({ search: '%', limit: 10, offset: 0 })).items).toEqual([]);
      expect((await store.listTasks({ search: '_', limit: 10, offset: 0 })).items.map((t) => t.name)).toEqual(['Alpha_1']);
      expect((await store.listTasks({ enabled: false, limit: 10, offset: 0 })).total).toBe(1);
      expect((await store.listTasks({ passive: true, limit: 10, offset: 0 })).items[0]?.name).toBe('gamma');
      const page2 = await store.listTasks({ limit: 2, offset: 2 });
      expect(page2.items.map((t) => t.name)).toEqual(['gamma']);
      expect(page2.total).toBe(3);
      const byUuid = await store.getTasks([a.uuid, a.uuid]);
      expect([...byUuid.keys()]).toEqual([a.uuid]);
    });

    it('keeps one task per name: a second upsert with the same name replaces it', async () => {
      await newTask('same');
      await newTask('same');
      expect((await store.listTasks({ limit: 10, offset: 0 })).total).toBe(1);
    });

    it('creates, reads and lists executions newest first with filters and totals', async () => {
      const t1 = await newTask('one');
      const t2 = await newTask('two');
      const e1 = await newExecution(t1.uuid, { created_at: NOW, input_value: { rows: [1, 2] }, environment_overrides: { X: 'y' } });
      await newExecution(t1.uuid, { created_at: NOW + 1, status: 'RUNNING' });
      await newExecution(t2.uuid, { created_at: NOW + 2 });
      const read = await store.getExecution(e1.uuid);
      expect(read?.input_value).toEqual({ rows: [1, 2] });
      expect(read?.environment_overrides).toEqual({ X: 'y' });
      expect(read?.attempts).toEqual([]);
      expect(await store.getExecution('not-a-uuid')).toBeNull();
      expect(await store.getExecution(randomUUID())).toBeNull();
      const all = await store.listExecutions({ limit: 10, offset: 0 });
      expect(all.items.map((e) => e.created_at)).toEqual([NOW + 2, NOW + 1, NOW]);
      expect((await store.listExecutions({ task_uuid: t1.uuid, limit: 10, offset: 0 })).total).toBe(2);
      const running = await store.listExecutions({ statuses: ['RUNNING'], limit: 10, offset: 0 });
      expect(running.items).toHaveLength(1);
      const paged = await store.listExecutions({ limit: 1, offset: 1 });
      expect(paged.items[0]?.created_at).toBe(NOW + 1);
      expect(paged.total).toBe(3);
      expect((await store.listExecutions({ created_after: NOW + 1, limit: 10, offset: 0 })).total).toBe(2);
      expect(await store.countExecutions(t1.uuid, ['QUEUED', 'RUNNING'])).toBe(2);
    });

    it('updates an execution only while the guard matches (compare-and-set)', async () => {
      const t = await newTask('cas');
      const e = await newExecution(t.uuid, { status: 'RUNNING', owner_instance: 'a' });
      const stopped = await store.updateExecution(
        e.uuid,
        { status: 'STOPPING', stop_reason: 'MANUAL', updated_at: NOW + 5 },
        { statuses: ['RUNNING'] },
      );
      expect(stopped?.status).toBe('STOPPING');
      expect(stopped?.updated_at).toBe(NOW + 5);
      // A monitor that still believes it is RUNNING loses the race.
      expect(await store.updateExecution(e.uuid, { status: 'SUCCEEDED' }, { statuses: ['RUNNING'] })).toBeNull();
      expect(await store.updateExecution(e.uuid, { status: 'STOPPED' }, { statuses: ['STOPPING'], owner_instance: 'b' })).toBeNull();
      const done = await store.updateExecution(
        e.uuid,
        {
          status: 'STOPPED',
          failure: { type: 'SIGNAL', message: 'x', fault: 'task', signal: 'SIGTERM' },
          attempts: [{ number: 1, status: 'STOPPED', started_at: NOW, finished_at: NOW + 9, exit_code: null, failure: null, executor_handle: null }],
          executor_handle: { pid: 42 },
        },
        { statuses: ['STOPPING'], owner_instance: 'a' },
      );
      expect(done?.failure?.signal).toBe('SIGTERM');
      expect(done?.attempts[0]?.finished_at).toBe(NOW + 9);
      expect(done?.executor_handle).toEqual({ pid: 42 });
      await expect(store.updateExecution(e.uuid, { uuid: 'x' } as never)).rejects.toThrow(/cannot be patched/);
    });

    it('claims due queued executions once, oldest first, with a new attempt and launch token', async () => {
      const t = await newTask('claim');
      const first = await newExecution(t.uuid, { created_at: NOW });
      const second = await newExecution(t.uuid, { created_at: NOW + 1 });
      await newExecution(t.uuid, { created_at: NOW + 2, executor_kind: 'aws-ecs' });
      const later = await newExecution(t.uuid, { created_at: NOW + 3 });
      await store.updateExecution(later.uuid, { launch_after: NOW + 60_000 });

      const claimed = await store.claimQueued({ instanceId: 'srv-1', now: NOW + 10, limit: 10, executorKinds: ['local'] });
      expect(claimed.map((e) => e.uuid)).toEqual([first.uuid, second.uuid]);
      expect(claimed[0]).toMatchObject({
        status: 'MANUALLY_STARTED',
        attempt: 1,
        launch_token: `${first.uuid}-1`,
        owner_instance: 'srv-1',
      });
      expect(await store.claimQueued({ instanceId: 'srv-2', now: NOW + 10, limit: 10, executorKinds: ['local'] })).toEqual([]);
      const due = await store.claimQueued({ instanceId: 'srv-2', now: NOW + 60_000, limit: 10, executorKinds: ['local'] });
      expect(due.map((e) => e.uuid)).toEqual([later.uuid]);
    });

    it('never claims more than max_concurrency leaves free', async () => {
      const t = await newTask('limited', { max_concurrency: 2 });
      const queued = [];
      for (let i = 0; i < 5; i++) queued.push(await newExecution(t.uuid, { created_at: NOW + i }));
      const round1 = await store.claimQueued({ instanceId: 's', now: NOW + 10, limit: 10, executorKinds: ['local'] });
      expect(round1.map((e) => e.uuid)).toEqual([queued[0]!.uuid, queued[1]!.uuid]);
      await store.updateExecution(round1[0]!.uuid, { status: 'RUNNING' });
      expect(await store.claimQueued({ instanceId: 's', now: NOW + 10, limit: 10, executorKinds: ['local'] })).toEqual([]);
      await store.updateExecution(round1[0]!.uuid, { status: 'SUCCEEDED' });
      const round2 = await store.claimQueued({ instanceId: 's', now: NOW + 10, limit: 10, executorKinds: ['local'] });
      expect(round2.map((e) => e.uuid)).toEqual([queued[2]!.uuid]);
    });

    it('hands each queued execution to exactly one of many concurrent claimers', async () => {
      const free = await newTask('free');
      const capped = await newTask('capped', { max_concurrency: 3 });
      for (let i = 0; i < 60; i++) await newExecution(free.uuid, { created_at: NOW + i });
      for (let i = 0; i < 20; i++) await newExecution(capped.uuid, { created_at: NOW + i });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.claimQueued({ instanceId: `srv-${i}`, now: NOW + 100, limit: 7, executorKinds: ['local'] }),
        ),
      );
      const claimedIds = results.flat().map((e) => e.uuid);
      expect(new Set(claimedIds).size).toBe(claimedIds.length);
      const cappedClaims = results.flat().filter((e) => e.task_uuid === capped.uuid);
      expect(cappedClaims.length).toBeLessThanOrEqual(3);
    });

    it('tracks server instances, finds orphaned owners and moves their executions', async () => {
      const t = await newTask('own');
      await store.registerInstance({ id: 'alive', hostname: 'h', pid: 1, started_at: NOW, heartbeat_at: NOW });
      expect(await store.heartbeatInstance('alive', NOW + 50)).toBe(true);
      expect(await store.heartbeatInstance('never-registered', NOW + 50)).toBe(false);
      expect((await store.listInstances())[0]?.heartbeat_at).toBe(NOW + 50);
      const orphan = await newExecution(t.uuid, { status: 'RUNNING', owner_instance: 'dead' });
      await newExecution(t.uuid, { status: 'SUCCEEDED', owner_instance: 'dead-too' });
      await newExecution(t.uuid, { status: 'RUNNING', owner_instance: 'alive' });
      expect(await store.listOrphanOwners()).toEqual(['dead']);
      expect(await store.adoptExecutions('dead', 'alive')).toBe(1);
      expect((await store.getExecution(orphan.uuid))?.owner_instance).toBe('alive');
      const owned = await store.listOwnedExecutions('alive', ['RUNNING'], 1);
      expect(owned).toHaveLength(1);
      const rest = await store.listOwnedExecutions('alive', ['RUNNING'], 10, owned[0]!.uuid);
      expect(rest).toHaveLength(1);
      await store.deleteInstance('alive');
      expect(await store.listInstances()).toEqual([]);
    });

    it('stores API keys by hash and revokes them', async () => {
      const uuid = randomUUID();
      await store.createApiKey({
        uuid,
        name: 'ci',
        scope: 'reporter',
        prefix: 'berth_ab12',
        key_hash: 'f'.repeat(64),
        run_environment_uuid: envUuid,
        may_create_passive_tasks: true,
        created_at: NOW,
        last_used_at: null,
        revoked_at: null,
      });
      expect((await store.findApiKeyByHash('f'.repeat(64)))?.scope).toBe('reporter');
      expect((await store.findApiKeyByHash('f'.repeat(64)))?.may_create_passive_tasks).toBe(true);
      expect((await store.getApiKey('berth_ab12'))?.uuid).toBe(uuid);
      expect((await store.getApiKey('ci'))?.uuid).toBe(uuid);
      expect(await store.countTasksInRunEnvironment(envUuid)).toBe(1);
      await store.touchApiKey(uuid, NOW + 1);
      expect(await store.revokeApiKey(uuid, NOW + 2)).toBe(true);
      expect(await store.revokeApiKey(uuid, NOW + 3)).toBe(false);
      const [key] = await store.listApiKeys();
      expect(key).toMatchObject({ last_used_at: NOW + 1, revoked_at: NOW + 2 });
      expect(await store.countApiKeys()).toBe(1);
    });

    it('remembers task definition revisions by content hash', async () => {
      const record = { run_environment_uuid: envUuid, family: 'berth-etl', hash: 'abc', arn: 'arn:td:1', revision: 1, registered_at: NOW };
      await store.putDefinitionRevision(record);
      expect(await store.getDefinitionRevision(envUuid, 'berth-etl', 'abc')).toEqual(record);
      await store.putDefinitionRevision({ ...record, arn: 'arn:td:2', revision: 2 });
      expect((await store.getDefinitionRevision(envUuid, 'berth-etl', 'abc'))?.revision).toBe(2);
      expect(await store.getDefinitionRevision(envUuid, 'berth-etl', 'other')).toBeNull();
      const t = await newTask('ecs-ish');
      await newExecution(t.uuid, { status: 'RUNNING' });
      const running = await store.listExecutions({ limit: 1, offset: 0 });
      await store.updateExecution(running.items[0]!.uuid, { executor_handle: { task_definition_arn: 'arn:td:2' } });
      expect(await store.listDefinitionArnsInUse(envUuid)).toEqual(['arn:td:2']);
      await store.deleteDefinitionRevision('arn:td:2');
      expect(await store.getDefinitionRevision(envUuid, 'berth-etl', 'abc')).toBeNull();
    });

    it('rolls a transaction back completely when it throws', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.upsertTask(taskSpec('ghost'), envUuid, NOW);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.getTask('ghost')).toBeNull();
      await store.transaction(async (tx) => {
        await tx.upsertTask(taskSpec('real'), envUuid, NOW);
      });
      expect(await store.getTask('real')).not.toBeNull();
    });

    it('creates a Task only if absent: never replaces one, and many concurrent creators get one Task', async () => {
      const first = await store.createTaskIfAbsent(taskSpec('auto', { passive: true, command: undefined, max_concurrency: 2 }), envUuid, NOW);
      expect(first.created).toBe(true);
      expect(first.record).toMatchObject({ name: 'auto', run_environment_uuid: envUuid, created_at: NOW });
      expect(first.record.spec).toMatchObject({ passive: true, max_concurrency: 2 });
      const again = await store.createTaskIfAbsent(taskSpec('auto', { command: 'echo replaced' }), envUuid, NOW + 5);
      expect(again).toEqual({ record: first.record, created: false });
      expect((await store.getTask('auto'))?.spec.command).toBeUndefined();

      const racers = await Promise.all(
        Array.from({ length: 8 }, () => store.createTaskIfAbsent(taskSpec('raced', { passive: true, command: undefined }), envUuid, NOW)),
      );
      expect(racers.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(racers.map((r) => r.record.uuid)).size).toBe(1);
      expect((await store.listTasks({ search: 'raced', limit: 10, offset: 0 })).total).toBe(1);
    });

    it("stores what a wrapper reports on an execution and reads it back", async () => {
      const t = await newTask('wrapped');
      const reported = await newExecution(t.uuid, {
        status: 'RUNNING',
        run_reason: 'REPORTED',
        executor_kind: null,
        started_at: NOW - 5,
        attempt: 1,
        wrapper: { wrapper_family: 'proc_wrapper', hostname: 'box-1' },
      });
      expect(reported).toMatchObject({
        attempt: 1,
        run_reason: 'REPORTED',
        executor_kind: null,
        wrapper: { wrapper_family: 'proc_wrapper', hostname: 'box-1' },
        wrapper_report: null,
        debug_log_tail: null,
        pid: null,
      });
      const tail = `${'é'.repeat(10)}\nTraceback (most recent call last):\n  boom\n`;
      const report = { status: 'FAILED' as const, exit_code: -9, failed_attempts: 2, timed_out_attempts: 0, finished_at: NOW + 9, received_at: NOW + 10 };
      await store.updateExecution(reported.uuid, {
        last_app_heartbeat_at: NOW + 1,
        pid: 4_000_000,
        other_runtime_metadata: { rows: [1, 2] },
        debug_log_tail: tail,
        error_log_tail: 'boom',
        wrapper_report: report,
      });
      const read = await store.getExecution(reported.uuid);
      expect(read).toMatchObject({
        last_app_heartbeat_at: NOW + 1,
        pid: 4_000_000,
        other_runtime_metadata: { rows: [1, 2] },
        debug_log_tail: tail,
        error_log_tail: 'boom',
        wrapper_report: report,
      });
      await store.updateExecution(reported.uuid, { wrapper_report: null, debug_log_tail: null });
      expect(await store.getExecution(reported.uuid)).toMatchObject({ wrapper_report: null, debug_log_tail: null, error_log_tail: 'boom' });
      // An execution nobody reported on has none of it.
      expect(await newExecution(t.uuid)).toMatchObject({ attempt: 0, wrapper: null, last_app_heartbeat_at: null, other_runtime_metadata: null });
    });

    it('deletes a task together with its execution history', async () => {
      const t = await newTask('gone');
      const e = await newExecution(t.uuid, { status: 'SUCCEEDED' as ExecutionStatus });
      expect(await store.deleteTask(t.uuid)).toBe(true);
      expect(await store.getExecution(e.uuid)).toBeNull();
    });

    // ---- liveness and events ----

    it('lists the Tasks that have executions in given statuses', async () => {
      const a = await newTask('live-a');
      const b = await newTask('live-b');
      const c = await newTask('live-c');
      await newExecution(a.uuid, { status: 'RUNNING' });
      await newExecution(a.uuid, { status: 'RUNNING' });
      await newExecution(b.uuid, { status: 'MANUALLY_STARTED' });
      await newExecution(c.uuid, { status: 'SUCCEEDED' });
      expect((await store.listTaskUuidsWithExecutionsIn(['MANUALLY_STARTED', 'RUNNING', 'STOPPING'])).sort()).toEqual([a.uuid, b.uuid].sort());
      expect(await store.listTaskUuidsWithExecutionsIn(['STOPPING'])).toEqual([]);
      expect(await store.listTaskUuidsWithExecutionsIn([])).toEqual([]);
    });

    it('finds executions silent since before their Task\'s cutoff, by their latest sign of life', async () => {
      const t = await newTask('silent');
      const other = await newTask('silent-other');
      const cutoff = NOW + 1000;
      const heartbeatLate = await newExecution(t.uuid, { status: 'RUNNING', created_at: NOW - 50, started_at: NOW - 40 });
      await store.updateExecution(heartbeatLate.uuid, { last_heartbeat_at: NOW + 500 });
      const heartbeatFresh = await newExecution(t.uuid, { status: 'RUNNING', created_at: NOW, started_at: NOW });
      await store.updateExecution(heartbeatFresh.uuid, { last_heartbeat_at: NOW + 1000 });
      // A retry: an old heartbeat of the first attempt, but it started again recently.
      const retried = await newExecution(t.uuid, { status: 'RUNNING', created_at: NOW - 100, started_at: NOW + 2000 });
      await store.updateExecution(retried.uuid, { last_heartbeat_at: NOW - 90 });
      const neverHeard = await newExecution(t.uuid, { status: 'STOPPING', created_at: NOW - 10, started_at: null });
      await newExecution(t.uuid, { status: 'SUCCEEDED', created_at: NOW - 100 });
      await newExecution(other.uuid, { status: 'RUNNING', created_at: NOW - 100 });

      const found = await store.listSilentExecutions([{ task_uuid: t.uuid, before: cutoff }], ['RUNNING', 'STOPPING'], 10);
      // Oldest sign of life first: created NOW-10 (never heard), then the heartbeat at NOW+500.
      expect(found.map((e) => e.uuid)).toEqual([neverHeard.uuid, heartbeatLate.uuid]);
      expect(found[1]?.last_heartbeat_at).toBe(NOW + 500);
      expect((await store.listSilentExecutions([{ task_uuid: t.uuid, before: cutoff }], ['RUNNING'], 10)).map((e) => e.uuid)).toEqual([heartbeatLate.uuid]);
      expect(await store.listSilentExecutions([{ task_uuid: t.uuid, before: cutoff }], ['RUNNING', 'STOPPING'], 1)).toHaveLength(1);
      // Each Task has its own cutoff.
      const both = await store.listSilentExecutions(
        [
          { task_uuid: t.uuid, before: NOW },
          { task_uuid: other.uuid, before: NOW },
        ],
        ['RUNNING', 'STOPPING'],
        10,
      );
      expect(both.map((e) => e.task_uuid)).toEqual([other.uuid, t.uuid]);
      expect(await store.listSilentExecutions([], ['RUNNING'], 10)).toEqual([]);
    });

    it('finds executions launched before their Task\'s start cutoff: the claim of the current attempt, else creation', async () => {
      const t = await newTask('unstarted');
      // Created long ago, claimed (launched) just now: not overdue.
      const claimedLate = await newExecution(t.uuid, { created_at: NOW - 60_000 });
      const [claimed] = await store.claimQueued({ instanceId: 's', now: NOW + 5000, limit: 1, executorKinds: ['local'] });
      expect(claimed?.uuid).toBe(claimedLate.uuid);
      // Created MANUALLY_STARTED without a claim (a wrapper was to report it): its creation counts.
      const unclaimed = await newExecution(t.uuid, { status: 'MANUALLY_STARTED', created_at: NOW, executor_kind: null });
      await newExecution(t.uuid, { status: 'RUNNING', created_at: NOW - 60_000 });

      const due = await store.listUnstartedExecutions([{ task_uuid: t.uuid, before: NOW + 1000 }], 10);
      expect(due.map((e) => e.uuid)).toEqual([unclaimed.uuid]);
      expect(due[0]?.launched_at).toBeNull();
      const later = await store.listUnstartedExecutions([{ task_uuid: t.uuid, before: NOW + 6000 }], 10);
      expect(later.map((e) => [e.uuid, e.launched_at])).toEqual([
        [unclaimed.uuid, null],
        [claimedLate.uuid, NOW + 5000],
      ]);
    });

    it('lists enabled passive Tasks that have a schedule', async () => {
      await newTask('sched-passive', { passive: true, command: undefined, schedule: '0 3 * * *' });
      await newTask('sched-none', { passive: true, command: undefined });
      await newTask('sched-disabled', { passive: true, command: undefined, schedule: '@daily', enabled: false });
      await newTask('sched-active', { schedule: '@daily' });
      // "schedule" as a key elsewhere in the spec is not a schedule.
      await newTask('sched-env', { passive: true, command: undefined, environment: { schedule: 'nightly' } });
      expect((await store.listScheduledPassiveTasks()).map((t) => [t.name, t.spec.schedule])).toEqual([['sched-passive', '0 3 * * *']]);
    });

    it('finds a Task\'s newest execution and whether one was created in a window', async () => {
      const t = await newTask('arrivals');
      expect(await store.latestExecutionCreatedAt(t.uuid)).toBeNull();
      await newExecution(t.uuid, { created_at: NOW });
      await newExecution(t.uuid, { created_at: NOW + 100 });
      expect(await store.latestExecutionCreatedAt(t.uuid)).toBe(NOW + 100);
      expect(await store.hasExecutionCreatedBetween(t.uuid, NOW + 1, NOW + 99)).toBe(false);
      expect(await store.hasExecutionCreatedBetween(t.uuid, NOW + 100, NOW + 200)).toBe(true);
      expect(await store.hasExecutionCreatedBetween(t.uuid, NOW - 10, NOW)).toBe(true);
      expect(await store.hasExecutionCreatedBetween(randomUUID(), NOW - 10, NOW + 200)).toBe(false);
    });

    it('records an event once per key, even when many try at once, and lists events newest first with filters', async () => {
      const t = await newTask('evented');
      const event = (key: string, extra: Partial<EventRecord> = {}): EventRecord => ({
        uuid: randomUUID(),
        type: 'MISSED_SCHEDULED_RUN',
        severity: 'error',
        message: 'missed',
        task_uuid: t.uuid,
        task_name: t.name,
        execution_uuid: null,
        details: { expected_at: 'x' },
        dedupe_key: key,
        created_at: NOW,
        ...extra,
      });
      const attempts = await Promise.all(Array.from({ length: 6 }, () => store.recordEvent(event('missed:1'))));
      expect(attempts.filter(Boolean)).toHaveLength(1);
      const executionUuid = randomUUID();
      expect(await store.recordEvent(event('hb:1', { type: 'MISSING_HEARTBEAT', execution_uuid: executionUuid, created_at: NOW + 10 }))).toBe(true);
      expect(await store.recordEvent(event('start:1', { type: 'FAILED_TO_START', task_uuid: null, task_name: null, created_at: NOW + 20 }))).toBe(true);

      const all = await store.listEvents({ limit: 10, offset: 0 });
      expect(all.total).toBe(3);
      expect(all.items.map((e) => e.dedupe_key)).toEqual(['start:1', 'hb:1', 'missed:1']);
      expect(all.items[2]).toMatchObject({ task_name: 'evented', details: { expected_at: 'x' }, execution_uuid: null, severity: 'error' });
      const byType = await store.listEvents({ types: ['MISSING_HEARTBEAT', 'MISSED_SCHEDULED_RUN'], limit: 10, offset: 0 });
      expect(byType.items.map((e) => e.type)).toEqual(['MISSING_HEARTBEAT', 'MISSED_SCHEDULED_RUN']);
      expect((await store.listEvents({ task_uuid: t.uuid, limit: 10, offset: 0 })).total).toBe(2);
      expect((await store.listEvents({ execution_uuid: executionUuid, limit: 10, offset: 0 })).items[0]?.dedupe_key).toBe('hb:1');
      expect((await store.listEvents({ created_after: NOW + 10, limit: 10, offset: 0 })).total).toBe(2);
      expect((await store.listEvents({ created_before: NOW + 10, limit: 10, offset: 0 })).total).toBe(1);
      const page = await store.listEvents({ limit: 1, offset: 1 });
      expect(page).toMatchObject({ total: 3, items: [{ dedupe_key: 'hb:1' }] });
    });

    it('keeps a scheduled Task\'s next fire time in step with its spec, and advances it by compare-and-set', async () => {
      // NOW is 2023-11-14T22:13:20Z.
      const hourly = await newTask('hourly', { schedule: '0 * * * *' });
      await newTask('unscheduled');
      await newTask('watched', { passive: true, command: undefined, schedule: '0 * * * *' });
      await newTask('off', { enabled: false, schedule: '0 * * * *' });
      const first = Date.parse('2023-11-14T23:00:00Z');
      expect(await store.nextScheduleFireAt()).toBe(first);
      expect(await store.listDueSchedules(first - 1, 10)).toEqual([]);
      const [due] = await store.listDueSchedules(first, 10);
      expect(due).toEqual({ target_kind: 'task', target_uuid: hourly.uuid, expression: '0 * * * *', next_fire_at: first, updated_at: NOW });
      expect(await store.listDueSchedules(first, 10)).toHaveLength(1);

      // The same expression keeps the next fire time; a new one restarts from the change.
      await store.upsertTask(taskSpec('hourly', { schedule: '0 * * * *', description: 'x' }), envUuid, NOW + 3_600_000);
      expect((await store.listDueSchedules(first, 10))[0]?.next_fire_at).toBe(first);
      await store.upsertTask(taskSpec('hourly', { schedule: '30 * * * *' }), envUuid, NOW + 60_000);
      const changed = (await store.listDueSchedules(Number.MAX_SAFE_INTEGER, 10))[0]!;
      expect(changed).toMatchObject({ expression: '30 * * * *', next_fire_at: Date.parse('2023-11-14T22:30:00Z') });

      // Two servers read the same row: one compare-and-set wins.
      const next = Date.parse('2023-11-14T23:30:00Z');
      const results = await Promise.all([store.advanceSchedule(changed, next, NOW), store.advanceSchedule(changed, next, NOW)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.advanceSchedule({ ...changed, next_fire_at: next, expression: '0 * * * *' }, next + 1, NOW)).toBe(false);

      // One record per (target, fire time).
      const fire = { target_kind: 'task' as const, target_uuid: hourly.uuid, fire_at: changed.next_fire_at!, outcome: 'started' as const, execution_uuid: randomUUID(), covered: 1, decided_by: 'a', created_at: NOW };
      await store.recordScheduleFire(fire);
      await expect(store.recordScheduleFire({ ...fire, decided_by: 'b' })).rejects.toThrow();
      expect(await store.listScheduleFires({ target_uuid: hourly.uuid, limit: 10 })).toEqual([fire]);

      // Disabled, passive or deleted: no row.
      await store.upsertTask(taskSpec('hourly', { schedule: '30 * * * *', enabled: false }), envUuid, NOW);
      expect(await store.nextScheduleFireAt()).toBeNull();
      const back = (await store.upsertTask(taskSpec('hourly', { schedule: '30 * * * *' }), envUuid, NOW)).record;
      expect(await store.nextScheduleFireAt()).toBe(Date.parse('2023-11-14T22:30:00Z'));
      await store.deleteTask(back.uuid);
      expect(await store.nextScheduleFireAt()).toBeNull();
      expect(await store.listUnsyncedScheduleTargets(10)).toEqual([]);
    });

    workflowStoreCases({ store: () => store, newTask: (name) => newTask(name), newExecution });
    notificationStoreCases({ store: () => store, newTask: (name) => newTask(name), newExecution });
    serviceStoreCases({ store: () => store, newTask: (name) => newTask(name) });
    summaryStoreCases({ store: () => store, newTask, newExecution });
  });
}
