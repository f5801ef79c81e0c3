/**
 * A Berth server killed (SIGKILL) in the middle of a Workflow Execution, twice, and started again
 * on the same data directory each time: the Workflow Execution finishes, and no instance was
 * started twice (each command appends its instance name to a file; every name is there once).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { client, startServerProcess } from '../support/server-process.js';
import type { ServerProcess } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const KEY = 'berth_workflow_restart_key_0123456789';

describe('a server restart in the middle of a Workflow Execution (SQLite)', () => {
  const servers: ServerProcess[] = [];
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir('berth-wf-restart-');
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.kill('SIGKILL');
    temp.cleanup();
  });

  it('continues where it was, starting nothing twice and losing nothing', async () => {
    const dataDir = path.join(temp.dir, 'data');
    const marks = path.join(temp.dir, 'started.log');
    const env = {
      BERTH_DATA_DIR: dataDir,
      BERTH_ADMIN_API_KEY: KEY,
      BERTH_MONITOR_INTERVAL_MS: '100',
      BERTH_LAUNCHER_INTERVAL_MS: '100',
    };
    const start = async () => {
      const server = await startServerProcess(env);
      servers.push(server);
      return { server, api: client(server.url, KEY) };
    };
    let { server, api } = await start();
    const mark = `echo "$BERTH_WORKFLOW_INSTANCE" >> ${marks}`;
    expect((await api('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
    for (const [name, seconds] of [
      ['first', 2],
      ['branch', 2],
      ['last', 0],
    ] as const) {
      const r = await api('POST', '/api/v1/tasks/', { name, run_environment: 'local', command: `${mark}; sleep ${seconds}` });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const workflow = await api('POST', '/api/v1/workflows/', {
      name: 'survivor',
      task_instances: [
        { name: 'first', task: 'first' },
        { name: 'left', task: 'branch' },
        { name: 'right', task: 'branch' },
        { name: 'last', task: 'last' },
      ],
      transitions: [
        { from: 'first', to: 'left', on: 'success' },
        { from: 'first', to: 'right', on: 'success' },
        { from: 'left', to: 'last', on: 'success' },
        { from: 'right', to: 'last', on: 'success' },
      ],
    });
    expect(workflow.status, JSON.stringify(workflow.body)).toBe(201);
    const started = await api('POST', '/api/v1/workflow_executions/', { workflow: 'survivor' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const uuid = started.body.uuid as string;
    const nodes = async () => {
      const r = await api('GET', `/api/v1/workflow_executions/${uuid}`);
      return Object.fromEntries((r.body.nodes as any[]).map((n) => [n.name, n])) as Record<string, any>;
    };

    // Crash while the first instance runs.
    await waitFor(async () => (await nodes()).first.execution?.status === 'RUNNING', 'the first instance to run');
    await server.kill('SIGKILL');
    ({ server, api } = await start());

    // Crash again while both branches run.
    await waitFor(
      async () => {
        const n = await nodes();
        return n.left.execution?.status === 'RUNNING' && n.right.execution?.status === 'RUNNING';
      },
      'both branches to run',
      60_000,
    );
    await server.kill('SIGKILL');
    ({ server, api } = await start());

    const final = await waitFor(
      async () => {
        const r = await api('GET', `/api/v1/workflow_executions/${uuid}`);
        return r.body.finished_at !== null ? r.body : null;
      },
      'the workflow execution to end',
      60_000,
    );
    expect(final.status).toBe('SUCCEEDED');
    for (const node of final.nodes) {
      expect(node.state, node.name).toBe('SUCCEEDED');
      expect(node.runs, node.name).toHaveLength(1);
    }
    const lines = fs.readFileSync(marks, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(['first', 'last', 'left', 'right']);
    // One Task Execution per instance, all WORKFLOW runs.
    const executions = await api('GET', '/api/v1/task_executions?limit=100');
    expect(executions.body.count).toBe(4);
    expect(new Set(executions.body.results.map((e: any) => e.run_reason))).toEqual(new Set(['WORKFLOW']));
  });
});
