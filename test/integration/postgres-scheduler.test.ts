/**
 * Three `berth server` processes on one PostgreSQL database, 50 Tasks on `rate(1 second)`, for a
 * real-clock period of about 12 s: every fire is decided by exactly one server and every started
 * fire is exactly one execution, with no fire time lost between them. (The one-minute version,
 * with lateness figures, is `bench/scheduler.ts`; tests never assert speed.)
 *
 * No process is launched: each Task has `max_concurrency: 1` and one reported RUNNING execution
 * holding that slot, so the scheduled executions (overlap: queue) stay QUEUED.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRunEnvironmentSpec } from '../../src/domain/run-environment.js';
import { TaskSpec } from '../../src/domain/task.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../support/postgres.js';
import { startServerProcess } from '../support/server-process.js';
import type { ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const KEY = 'berth_pg_scheduler_key_0123456789ab';
const TASKS = 50;
const PERIOD_MS = 12_000;

describe.runIf(await postgresAvailable())('three servers scheduling on one PostgreSQL database', () => {
  const schema = freshSchemaName();
  const temp = tempDir('berth-pg-sched-');
  const servers: ServerProcess[] = [];
  let store: Store | undefined;
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM');
    await store?.close();
    await dropSchema(schema);
    temp.cleanup();
  });

  it(`fires ${TASKS} rate(1 second) schedules with exactly one execution per fire`, { timeout: 120_000 }, async () => {
    const common = {
      BERTH_DATABASE_URL: POSTGRES_TEST_URL,
      BERTH_DATABASE_SCHEMA: schema,
      BERTH_ADMIN_API_KEY: KEY,
      BERTH_SCHEDULER_INTERVAL_MS: '1000',
      BERTH_LAUNCHER_INTERVAL_MS: '1000',
      BERTH_LOG_LEVEL: 'warn',
    };
    servers.push(
      ...(await Promise.all(['a', 'b', 'c'].map((n) => startServerProcess({ ...common, BERTH_DATA_DIR: path.join(temp.dir, n) }), 60_000))),
    );

    store = await openStore({ dataDir: temp.dir, databaseUrl: POSTGRES_TEST_URL, databaseSchema: schema });
    const env = (await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }), Date.now())).record;
    const specs = Array.from({ length: TASKS }, (_, i) =>
      TaskSpec.parse({ name: `tick-${i}`, run_environment: 'local', command: 'true', max_concurrency: 1, schedule: 'rate(1 second)', schedule_overlap: 'queue' }),
    );
    const taskUuids: string[] = [];
    // Created disabled with their slot held, then enabled together.
    for (const spec of specs) {
      const task = (await store.upsertTask({ ...spec, enabled: false }, env.uuid, Date.now())).record;
      taskUuids.push(task.uuid);
      await store.createExecution({
        uuid: randomUUID(),
        task_uuid: task.uuid,
        run_environment_uuid: env.uuid,
        status: 'RUNNING',
        run_reason: 'REPORTED',
        max_attempts: 1,
        environment_overrides: {},
        input_value: null,
        created_at: Date.now(),
        started_at: Date.now(),
        owner_instance: null,
        executor_kind: null,
        attempt: 1,
      });
    }
    const enabledAt = Date.now();
    await store.transaction(async (tx) => {
      for (const spec of specs) await tx.upsertTask(spec, env.uuid, enabledAt);
    });
    await new Promise((resolve) => setTimeout(resolve, PERIOD_MS));
    // Stop scheduling (the rows go in the same transaction as the change), then let passes in flight end.
    await store.transaction(async (tx) => {
      for (const spec of specs) await tx.upsertTask({ ...spec, enabled: false }, env.uuid, Date.now());
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const fires = await store.listScheduleFires({ limit: 100_000 });
    const executions = await store.listExecutions({ limit: 100_000, offset: 0 });
    const scheduled = executions.items.filter((e) => e.run_reason === 'SCHEDULED_START');

    expect(fires.length).toBeGreaterThan(0);
    expect(fires.every((f) => f.outcome === 'started')).toBe(true);
    // One decision per (Task, fire time) and one execution per decision, none without a decision.
    expect(new Set(fires.map((f) => `${f.target_uuid}@${f.fire_at}`)).size).toBe(fires.length);
    expect(new Set(fires.map((f) => f.execution_uuid)).size).toBe(fires.length);
    expect(scheduled).toHaveLength(fires.length);
    expect(new Set(scheduled.map((e) => e.uuid))).toEqual(new Set(fires.map((f) => f.execution_uuid)));
    for (const uuid of taskUuids) {
      const own = fires.filter((f) => f.target_uuid === uuid).sort((a, b) => a.fire_at - b.fire_at);
      expect(own.length, `fires of ${uuid}`).toBeGreaterThan(0);
      expect(scheduled.filter((e) => e.task_uuid === uuid)).toHaveLength(own.length);
      // No fire time lost: each second from the earliest covered fire time to the last is covered
      // by exactly one decision (a decision covering more than one means a pass came over a second
      // late; it is recorded at the latest fire time it covers, the first one included).
      const earliest = own[0]!.fire_at - (own[0]!.covered - 1) * 1000;
      const seconds = (own[own.length - 1]!.fire_at - earliest) / 1000 + 1;
      expect(own.reduce((n, f) => n + f.covered, 0)).toBe(seconds);
      expect(earliest).toBeLessThanOrEqual(Math.ceil(enabledAt / 1000) * 1000 + 5000);
    }
    // Every server decided some fires: the result above came from real contention.
    for (const s of servers) expect(fires.filter((f) => f.decided_by === s.instanceId).length, `fires decided by ${s.instanceId}`).toBeGreaterThan(0);
    // All still QUEUED behind the held slot: nothing was launched twice or at all.
    expect(scheduled.every((e) => e.status === 'QUEUED')).toBe(true);
    const coalesced = fires.filter((f) => f.covered > 1).length;
    const lateness = fires.map((f) => f.created_at - f.fire_at).sort((a, b) => a - b);
    console.log(
      `scheduler x3 on PostgreSQL: ${fires.length} fires of ${TASKS} Tasks, ${coalesced} coalesced; lateness p50 ${lateness[Math.floor(lateness.length / 2)]} ms, p99 ${lateness[Math.floor(lateness.length * 0.99)]} ms`,
    );
  });
});
