/**
 * The narrowest crash window: the server claimed an execution (its launch token is stored) and
 * died before it recorded what it started. The next server must launch it if nothing started,
 * and re-attach (never launch again) if the process did start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/executors/local/local-executor.js';
import { openStore } from '../../src/store/open-store.js';
import { buildStartRequest } from '../../src/server/launcher.js';
import { startTestServer } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';

let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir('berth-interrupted-');
});
afterEach(() => temp.cleanup());

async function prepare(dataDir: string, marks: string) {
  // A first server creates the Task, then stops.
  const first = await startTestServer({ dataDir }, { keepDir: true });
  await first.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' });
  await first.request('POST', '/api/v1/tasks/', {
    name: 'once',
    run_environment: 'local',
    command: `echo "$BERTH_TASK_EXECUTION_UUID" >> ${marks}; sleep 0.5`,
  });
  await first.stop();
  // The state a crash leaves: claimed (MANUALLY_STARTED, token stored, owner gone), no handle.
  const store = await openStore({ dataDir });
  const task = (await store.getTask('once'))!;
  const uuid = '5b0c8f2e-6f3a-4c1e-9a7d-1e2f3a4b5c6d';
  await store.createExecution({
    uuid,
    task_uuid: task.uuid,
    run_environment_uuid: task.run_environment_uuid,
    status: 'MANUALLY_STARTED',
    run_reason: 'EXPLICIT_START',
    max_attempts: 1,
    environment_overrides: {},
    input_value: null,
    created_at: Date.now(),
    owner_instance: 'crashed-server',
    executor_kind: 'local',
  });
  const execution = (await store.updateExecution(uuid, { attempt: 1, launch_token: `${uuid}-1` }))!;
  const env = (await store.getRunEnvironment('local'))!;
  await store.close();
  return { uuid, request: buildStartRequest(execution, task, env) };
}

it('launches a claimed execution that never started, exactly once', async () => {
  const dataDir = path.join(temp.dir, 'data');
  const marks = path.join(temp.dir, 'marks.log');
  const { uuid } = await prepare(dataDir, marks);
  const second = await startTestServer({ dataDir }, { keepDir: true });
  try {
    const done = await waitFor(async () => {
      const r = await second.request('GET', `/api/v1/task_executions/${uuid}`);
      return r.body.status === 'SUCCEEDED' ? r.body : null;
    }, 'the recovered execution to succeed');
    expect(done.attempt).toBe(1);
    expect(fs.readFileSync(marks, 'utf8').trim().split('\n')).toEqual([uuid]);
  } finally {
    await second.stop();
  }
});

it('re-attaches to a process that did start before the crash instead of starting another', async () => {
  const dataDir = path.join(temp.dir, 'data');
  const marks = path.join(temp.dir, 'marks.log');
  const { uuid, request } = await prepare(dataDir, marks);
  // The crashed server had already spawned it.
  const executor = new LocalExecutor({ dataDir, defaultWorkingDirectory: temp.dir });
  const started = await executor.start(request);
  if (!started.ok) throw new Error(started.failure.message);
  await executor.close();
  const second = await startTestServer({ dataDir }, { keepDir: true });
  try {
    const done = await waitFor(async () => {
      const r = await second.request('GET', `/api/v1/task_executions/${uuid}`);
      return r.body.status === 'SUCCEEDED' ? r.body : null;
    }, 'the re-attached execution to succeed');
    expect(done.executor.details.runner_pid).toBe(started.handle.runner_pid);
    expect(fs.readFileSync(marks, 'utf8').trim().split('\n')).toEqual([uuid]);
  } finally {
    await second.stop();
  }
});
