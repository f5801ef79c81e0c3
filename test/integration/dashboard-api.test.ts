/**
 * The API routes the web dashboard adds (whoami, task_summaries, overview) against a real server
 * on a SQLite file; the summary queries themselves are in the store suite (both databases).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
let t: TestServer;
const HOUR = 3600_000;

async function ok(method: string, path: string, body?: unknown, key: string | null = TEST_ADMIN_KEY) {
  const res = await t.request(method, path, body, key);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Executions written straight to the store, so their statuses and times are exactly these. */
async function addExecution(taskName: string, status: string, createdAgoMs: number) {
  const store = t.server.ctx.store;
  const task = (await store.getTask(taskName))!;
  const created = Date.now() - createdAgoMs;
  return store.createExecution({
    uuid: randomUUID(),
    task_uuid: task.uuid,
    run_environment_uuid: task.run_environment_uuid,
    status: status as never,
    run_reason: 'EXPLICIT_START',
    max_attempts: 1,
    environment_overrides: {},
    input_value: null,
    created_at: created,
    started_at: created,
  });
}

beforeAll(async () => {
  t = await startTestServer();
  await ok('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' });
  await ok('POST', '/api/v1/run_environments/', { name: 'other', kind: 'local' });
  await ok('POST', '/api/v1/tasks/', { name: 'etl-nightly', run_environment: 'local', command: 'true', schedule: '0 3 * * *' });
  await ok('POST', '/api/v1/tasks/', { name: 'etl-hourly', run_environment: 'other', command: 'true', schedule: '@hourly' });
  await ok('POST', '/api/v1/tasks/', { name: 'report', run_environment: 'local', command: 'true', enabled: false });
  await ok('POST', '/api/v1/workflows/', { name: 'wf', task_instances: [{ task: 'etl-nightly' }], schedule: '*/5 * * * *' });
  for (const [status, ago] of [['SUCCEEDED', 30 * HOUR], ['FAILED', 3 * HOUR], ['SUCCEEDED', 2 * HOUR], ['SUCCEEDED', HOUR], ['STOPPED', 1000]] as const) {
    await addExecution('etl-nightly', status, ago);
  }
  await addExecution('etl-hourly', 'FAILED', 10 * 60_000);
});
afterAll(async () => t?.stop());

describe('GET /api/v1/whoami', () => {
  it("answers the key's scope and name, never the key", async () => {
    const admin = await ok('GET', '/api/v1/whoami');
    expect(admin).toMatchObject({ scope: 'admin', api_key: { name: 'admin' }, local_only: false });
    expect(JSON.stringify(admin)).not.toContain(TEST_ADMIN_KEY);
    const { key } = await ok('POST', '/api/v1/api_keys/', { name: 'viewer', scope: 'reporter', run_environment: 'local' });
    const reporter = await ok('GET', '/api/v1/whoami', undefined, key);
    expect(reporter.scope).toBe('reporter');
    expect(reporter.api_key.name).toBe('viewer');
    expect(reporter.api_key.prefix).toBe(key.split('_').slice(0, 2).join('_'));
    expect(reporter.api_key.run_environment.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a missing or unknown key with UNAUTHENTICATED', async () => {
    const none = await t.request('GET', '/api/v1/whoami', undefined, null);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    const wrong = await t.request('GET', '/api/v1/whoami', undefined, 'berth_00000000_nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('Unknown API key.');
  });

  it('answers a local-only caller without a key as admin with no key', async () => {
    const local = await startTestServer({ localOnly: true });
    try {
      const res = await local.request('GET', '/api/v1/whoami', undefined, null);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ scope: 'admin', api_key: null, local_only: true });
    } finally {
      await local.stop();
    }
  });
});

describe('GET /api/v1/task_summaries', () => {
  it('gives each Task of the page its last execution, success rate and next fire', async () => {
    const page = await ok('GET', '/api/v1/task_summaries/');
    expect(page.count).toBe(3);
    expect(page.results.map((r: any) => r.task.name)).toEqual(['etl-hourly', 'etl-nightly', 'report']);
    const nightly = page.results[1];
    expect(nightly.task.run_environment).toMatchObject({ name: 'local', kind: 'local' });
    expect(nightly.last_execution.status).toBe('STOPPED');
    expect(nightly.recent_finished).toBe(5);
    expect(nightly.recent_succeeded).toBe(3);
    expect(nightly.success_rate).toBeCloseTo(0.6);
    expect(new Date(nightly.next_fire_at).toISOString()).toMatch(/T03:00:00\.000Z$/);
    expect(Date.parse(nightly.next_fire_at)).toBeGreaterThan(Date.now());
    const report = page.results[2];
    expect(report).toMatchObject({ last_execution: null, recent_finished: 0, success_rate: null, next_fire_at: null });
  });

  it('filters and pages like GET /api/v1/tasks/', async () => {
    const searched = await ok('GET', '/api/v1/task_summaries/?search=ETL');
    expect(searched.results.map((r: any) => r.task.name)).toEqual(['etl-hourly', 'etl-nightly']);
    const other = await ok('GET', '/api/v1/task_summaries/?run_environment=other');
    expect(other.results.map((r: any) => r.task.name)).toEqual(['etl-hourly']);
    expect(other.results[0].success_rate).toBe(0);
    const disabled = await ok('GET', '/api/v1/task_summaries/?enabled=false');
    expect(disabled.results.map((r: any) => r.task.name)).toEqual(['report']);
    const paged = await ok('GET', '/api/v1/task_summaries/?limit=2');
    expect(paged.results).toHaveLength(2);
    expect(paged.next).toBe('/api/v1/task_summaries/?limit=2&offset=2');
    const second = await ok('GET', paged.next);
    expect(second.results.map((r: any) => r.task.name)).toEqual(['report']);
  });

  it('refuses bad filters with what is wrong', async () => {
    const env = await t.request('GET', '/api/v1/task_summaries/?run_environment=nowhere');
    expect(env.status).toBe(404);
    expect(env.body.error.code).toBe('RUN_ENVIRONMENT_NOT_FOUND');
    const limit = await t.request('GET', '/api/v1/task_summaries/?limit=5000');
    expect(limit.status).toBe(400);
    expect(limit.body.error.message).toContain('limit must be between 1 and 1000');
    const unknown = await t.request('GET', '/api/v1/task_summaries/?colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /api/v1/overview', () => {
  it('counts the executions of the window by status and lists the next scheduled starts', async () => {
    const day = await ok('GET', '/api/v1/overview');
    expect(day.counts).toEqual({ FAILED: 2, SUCCEEDED: 2, STOPPED: 1 });
    expect(day.total).toBe(5);
    expect(Date.now() - Date.parse(day.since)).toBeGreaterThanOrEqual(24 * HOUR);
    const hours = await ok('GET', '/api/v1/overview?hours=2');
    expect(hours.counts).toEqual({ FAILED: 1, SUCCEEDED: 1, STOPPED: 1 });
    expect(day.upcoming.map((u: any) => u.name).sort()).toEqual(['etl-hourly', 'etl-nightly', 'wf']);
    const times = day.upcoming.map((u: any) => Date.parse(u.next_fire_at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(day.upcoming.find((u: any) => u.name === 'wf')).toMatchObject({ kind: 'workflow', schedule: '*/5 * * * *' });
    expect((await ok('GET', '/api/v1/overview?upcoming=1')).upcoming).toHaveLength(1);
  });

  it('refuses a window out of range', async () => {
    const res = await t.request('GET', '/api/v1/overview?hours=0');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('query.hours');
  });
});

describe('the dashboard at /', () => {
  it('is served next to the API (or a page that says how to build it) and leaves API 404s alone', async () => {
    const page = await fetch(`${t.server.url}/tasks/etl-nightly`);
    expect([200, 503]).toContain(page.status);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const api = await t.request('GET', '/api/v1/nothing-here');
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('ROUTE_NOT_FOUND');
  });
});
