/**
 * Two `berth server` processes on one PostgreSQL database advance the same Workflow Executions
 * (both engines look at every one of them): every instance of every execution starts exactly once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../support/postgres.js';
import { client, startServerProcess } from '../support/server-process.js';
import type { ServerProcess } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const KEY = 'berth_pg_workflows_key_0123456789';
const RUNS = 12;

describe.runIf(await postgresAvailable())('Workflows with two servers on one PostgreSQL database', () => {
  const schema = freshSchemaName();
  const temp = tempDir('berth-pg-wf-');
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill('SIGTERM');
    await dropSchema(schema);
    temp.cleanup();
  });

  it(`starts each instance of ${RUNS} workflow executions exactly once`, async () => {
    const marks = path.join(temp.dir, 'starts.log');
    const common = {
      BERTH_DATABASE_URL: POSTGRES_TEST_URL,
      BERTH_DATABASE_SCHEMA: schema,
      BERTH_ADMIN_API_KEY: KEY,
      BERTH_MONITOR_INTERVAL_MS: '50',
      BERTH_LAUNCHER_INTERVAL_MS: '50',
    };
    const a = await startServerProcess({ ...common, BERTH_DATA_DIR: path.join(temp.dir, 'a') });
    servers.push(a);
    const b = await startServerProcess({ ...common, BERTH_DATA_DIR: path.join(temp.dir, 'b') });
    servers.push(b);
    const apiA = client(a.url, KEY);
    const apiB = client(b.url, KEY);
    expect((await apiA('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
    const command = `echo "$BERTH_WORKFLOW_EXECUTION_UUID $BERTH_WORKFLOW_INSTANCE" >> ${marks}`;
    expect((await apiA('POST', '/api/v1/tasks/', { name: 'mark', run_environment: 'local', command })).status).toBe(201);
    const instances = ['root', 'left', 'right', 'join', 'tail'];
    const created = await apiA('POST', '/api/v1/workflows/', {
      name: 'diamond',
      task_instances: instances.map((name) => ({ name, task: 'mark' })),
      transitions: [
        { from: 'root', to: 'left', on: 'success' },
        { from: 'root', to: 'right', on: 'always' },
        { from: 'left', to: 'join', on: 'success' },
        { from: 'right', to: 'join', on: 'success' },
        { from: 'join', to: 'tail', on: 'exit_code', exit_codes: [0] },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    const uuids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await (i % 2 === 0 ? apiA : apiB)('POST', '/api/v1/workflow_executions/', { workflow: 'diamond' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      uuids.push(r.body.uuid);
    }
    await waitFor(
      async () => {
        const r = await apiB('GET', `/api/v1/workflow_executions?status=IN_PROGRESS&limit=1`);
        return r.body.count === 0;
      },
      'every workflow execution to end',
      120_000,
    );
    for (const uuid of uuids) {
      const wfe = (await apiA('GET', `/api/v1/workflow_executions/${uuid}`)).body;
      expect(wfe.status, JSON.stringify(wfe.failure)).toBe('SUCCEEDED');
      for (const node of wfe.nodes) expect(node.runs, `${uuid} ${node.name}`).toHaveLength(1);
    }
    const lines = fs.readFileSync(marks, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(RUNS * instances.length);
    expect(new Set(lines).size).toBe(RUNS * instances.length);
    const executions = await apiA('GET', '/api/v1/task_executions?limit=1');
    expect(executions.body.count).toBe(RUNS * instances.length);
  });
});
