/**
 * The HTTP API against a real server (real SQLite file, real local executor): the documented
 * surface, the error shape, authentication and scopes, local-only mode, apply, Tasks, Run
 * Environments and list paging/filters.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../../src/domain/errors.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import { registeredRoutes } from '../../src/server/api/app.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { waitFor } from '../support/temp.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
type Reply = { status: number; body: any };

/** Asserts the one error shape: `{"error": {"code", "message", "details"?}}` with the catalogue's status. */
function expectError(reply: Reply, code: ErrorCode): any {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status: ERROR_CATALOGUE[code].status, code });
  expect(Object.keys(reply.body)).toEqual(['error']);
  for (const key of Object.keys(reply.body.error)) expect(['code', 'message', 'details']).toContain(key);
  expect(typeof reply.body.error.message).toBe('string');
  expect(reply.body.error.message.length).toBeGreaterThan(0);
  if ('details' in reply.body.error) expect(typeof reply.body.error.details).toBe('object');
  return reply.body.error;
}

function issuePaths(reply: Reply): string[] {
  return (reply.body.error.details?.issues ?? []).map((i: { path: string }) => i.path);
}

/** fetch with any headers and a raw body, for what `request` cannot send. */
async function raw(
  t: TestServer,
  method: string,
  urlPath: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply & { text: string }> {
  const response = await fetch(`${t.server.url}${urlPath}`, { method, headers: options.headers, body: options.body });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

const TERMINAL = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED', 'ABANDONED', 'ABORTED', 'EXITED_AFTER_MARKED_DONE'];

async function waitForStatus(t: TestServer, uuid: string, statuses: string[], what = statuses.join('/')) {
  return waitFor(async () => {
    const r = await t.request('GET', `/api/v1/task_executions/${uuid}`);
    return statuses.includes(r.body.status) ? r.body : null;
  }, `execution ${uuid} to be ${what}`);
}

async function stopAndWait(t: TestServer, uuid: string) {
  const r = await t.request('PATCH', `/api/v1/task_executions/${uuid}`, { status: 'STOPPING' });
  if (r.status !== 200 && r.status !== 409) throw new Error(`stop failed: ${JSON.stringify(r.body)}`);
  return waitForStatus(t, uuid, TERMINAL, 'ended');
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  expect((await t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' })).status).toBe(201);
});
afterAll(async () => t?.stop());

describe('the OpenAPI document', () => {
  it('documents every registered route with its method, and equals the committed docs/api/openapi.json', async () => {
    const served = await t.request('GET', '/api/openapi.json', undefined, null);
    expect(served.status).toBe(200);
    const committed = JSON.parse(fs.readFileSync(new URL('../../docs/api/openapi.json', import.meta.url), 'utf8'));
    expect(served.body).toStrictEqual(committed);

    const routes = registeredRoutes(t.server.app).filter((r) => r.method !== 'HEAD' && r.url !== '/api/openapi.json');
    expect(routes.length).toBeGreaterThan(10);
    const registered = new Set<string>();
    for (const route of routes) {
      const documentedPath = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
      const operation = served.body.paths?.[documentedPath]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url} is not in the OpenAPI document`).toBeDefined();
      expect(typeof operation.operationId).toBe('string');
      registered.add(`${route.method} ${documentedPath}`);
    }
    // And the other way round: nothing documented that the server does not answer.
    for (const [documentedPath, operations] of Object.entries(served.body.paths as Record<string, object>)) {
      for (const method of Object.keys(operations)) {
        expect(registered, `${method} ${documentedPath} is documented but not registered`).toContain(
          `${method.toUpperCase()} ${documentedPath}`,
        );
      }
    }
  });
});

describe('errors', () => {
  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const r = await t.request('POST', '/api/v1/tasks/', '{"name": "x",');
    expectError(r, 'MALFORMED_JSON');
    const empty = await raw(t, 'POST', '/api/v1/tasks/', {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: '',
    });
    expectError(empty, 'MALFORMED_JSON');
  });

  it('names an unknown body field in details.issues', async () => {
    const r = await t.request('POST', '/api/v1/tasks/', { name: 'unknown-field', run_environment: 'local', command: 'true', colour: 'red' });
    const error = expectError(r, 'VALIDATION_FAILED');
    expect(error.details.issues).toContainEqual(expect.objectContaining({ path: 'body.colour' }));
    expect((await t.request('GET', '/api/v1/tasks/unknown-field')).status).toBe(404);
  });

  it('gives the path and a message for a field of the wrong type', async () => {
    const r = await t.request('POST', '/api/v1/tasks/', { name: 'wrong-type', run_environment: 'local', command: 'true', timeout_seconds: 'ten' });
    const error = expectError(r, 'VALIDATION_FAILED');
    const issue = error.details.issues.find((i: any) => i.path === 'body.timeout_seconds');
    expect(issue).toBeDefined();
    expect(issue.message).toMatch(/number/);
    expect(error.message).toContain('timeout_seconds');
  });

  it('checks path parameters and answers unknown objects with 404', async () => {
    const bad = await t.request('GET', '/api/v1/task_executions/not-a-uuid');
    expectError(bad, 'VALIDATION_FAILED');
    expect(issuePaths(bad)).toContain('path.uuid');
    expectError(await t.request('GET', '/api/v1/task_executions/0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f'), 'TASK_EXECUTION_NOT_FOUND');
    expectError(
      await t.request('PATCH', '/api/v1/task_executions/0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f', { success_count: 1 }),
      'TASK_EXECUTION_NOT_FOUND',
    );
    expectError(await t.request('GET', '/api/v1/tasks/no-such-task'), 'TASK_NOT_FOUND');
    expectError(await t.request('POST', '/api/v1/task_executions/', { task: 'no-such-task' }), 'TASK_NOT_FOUND');
    expectError(await t.request('GET', '/api/v1/run_environments/no-such-env'), 'RUN_ENVIRONMENT_NOT_FOUND');
  });

  it('answers 401 UNAUTHENTICATED without a key, with an unknown key and with a malformed header', async () => {
    expectError(await t.request('GET', '/api/v1/tasks/', undefined, null), 'UNAUTHENTICATED');
    expectError(await t.request('GET', '/api/v1/tasks/', undefined, 'berth_00000000_not-a-real-key-at-all'), 'UNAUTHENTICATED');
    expectError(await raw(t, 'GET', '/api/v1/tasks/', { headers: { authorization: `Basic ${TEST_ADMIN_KEY}` } }), 'UNAUTHENTICATED');
    // Health is public, and says nothing secret.
    const health = await t.request('GET', '/health', undefined, null);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
  });

  it('answers a body that is not JSON with 415', async () => {
    const body = JSON.stringify({ name: 'text-plain', kind: 'local' });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const r = await raw(t, 'POST', '/api/v1/run_environments/', {
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': contentType },
        body,
      });
      expect(r.status, contentType).toBe(415);
      expectError(r, 'UNSUPPORTED_MEDIA_TYPE');
    }
    const noType = await t.server.app.inject({
      method: 'POST',
      url: '/api/v1/run_environments/',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
      payload: body,
    });
    expectError({ status: noType.statusCode, body: noType.json() }, 'UNSUPPORTED_MEDIA_TYPE');
    expect((await t.request('GET', '/api/v1/run_environments/text-plain')).status).toBe(404);
    // JSON with a charset is still JSON.
    const ok = await raw(t, 'POST', '/api/v1/run_environments/', {
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ name: 'charset-env', kind: 'local' }),
    });
    expect(ok.status).toBe(201);
  });

  it('answers a body over 1 MiB with 413', async () => {
    const description = 'x'.repeat(1024 * 1024 + 10);
    const r = await t.server.app.inject({
      method: 'POST',
      url: '/api/v1/tasks/',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'too-big', run_environment: 'local', command: 'true', description }),
    });
    expectError({ status: r.statusCode, body: r.json() }, 'PAYLOAD_TOO_LARGE');
    // Just under the limit is parsed (and then refused by the schema, not by size).
    const under = await t.request('POST', '/api/v1/tasks/', {
      name: 'not-too-big',
      run_environment: 'local',
      command: 'true',
      description: 'x'.repeat(1024 * 1024 - 200),
    });
    expect(issuePaths(under)).toContain('body.description');
    expectError(under, 'VALIDATION_FAILED');
  });

  it('answers unknown routes with 404 ROUTE_NOT_FOUND', async () => {
    expectError(await t.request('GET', '/api/v1/no-such-thing'), 'ROUTE_NOT_FOUND');
    expectError(await t.request('PUT', '/api/v1/tasks/', { name: 'x' }), 'ROUTE_NOT_FOUND');
    expectError(await t.request('GET', '/api/nope', undefined, null), 'ROUTE_NOT_FOUND');
  });

  it('accepts paths with and without a trailing slash', async () => {
    expect((await t.request('POST', '/api/v1/tasks', { name: 'slashless', run_environment: 'local', command: 'true' })).status).toBe(201);
    for (const p of ['/api/v1/tasks', '/api/v1/tasks/', '/api/v1/tasks/slashless', '/api/v1/tasks/slashless/', '/health', '/health/']) {
      const r = await t.request('GET', p);
      expect(r.status, p).toBe(200);
    }
    expect((await t.request('PATCH', '/api/v1/tasks/slashless/', { description: 'patched' })).body.description).toBe('patched');
    expect((await t.request('DELETE', '/api/v1/tasks/slashless')).status).toBe(204);
  });
});

describe('API keys and scopes', () => {
  it('shows a new key once, and never its value or hash in lists', async () => {
    const created = await t.request('POST', '/api/v1/api_keys/', { name: 'listed-dev', scope: 'developer' });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^berth_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.api_key).toMatchObject({ name: 'listed-dev', scope: 'developer', prefix: key.slice(0, 14), revoked_at: null });
    expect(Object.keys(created.body.api_key)).not.toContain('key');

    const list = await t.request('GET', '/api/v1/api_keys/');
    expect(list.status).toBe(200);
    expect(list.body.results.map((k: any) => k.name)).toEqual(expect.arrayContaining(['admin', 'listed-dev']));
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(15));
    expect(text).not.toContain(createHash('sha256').update(key).digest('hex'));
    expect(text).not.toContain(createHash('sha256').update(TEST_ADMIN_KEY).digest('hex'));
    expect(text).not.toContain(TEST_ADMIN_KEY);
    expectError(await t.request('POST', '/api/v1/api_keys/', { name: 'listed-dev', scope: 'reporter' }), 'NAME_TAKEN');
  });

  it('stores only the hash of a key in the SQLite file', async () => {
    const name = `hash-check-${Date.now()}`;
    const created = await t.request('POST', '/api/v1/api_keys/', { name, scope: 'reporter' });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    const files = ['berth.sqlite', 'berth.sqlite-wal'].map((f) => path.join(t.dir, f)).filter((f) => fs.existsSync(f));
    expect(files).toContain(path.join(t.dir, 'berth.sqlite'));
    const contents = Buffer.concat(files.map((f) => fs.readFileSync(f)));
    // The row is in what we read (so the check below is meaningful) ...
    expect(contents.includes(name)).toBe(true);
    expect(contents.includes(createHash('sha256').update(key).digest('hex'))).toBe(true);
    // ... and the key is not, neither whole nor its secret part.
    expect(contents.includes(key)).toBe(false);
    expect(contents.includes(key.slice(15))).toBe(false);
    expect(contents.includes(TEST_ADMIN_KEY)).toBe(false);
  });

  it('limits reporter and developer keys, binds reporters to their Run Environment, and revokes at once', async () => {
    for (const name of ['scope-a', 'scope-b']) {
      expect((await t.request('POST', '/api/v1/run_environments/', { name, kind: 'local' })).status).toBe(201);
      expect((await t.request('POST', '/api/v1/tasks/', { name: `${name}-task`, run_environment: name, command: 'sleep 30' })).status).toBe(201);
    }
    const reporter = (await t.request('POST', '/api/v1/api_keys/', { name: 'reporter-a', scope: 'reporter', run_environment: 'scope-a' })).body;
    expect(reporter.api_key.run_environment).toMatchObject({ name: 'scope-a' });
    const developer = (await t.request('POST', '/api/v1/api_keys/', { name: 'developer-1', scope: 'developer' })).body;
    const rk: string = reporter.key;
    const dk: string = developer.key;

    // Reporter: no writes to the catalogue, no apply, no keys.
    const denied: [string, string, unknown][] = [
      ['POST', '/api/v1/tasks/', { name: 'by-reporter', run_environment: 'scope-a', command: 'true' }],
      ['POST', '/api/v1/tasks/', { name: 'scope-a-task', run_environment: 'scope-a', command: 'echo replaced' }],
      ['PATCH', '/api/v1/tasks/scope-a-task', { command: 'echo patched' }],
      ['DELETE', '/api/v1/tasks/scope-a-task', undefined],
      ['POST', '/api/v1/run_environments/', { name: 'by-reporter', kind: 'local' }],
      ['POST', '/api/v1/run_environments/', { name: 'scope-a', kind: 'local', description: 'replaced' }],
      ['POST', '/api/v1/apply', { document: { tasks: [] } }],
      ['GET', '/api/v1/api_keys/', undefined],
      ['POST', '/api/v1/api_keys/', { name: 'by-reporter', scope: 'admin' }],
    ];
    for (const [method, p, body] of denied) {
      const r = await t.request(method, p, body, rk);
      expect(r.status, `reporter ${method} ${p}`).toBe(403);
      expectError(r, 'INSUFFICIENT_SCOPE');
    }
    const task = await t.request('GET', '/api/v1/tasks/scope-a-task', undefined, rk);
    expect(task.status).toBe(200);
    expect(task.body.command).toBe('sleep 30');
    expect((await t.request('GET', '/api/v1/run_environments/scope-a', undefined, rk)).body.description).toBeNull();
    expect((await t.request('GET', '/api/v1/tasks/by-reporter')).status).toBe(404);

    // Reporter: reads everything.
    for (const p of ['/api/v1/tasks/', '/api/v1/tasks/scope-b-task', '/api/v1/run_environments/', '/api/v1/task_executions/']) {
      expect((await t.request('GET', p, undefined, rk)).status, p).toBe(200);
    }

    // Reporter: starts and reports executions in its own Run Environment only.
    const own = await t.request('POST', '/api/v1/task_executions/', { task: 'scope-a-task' }, rk);
    expect(own.status).toBe(201);
    const ownPatch = await t.request('PATCH', `/api/v1/task_executions/${own.body.uuid}`, { success_count: 3, last_status_message: 'going' }, rk);
    expect(ownPatch.status).toBe(200);
    expect(ownPatch.body).toMatchObject({ success_count: 3, last_status_message: 'going' });
    expectError(await t.request('POST', '/api/v1/task_executions/', { task: 'scope-b-task' }, rk), 'INSUFFICIENT_SCOPE');
    const other = await t.request('POST', '/api/v1/task_executions/', { task: 'scope-b-task' });
    expect(other.status).toBe(201);
    expectError(await t.request('PATCH', `/api/v1/task_executions/${other.body.uuid}`, { success_count: 1 }, rk), 'INSUFFICIENT_SCOPE');
    expectError(await t.request('PATCH', `/api/v1/task_executions/${other.body.uuid}`, { status: 'STOPPING' }, rk), 'INSUFFICIENT_SCOPE');
    expect((await t.request('GET', `/api/v1/task_executions/${other.body.uuid}`)).body.success_count).toBeNull();
    // Only the two executions were created.
    const listed = await t.request('GET', '/api/v1/task_executions/?run_environment=scope-b');
    expect(listed.body.count).toBe(1);

    // Developer: manages the catalogue, not keys.
    expect((await t.request('POST', '/api/v1/tasks/', { name: 'by-developer', run_environment: 'scope-b', command: 'true' }, dk)).status).toBe(201);
    expect((await t.request('POST', '/api/v1/apply', { document: { tasks: [] } }, dk)).status).toBe(200);
    for (const [method, p, body] of [
      ['GET', '/api/v1/api_keys/', undefined],
      ['POST', '/api/v1/api_keys/', { name: 'by-developer', scope: 'reporter' }],
      ['DELETE', '/api/v1/api_keys/reporter-a', undefined],
    ] as [string, string, unknown][]) {
      expectError(await t.request(method, p, body, dk), 'INSUFFICIENT_SCOPE');
    }

    // Revocation takes effect at once, even right after the key was used (and cached).
    expect((await t.request('GET', '/api/v1/tasks/', undefined, dk)).status).toBe(200);
    const revoked = await t.request('DELETE', '/api/v1/api_keys/developer-1');
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const after = await t.request('GET', '/api/v1/tasks/', undefined, dk);
    expectError(after, 'UNAUTHENTICATED');

    for (const uuid of [own.body.uuid, other.body.uuid]) await stopAndWait(t, uuid);
  });
});

describe('local-only mode', () => {
  let local: TestServer;
  beforeAll(async () => {
    local = await startTestServer({ localOnly: true });
  });
  afterAll(async () => local?.stop());

  it('trusts loopback callers without a key, but not cross-site or rebinding requests, and still limits keys', async () => {
    const noKey = await local.request('POST', '/api/v1/run_environments/', { name: 'lo', kind: 'local' }, null);
    expect(noKey.status).toBe(201);
    expect((await local.request('GET', '/api/v1/api_keys/', undefined, null)).status).toBe(200);
    const own = await raw(local, 'GET', '/api/v1/tasks/', { headers: { origin: local.server.url } });
    expect(own.status).toBe(200);

    expectError(await raw(local, 'GET', '/api/v1/tasks/', { headers: { origin: 'https://evil.example' } }), 'UNAUTHENTICATED');
    expectError(await raw(local, 'GET', '/api/v1/tasks/', { headers: { origin: 'null' } }), 'UNAUTHENTICATED');
    const port = new URL(local.server.url).port;
    for (const host of [`evil.example:${port}`, `192.168.1.10:${port}`, 'evil.example']) {
      const r = await local.server.app.inject({ method: 'GET', url: '/api/v1/tasks/', headers: { host } });
      expectError({ status: r.statusCode, body: r.json() }, 'UNAUTHENTICATED');
    }
    const remote = await local.server.app.inject({ method: 'GET', url: '/api/v1/tasks/', remoteAddress: '10.1.2.3' });
    expectError({ status: remote.statusCode, body: remote.json() }, 'UNAUTHENTICATED');
    const loopback = await local.server.app.inject({ method: 'GET', url: '/api/v1/tasks/', headers: { host: `localhost:${port}` } });
    expect(loopback.statusCode).toBe(200);

    // A key, when sent, is what counts: a reporter key stays a reporter, a bad key is refused.
    const reporter = (await local.request('POST', '/api/v1/api_keys/', { name: 'lo-reporter', scope: 'reporter' }, null)).body.key;
    expectError(await local.request('POST', '/api/v1/tasks/', { name: 'lo-task', run_environment: 'lo', command: 'true' }, reporter), 'INSUFFICIENT_SCOPE');
    expectError(await local.request('GET', '/api/v1/api_keys/', undefined, reporter), 'INSUFFICIENT_SCOPE');
    expect((await local.request('GET', '/api/v1/tasks/', undefined, reporter)).status).toBe(200);
    expectError(await local.request('GET', '/api/v1/tasks/', undefined, 'berth_00000000_wrong'), 'UNAUTHENTICATED');
    expect((await local.request('GET', '/health', undefined, null)).body.local_only).toBe(true);
  });
});

describe('apply', () => {
  const doc = (command = 'echo one', extra: Record<string, unknown> = {}) => ({
    version: 1,
    run_environments: [{ name: 'apply-env', kind: 'local', environment: { STAGE: 'test' } }],
    tasks: [
      { name: 'apply-one', run_environment: 'apply-env', command, ...extra },
      { name: 'apply-two', run_environment: 'apply-env', command: ['echo', 'two'], max_retries: 1 },
    ],
  });
  const actions = (r: Reply) => r.body.changes.map((c: any) => `${c.kind}:${c.name}:${c.action}`);

  it('creates, then reports unchanged, then updates with a field diff; dry runs write nothing', async () => {
    const dry = await t.request('POST', '/api/v1/apply', { document: doc(), dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dry_run).toBe(true);
    expect(actions(dry)).toEqual(['run_environment:apply-env:create', 'task:apply-one:create', 'task:apply-two:create']);
    expect((await t.request('GET', '/api/v1/run_environments/apply-env')).status).toBe(404);
    expect((await t.request('GET', '/api/v1/tasks/apply-one')).status).toBe(404);

    const created = await t.request('POST', '/api/v1/apply', { document: doc() });
    expect(created.status).toBe(200);
    expect(created.body.dry_run).toBe(false);
    expect(actions(created)).toEqual(['run_environment:apply-env:create', 'task:apply-one:create', 'task:apply-two:create']);
    const one = await t.request('GET', '/api/v1/tasks/apply-one');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ command: 'echo one', run_environment: { name: 'apply-env' } });
    expect((await t.request('GET', '/api/v1/tasks/apply-two')).body).toMatchObject({ command: ['echo', 'two'], max_retries: 1 });
    expect((await t.request('GET', '/api/v1/run_environments/apply-env')).body.environment).toEqual({ STAGE: 'test' });

    const again = await t.request('POST', '/api/v1/apply', { document: doc() });
    expect(actions(again)).toEqual(['run_environment:apply-env:unchanged', 'task:apply-one:unchanged', 'task:apply-two:unchanged']);
    expect(again.body.changes.every((c: any) => c.fields.length === 0)).toBe(true);

    const changedDoc = doc('echo changed', { timeout_seconds: 60 });
    const dryUpdate = await t.request('POST', '/api/v1/apply', { document: changedDoc, dry_run: true });
    expect(actions(dryUpdate)).toEqual(['run_environment:apply-env:unchanged', 'task:apply-one:update', 'task:apply-two:unchanged']);
    expect((await t.request('GET', '/api/v1/tasks/apply-one')).body.command).toBe('echo one');

    const updated = await t.request('POST', '/api/v1/apply', { document: changedDoc });
    expect(actions(updated)).toEqual(['run_environment:apply-env:unchanged', 'task:apply-one:update', 'task:apply-two:unchanged']);
    expect(updated.body.changes[1].fields).toEqual([
      { field: 'command', before: 'echo one', after: 'echo changed' },
      { field: 'timeout_seconds', before: null, after: 60 },
    ]);
    const after = await t.request('GET', '/api/v1/tasks/apply-one');
    expect(after.body).toMatchObject({ uuid: one.body.uuid, command: 'echo changed', timeout_seconds: 60 });
  });

  const good = (n: string) => ({ name: `inv-good-${n}`, run_environment: `inv-env-${n}`, command: 'true' });
  const cases: [string, (n: string) => Record<string, unknown>, string][] = [
    ['an unknown field', (n) => ({ ...good(n), name: `inv-bad-${n}`, colour: 'red' }), 'tasks[1].colour'],
    ['a wrong type', (n) => ({ ...good(n), name: `inv-bad-${n}`, timeout_seconds: '10' }), 'tasks[1].timeout_seconds'],
    ['a missing command', (n) => ({ name: `inv-bad-${n}`, run_environment: `inv-env-${n}` }), 'tasks[1].command'],
    ['cpu: "lots"', (n) => ({ ...good(n), name: `inv-bad-${n}`, cpu: 'lots' }), 'tasks[1].cpu'],
    ['a missing Run Environment', (n) => ({ ...good(n), name: `inv-bad-${n}`, run_environment: 'nowhere' }), 'tasks[1].run_environment'],
  ];
  it.each(cases.map(([what, bad, p], i) => [what, bad, p, String(i)] as const))(
    'refuses a document with %s and writes nothing of it',
    async (_what, bad, badPath, n) => {
      const r = await t.request('POST', '/api/v1/apply', {
        document: { run_environments: [{ name: `inv-env-${n}`, kind: 'local' }], tasks: [good(n), bad(n)] },
      });
      const error = expectError(r, 'CONFIG_INVALID');
      expect(issuePaths(r)).toContain(badPath);
      expect(error.message).toContain(badPath);
      expect((await t.request('GET', `/api/v1/tasks/inv-good-${n}`)).status).toBe(404);
      expect((await t.request('GET', `/api/v1/tasks/inv-bad-${n}`)).status).toBe(404);
      expect((await t.request('GET', `/api/v1/run_environments/inv-env-${n}`)).status).toBe(404);
    },
  );

  it('reports every bad field of a document at once', async () => {
    const r = await t.request('POST', '/api/v1/apply', {
      document: {
        run_environments: [{ name: 'many-env', kind: 'local' }],
        tasks: [
          { name: 'many-good', run_environment: 'many-env', command: 'true' },
          { name: 'many-1', run_environment: 'many-env', command: 'true', colour: 'red' },
          { name: 'many-2', run_environment: 'many-env', command: 'true', timeout_seconds: '10' },
          { name: 'many-3', run_environment: 'many-env' },
          { name: 'many-4', run_environment: 'many-env', command: 'true', cpu: 'lots' },
        ],
      },
    });
    expectError(r, 'CONFIG_INVALID');
    expect(issuePaths(r)).toEqual(expect.arrayContaining(['tasks[1].colour', 'tasks[2].timeout_seconds', 'tasks[3].command', 'tasks[4].cpu']));
    expect((await t.request('GET', '/api/v1/tasks/many-good')).status).toBe(404);
    expect((await t.request('GET', '/api/v1/run_environments/many-env')).status).toBe(404);
  });
});

describe('Tasks and Run Environments', () => {
  it('upserts a Task by name, keeping its uuid and resetting omitted fields', async () => {
    const first = await t.request('POST', '/api/v1/tasks/', { name: 'upsert-me', run_environment: 'local', command: 'echo 1', description: 'first', max_retries: 2 });
    expect(first.status).toBe(201);
    const second = await t.request('POST', '/api/v1/tasks/', { name: 'upsert-me', run_environment: 'local', command: 'echo 2' });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ uuid: first.body.uuid, command: 'echo 2', description: null, max_retries: 0 });
    expect((await t.request('GET', `/api/v1/tasks/${first.body.uuid}`)).body.command).toBe('echo 2');
    expect((await t.request('GET', '/api/v1/tasks/?search=upsert-me')).body.count).toBe(1);
  });

  it('validates a PATCH as the merged whole and leaves the Task alone when it is refused', async () => {
    const created = await t.request('POST', '/api/v1/tasks/', { name: 'patch-me', run_environment: 'local', command: 'echo hi', retry_delay_seconds: 10 });
    const patched = await t.request('PATCH', '/api/v1/tasks/patch-me', { timeout_seconds: 60 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ uuid: created.body.uuid, command: 'echo hi', timeout_seconds: 60, retry_delay_seconds: 10 });

    // Valid alone, invalid with the stored retry_delay_seconds of 10.
    const crossField = await t.request('PATCH', '/api/v1/tasks/patch-me', { max_retry_delay_seconds: 5 });
    expect(issuePaths(crossField)).toContain('max_retry_delay_seconds');
    expectError(crossField, 'VALIDATION_FAILED');
    expect(issuePaths(await t.request('PATCH', '/api/v1/tasks/patch-me', { timeout_seconds: -1 }))).toContain('timeout_seconds');
    expect(issuePaths(await t.request('PATCH', '/api/v1/tasks/patch-me', { colour: 'red' }))).toContain('colour');
    expectError(await t.request('PATCH', '/api/v1/tasks/patch-me', { name: 'renamed' }), 'VALIDATION_FAILED');
    expectError(await t.request('PATCH', '/api/v1/tasks/patch-me', { run_environment: 'nowhere' }), 'RUN_ENVIRONMENT_NOT_FOUND');

    // A passive Task may omit its command; making it active needs one.
    expect((await t.request('POST', '/api/v1/tasks/', { name: 'passive-patch', run_environment: 'local', passive: true })).status).toBe(201);
    expect(issuePaths(await t.request('PATCH', '/api/v1/tasks/passive-patch', { passive: false }))).toContain('command');
    expect((await t.request('GET', '/api/v1/tasks/passive-patch')).body.passive).toBe(true);

    const unchanged = await t.request('GET', '/api/v1/tasks/patch-me');
    expect(unchanged.body).toMatchObject({ name: 'patch-me', timeout_seconds: 60, max_retry_delay_seconds: null, run_environment: { name: 'local' } });
    expectError(await t.request('PATCH', '/api/v1/tasks/no-such-task', { timeout_seconds: 1 }), 'TASK_NOT_FOUND');
  });

  it('refuses to delete a Task with a running execution, or a Run Environment in use', async () => {
    expect((await t.request('POST', '/api/v1/run_environments/', { name: 'in-use', kind: 'local' })).status).toBe(201);
    expect((await t.request('POST', '/api/v1/tasks/', { name: 'busy', run_environment: 'in-use', command: 'sleep 30', termination_grace_period_seconds: 2 })).status).toBe(201);
    const started = await t.request('POST', '/api/v1/task_executions/', { task: 'busy' });
    expect(started.status).toBe(201);
    // Refused while QUEUED and while RUNNING.
    expectError(await t.request('DELETE', '/api/v1/tasks/busy'), 'TASK_HAS_ACTIVE_EXECUTIONS');
    await waitForStatus(t, started.body.uuid, ['RUNNING']);
    expectError(await t.request('DELETE', '/api/v1/tasks/busy'), 'TASK_HAS_ACTIVE_EXECUTIONS');
    expectError(await t.request('DELETE', '/api/v1/run_environments/in-use'), 'RUN_ENVIRONMENT_IN_USE');
    expect((await t.request('GET', '/api/v1/tasks/busy')).status).toBe(200);

    expect((await stopAndWait(t, started.body.uuid)).status).toBe('STOPPED');
    expect((await t.request('DELETE', '/api/v1/tasks/busy')).status).toBe(204);
    expectError(await t.request('GET', '/api/v1/tasks/busy'), 'TASK_NOT_FOUND');

    // A reporter key bound to it keeps it in use too.
    expect((await t.request('POST', '/api/v1/api_keys/', { name: 'in-use-reporter', scope: 'reporter', run_environment: 'in-use' })).status).toBe(201);
    expectError(await t.request('DELETE', '/api/v1/run_environments/in-use'), 'RUN_ENVIRONMENT_IN_USE');
    expect((await t.request('GET', '/api/v1/run_environments/in-use')).status).toBe(200);
    expect((await t.request('POST', '/api/v1/run_environments/', { name: 'unused', kind: 'local' })).status).toBe(201);
    expect((await t.request('DELETE', '/api/v1/run_environments/unused/')).status).toBe(204);
    expectError(await t.request('GET', '/api/v1/run_environments/unused'), 'RUN_ENVIRONMENT_NOT_FOUND');
  });

  // Revoked keys are history: they must not keep their Run Environment from being deleted.
  it('deletes a Run Environment whose only reporter key was revoked', async () => {
    expect((await t.request('POST', '/api/v1/run_environments/', { name: 'revoked-only', kind: 'local' })).status).toBe(201);
    expect((await t.request('POST', '/api/v1/api_keys/', { name: 'revoked-only-key', scope: 'reporter', run_environment: 'revoked-only' })).status).toBe(201);
    expect((await t.request('DELETE', '/api/v1/api_keys/revoked-only-key')).status).toBe(200);
    expect((await t.request('DELETE', '/api/v1/run_environments/revoked-only')).status).toBe(204);
  });

  it('pages lists with count, next and previous, keeping the filters', async () => {
    expect((await t.request('POST', '/api/v1/run_environments/', { name: 'paging', kind: 'local' })).status).toBe(201);
    for (const i of [3, 0, 4, 1, 2]) {
      expect((await t.request('POST', '/api/v1/tasks/', { name: `page-${i}`, run_environment: 'paging', command: 'true' })).status).toBe(201);
    }
    const names = (r: Reply) => r.body.results.map((x: any) => x.name);
    const p1 = await t.request('GET', '/api/v1/tasks/?run_environment=paging&limit=2');
    expect(p1.status).toBe(200);
    expect(p1.body.count).toBe(5);
    expect(names(p1)).toEqual(['page-0', 'page-1']);
    expect(p1.body.previous).toBeNull();
    expect(p1.body.next).toMatch(/^\/api\/v1\/tasks\/\?/);
    const next1 = new URL(p1.body.next, 'http://x').searchParams;
    expect(Object.fromEntries(next1)).toEqual({ run_environment: 'paging', limit: '2', offset: '2' });

    const p2 = await t.request('GET', p1.body.next);
    expect(p2.body.count).toBe(5);
    expect(names(p2)).toEqual(['page-2', 'page-3']);
    expect(new URL(p2.body.previous, 'http://x').searchParams.get('offset')).toBe('0');
    const p3 = await t.request('GET', p2.body.next);
    expect(names(p3)).toEqual(['page-4']);
    expect(p3.body.next).toBeNull();
    expect(names(await t.request('GET', p3.body.previous))).toEqual(['page-2', 'page-3']);

    expectError(await t.request('GET', '/api/v1/tasks/?limit=0'), 'VALIDATION_FAILED');
    expectError(await t.request('GET', '/api/v1/tasks/?limit=abc'), 'VALIDATION_FAILED');
    expectError(await t.request('GET', '/api/v1/tasks/?bogus=1'), 'VALIDATION_FAILED');
    const beyond = await t.request('GET', '/api/v1/tasks/?run_environment=paging&offset=10');
    expect(beyond.body).toMatchObject({ count: 5, results: [], next: null });
  });

  it('filters Tasks by search, case-insensitively and literally', async () => {
    for (const name of ['etl_daily', 'ETL-hourly', 'etlxdaily', 'report']) {
      expect((await t.request('POST', '/api/v1/tasks/', { name, run_environment: 'local', command: 'true' })).status).toBe(201);
    }
    const names = async (q: string) => (await t.request('GET', `/api/v1/tasks/?search=${encodeURIComponent(q)}`)).body.results.map((x: any) => x.name).sort();
    expect(await names('etl')).toEqual(['ETL-hourly', 'etl_daily', 'etlxdaily']);
    expect(await names('ETL_')).toEqual(['etl_daily']);
    expect(await names('%')).toEqual([]);
    expect(await names('repo')).toEqual(['report']);
  });

  it('filters executions by status, and refuses an unknown status', async () => {
    expect((await t.request('POST', '/api/v1/run_environments/', { name: 'status-env', kind: 'local' })).status).toBe(201);
    const tasks = { ok: 'true', bad: 'exit 3', slow: 'sleep 30' } as const;
    const uuids: Record<string, string> = {};
    for (const [name, command] of Object.entries(tasks)) {
      await t.request('POST', '/api/v1/tasks/', { name: `status-${name}`, run_environment: 'status-env', command });
      uuids[name] = (await t.request('POST', '/api/v1/task_executions/', { task: `status-${name}` })).body.uuid;
    }
    await waitForStatus(t, uuids.ok!, ['SUCCEEDED']);
    await waitForStatus(t, uuids.bad!, ['FAILED']);
    await waitForStatus(t, uuids.slow!, ['RUNNING']);

    const listed = async (q: string) => {
      const r = await t.request('GET', `/api/v1/task_executions/?run_environment=status-env${q}`);
      expect(r.status).toBe(200);
      return { count: r.body.count, uuids: r.body.results.map((e: any) => e.uuid).sort() };
    };
    expect(await listed('&status=RUNNING,FAILED')).toEqual({ count: 2, uuids: [uuids.slow, uuids.bad].sort() });
    expect(await listed('&status=succeeded')).toEqual({ count: 1, uuids: [uuids.ok] });
    expect(await listed('&status=IN_PROGRESS')).toEqual({ count: 1, uuids: [uuids.slow] });
    expect((await listed('')).count).toBe(3);
    expect((await listed('&task=status-bad')).uuids).toEqual([uuids.bad]);
    const newestFirst = await t.request('GET', '/api/v1/task_executions/?run_environment=status-env&limit=1');
    expect(newestFirst.body.results[0].uuid).toBe(uuids.slow);
    expect(newestFirst.body.count).toBe(3);
    expect(newestFirst.body.next).not.toBeNull();

    const bogus = await t.request('GET', '/api/v1/task_executions/?status=RUNNING,BOGUS');
    expectError(bogus, 'VALIDATION_FAILED');
    expect(issuePaths(bogus)).toContain('query.status');
    expect(bogus.body.error.message).toContain('BOGUS');
    expectError(await t.request('GET', '/api/v1/task_executions/?task=no-such-task'), 'TASK_NOT_FOUND');

    await stopAndWait(t, uuids.slow!);
  });
});
