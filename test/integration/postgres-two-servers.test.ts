/**
 * Two `berth server` processes on one PostgreSQL database compete for 200 queued executions:
 * each is launched exactly once, and both servers take part.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRunEnvironmentSpec } from '../../src/domain/run-environment.js';
import { TaskSpec } from '../../src/domain/task.js';
import { openStore } from '../../src/store/open-store.js';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../support/postgres.js';
import { client, startServerProcess } from '../support/server-process.js';
import type { ServerProcess } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const KEY = 'berth_pg_two_servers_key_0123456789';
const COUNT = 200;

describe.runIf(await postgresAvailable())('two servers on one PostgreSQL database', () => {
  const schema = freshSchemaName();
  const temp = tempDir('berth-pg-two-');
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM');
    await dropSchema(schema);
    temp.cleanup();
  });

  it(`launches each of ${COUNT} queued executions exactly once`, async () => {
    const marks = path.join(temp.dir, 'launches.log');
    const common = {
      BERTH_DATABASE_URL: POSTGRES_TEST_URL,
      BERTH_DATABASE_SCHEMA: schema,
      BERTH_ADMIN_API_KEY: KEY,
      BERTH_MONITOR_INTERVAL_MS: '100',
      BERTH_LAUNCHER_INTERVAL_MS: '50',
      BERTH_LAUNCH_BATCH_SIZE: '5',
    };
    // Both start together against an empty schema: migrations must serialise too.
    const [a, b] = await Promise.all([
      startServerProcess({ ...common, BERTH_DATA_DIR: path.join(temp.dir, 'a') }),
      startServerProcess({ ...common, BERTH_DATA_DIR: path.join(temp.dir, 'b') }),
    ]);
    servers.push(a!, b!);

    const store = await openStore({ dataDir: temp.dir, databaseUrl: POSTGRES_TEST_URL, databaseSchema: schema });
    const now = Date.now();
    const env = (await store.upsertRunEnvironment(LocalRunEnvironmentSpec.parse({ name: 'local', kind: 'local' }), now)).record;
    const task = (
      await store.upsertTask(
        TaskSpec.parse({ name: 'mark', run_environment: 'local', command: `echo "$BERTH_TASK_EXECUTION_UUID" >> ${marks}` }),
        env.uuid,
        now,
      )
    ).record;
    const uuids: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const execution = await store.createExecution({
        uuid: randomUUID(),
        task_uuid: task.uuid,
        run_environment_uuid: env.uuid,
        status: 'QUEUED',
        run_reason: 'EXPLICIT_START',
        max_attempts: 1,
        environment_overrides: {},
        input_value: null,
        created_at: now + i,
        executor_kind: 'local',
      });
      uuids.push(execution.uuid);
    }
    // Released all at once, so both launchers see them become due together.
    await store.transaction(async (tx) => {
      for (const uuid of uuids) await tx.updateExecution(uuid, { launch_after: Date.now() + 300 });
    });

    const api = client(a!.url, KEY);
    await waitFor(
      async () => (await api('GET', '/api/v1/task_executions/?status=SUCCEEDED&limit=1')).body.count === COUNT,
      `${COUNT} executions to succeed`,
      120_000,
      250,
    );
    const launched = fs.readFileSync(marks, 'utf8').trim().split('\n');
    expect(launched).toHaveLength(COUNT);
    expect(new Set(launched).size).toBe(COUNT);
    expect([...launched].sort()).toEqual([...uuids].sort());

    const page = await store.listExecutions({ task_uuid: task.uuid, limit: 1000, offset: 0 });
    expect(page.items.every((e) => e.status === 'SUCCEEDED' && e.attempt === 1)).toBe(true);
    const byOwner = new Map<string, number>();
    for (const e of page.items) byOwner.set(e.owner_instance ?? 'none', (byOwner.get(e.owner_instance ?? 'none') ?? 0) + 1);
    // Both servers launched some: the exactly-once result above came from real contention.
    expect(byOwner.get(a!.instanceId) ?? 0).toBeGreaterThan(0);
    expect(byOwner.get(b!.instanceId) ?? 0).toBeGreaterThan(0);
    await store.close();
  });
});
