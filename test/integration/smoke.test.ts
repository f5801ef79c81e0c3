import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';
import { waitFor } from '../support/temp.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

it('runs a task end to end', async () => {
  expect((await t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
  const task = await t.request('POST', '/api/v1/tasks/', { name: 'hello', run_environment: 'local', command: 'echo hi; echo err >&2' });
  expect(task.status).toBe(201);
  const started = await t.request('POST', '/api/v1/task_executions/', { task: 'hello' });
  expect(started.status).toBe(201);
  const done = await waitFor(async () => {
    const r = await t.request('GET', `/api/v1/task_executions/${started.body.uuid}`);
    return r.body.status === 'SUCCEEDED' ? r.body : null;
  }, 'success');
  expect(done.exit_code).toBe(0);
  const logs = await t.request('GET', `/api/v1/task_executions/${started.body.uuid}/logs`);
  console.log(JSON.stringify(done, null, 1), JSON.stringify(logs.body));
});
