/**
 * A Berth server killed with SIGKILL while tasks run, then started again on the same data:
 * nothing is lost, nothing runs twice, everything ends in a terminal state with a reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { client, startServerProcess } from '../support/server-process.js';
import type { ServerProcess } from '../support/server-process.js';
import { tempDir, waitFor } from '../support/temp.js';

const KEY = 'berth_restart_test_key_0123456789';
const TERMINAL = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED', 'ABANDONED', 'ABORTED', 'EXITED_AFTER_MARKED_DONE'];

describe('crash and restart of the server (SQLite)', () => {
  const servers: ServerProcess[] = [];
  let temp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    temp = tempDir('berth-restart-');
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.kill('SIGKILL');
    temp.cleanup();
  });

  /** A server on a new data directory with a `local` Run Environment; `env` starts the next one on the same data. */
  async function firstServer(dataDirName: string) {
    const env = { BERTH_DATA_DIR: path.join(temp.dir, dataDirName), BERTH_ADMIN_API_KEY: KEY, BERTH_MONITOR_INTERVAL_MS: '100', BERTH_LAUNCHER_INTERVAL_MS: '100' };
    const server = await startServerProcess(env);
    servers.push(server);
    const api = client(server.url, KEY);
    await api('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' });
    return { env, first: Object.assign(server, { api }) };
  }

  it('re-attaches running executions, launches queued ones once, and closes every one with a reason', async () => {
    const marks = path.join(temp.dir, 'launches.log');
    const { env, first } = await firstServer('data');
    let api = first.api;
    const mark = `echo "$BERTH_TASK_EXECUTION_UUID $BERTH_ATTEMPT" >> ${marks}`;
    const tasks = [
      // Still running across the crash and after the restart: re-attached, real exit code.
      { name: 'outlives-crash', command: `${mark}; sleep 4; exit 0` },
      { name: 'fails-later', command: `${mark}; sleep 4; exit 7` },
      // Ends while no server is up: its result waits on disk for the next server.
      { name: 'ends-while-down', command: `${mark}; sleep 1; echo done` },
      // One at a time: two of them still queued when the server dies.
      { name: 'one-at-a-time', command: `${mark}; sleep 2`, max_concurrency: 1 },
    ];
    for (const t of tasks) {
      expect((await api('POST', '/api/v1/tasks/', { run_environment: 'local', ...t })).status).toBe(201);
    }
    const started: Record<string, string[]> = {};
    for (const t of tasks) {
      const count = t.name === 'one-at-a-time' ? 3 : 1;
      for (let i = 0; i < count; i++) {
        const r = await api('POST', '/api/v1/task_executions/', { task: t.name });
        expect(r.status).toBe(201);
        (started[t.name] ??= []).push(r.body.uuid);
      }
    }
    const all = Object.values(started).flat();
    // Wait until the first four are running (the other two queue behind max_concurrency 1).
    await waitFor(async () => {
      const r = await api('GET', '/api/v1/task_executions/?status=RUNNING&limit=100');
      return r.body.count === 4;
    }, 'four running executions');

    expect(await first.kill('SIGKILL')).toBeNull();
    // While no server runs, the short task finishes on its own.
    await new Promise((r) => setTimeout(r, 1500));

    const second = await startServerProcess(env);
    servers.push(second);
    api = client(second.url, KEY);
    const final = await waitFor(
      async () => {
        const results = await Promise.all(all.map((uuid) => api('GET', `/api/v1/task_executions/${uuid}/`)));
        return results.every((r) => TERMINAL.includes(r.body.status)) ? results.map((r) => r.body) : null;
      },
      'every execution to end',
      40_000,
    );
    const byUuid = new Map(final.map((e) => [e.uuid, e]));
    expect(byUuid.get(started['outlives-crash']![0]!)).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, attempt: 1 });
    expect(byUuid.get(started['fails-later']![0]!)).toMatchObject({
      status: 'FAILED',
      exit_code: 7,
      failure: { type: 'EXIT', exit_code: 7 },
    });
    expect(byUuid.get(started['ends-while-down']![0]!)).toMatchObject({ status: 'SUCCEEDED', exit_code: 0 });
    for (const uuid of started['one-at-a-time']!) expect(byUuid.get(uuid)).toMatchObject({ status: 'SUCCEEDED', attempt: 1 });

    // Each execution's process started exactly once.
    const lines = fs.readFileSync(marks, 'utf8').trim().split('\n');
    expect(lines.sort()).toEqual(all.map((uuid) => `${uuid} 1`).sort());
    // The re-attached output is complete.
    const logs = await api('GET', `/api/v1/task_executions/${started['ends-while-down']![0]}/logs`);
    expect(logs.body.entries).toEqual([{ stream: 'stdout', text: 'done' }]);
  });

  it('closes an execution whose process vanished as ABANDONED with the reason', async () => {
    const { env, first } = await firstServer('data2');
    let api = first.api;
    await api('POST', '/api/v1/tasks/', { name: 'victim', run_environment: 'local', command: 'sleep 30' });
    const { body } = await api('POST', '/api/v1/task_executions/', { task: 'victim' });
    const running = await waitFor(async () => {
      const r = await api('GET', `/api/v1/task_executions/${body.uuid}`);
      return r.body.status === 'RUNNING' ? r.body : null;
    }, 'victim running');
    await first.kill('SIGKILL');
    // Someone kills the whole process group (runner and command) while Berth is down.
    const runnerPid = running.executor.details.runner_pid as number;
    const commandPid = running.executor.details.pid as number;
    process.kill(runnerPid, 'SIGKILL');
    try {
      process.kill(-commandPid, 'SIGKILL');
    } catch {
      // already gone
    }
    const second = await startServerProcess(env);
    servers.push(second);
    api = client(second.url, KEY);
    const ended = await waitFor(async () => {
      const r = await api('GET', `/api/v1/task_executions/${body.uuid}`);
      return TERMINAL.includes(r.body.status) ? r.body : null;
    }, 'victim to be closed');
    expect(ended).toMatchObject({ status: 'ABANDONED', stop_reason: 'EXECUTOR_LOST', failure: { type: 'LOST' } });
    expect(ended.failure.message).toMatch(/runner|gone|vanished|no longer/i);
  });

  it('executions started together share a runner: one stops through the API, the others outlive a crash with their own exit codes', async () => {
    const go = path.join(temp.dir, 'go');
    const { env, first } = await firstServer('data3');
    let api = first.api;
    const waitForGo = `while [ ! -e ${go} ]; do sleep 0.05; done`;
    const tasks = [
      { name: 'exits-3', command: `${waitForGo}; exit 3` },
      { name: 'exits-0', command: `${waitForGo}; echo fine` },
      { name: 'stopped', command: 'sleep 300' },
    ];
    for (const t of tasks) expect((await api('POST', '/api/v1/tasks/', { run_environment: 'local', ...t })).status).toBe(201);
    // A Workflow's independent instances are created in one transaction: one launcher pass starts them together.
    expect((await api('POST', '/api/v1/workflows/', { name: 'together', task_instances: tasks.map((t) => ({ task: t.name })) })).status).toBe(201);
    expect((await api('POST', '/api/v1/workflow_executions/', { workflow: 'together' })).status).toBe(201);
    const listed = await waitFor(async () => {
      const r = await api('GET', '/api/v1/task_executions/?status=RUNNING&limit=100');
      return r.body.count === 3 ? (r.body.results as { uuid: string; task: { name: string } }[]) : null;
    }, 'three running executions');
    const uuid = Object.fromEntries(listed.map((e) => [e.task.name, e.uuid]));
    const details = await Promise.all(tasks.map(async (t) => (await api('GET', `/api/v1/task_executions/${uuid[t.name]}`)).body));
    const runners = new Set(details.map((e) => e.executor.details.runner_pid as number));
    expect(runners.size).toBe(1);

    // Stopping one attempt leaves its runner and the other two running.
    expect((await api('PATCH', `/api/v1/task_executions/${uuid.stopped}/`, { status: 'STOPPING' })).status).toBe(200);
    const stopped = await waitFor(async () => {
      const r = await api('GET', `/api/v1/task_executions/${uuid.stopped}`);
      return TERMINAL.includes(r.body.status) ? r.body : null;
    }, 'the stopped execution to end');
    expect(stopped).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL' });
    for (const name of ['exits-3', 'exits-0']) {
      expect((await api('GET', `/api/v1/task_executions/${uuid[name]}`)).body.status).toBe('RUNNING');
    }

    // The server dies; the shared runner does not. The next server re-attaches to both attempts.
    await first.kill('SIGKILL');
    fs.writeFileSync(go, '');
    const second = await startServerProcess(env);
    servers.push(second);
    api = client(second.url, KEY);
    const ended = await waitFor(
      async () => {
        const results = await Promise.all(['exits-3', 'exits-0'].map(async (name) => (await api('GET', `/api/v1/task_executions/${uuid[name]}`)).body));
        return results.every((e) => TERMINAL.includes(e.status)) ? results : null;
      },
      'both to end',
      40_000,
    );
    expect(ended[0]).toMatchObject({ status: 'FAILED', exit_code: 3, attempt: 1 });
    expect(ended[1]).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, attempt: 1 });
    const logs = await api('GET', `/api/v1/task_executions/${uuid['exits-0']}/logs`);
    expect(logs.body.entries).toEqual([{ stream: 'stdout', text: 'fine' }]);
  });
});
