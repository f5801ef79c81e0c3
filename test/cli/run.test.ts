import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';
import { runCli, spawnCli } from './cli.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
let files: ReturnType<typeof tempDir>;
let env: Record<string, string>;

const berth = (args: string[]) => runCli(args, { env });
const follow = (args: string[]) => spawnCli(args, { env });

/** A command that prints `first`, waits until the file exists, then prints `second`. */
const gated = (file: string) => `echo first; while [ ! -f '${file}' ]; do sleep 0.05; done; echo second`;

async function task(spec: Record<string, unknown>): Promise<void> {
  const r = await t.request('POST', '/api/v1/tasks', { run_environment: 'local', ...spec });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

async function execution(uuid: string) {
  return (await t.request('GET', `/api/v1/task_executions/${uuid}`)).body;
}

async function start(name: string): Promise<string> {
  const r = await t.request('POST', '/api/v1/task_executions', { task: name });
  expect(r.status).toBe(201);
  return r.body.uuid as string;
}

const waitForStatus = (uuid: string, status: string) =>
  waitFor(async () => ((await execution(uuid)).status === status ? true : null), `${uuid} to be ${status}`);

beforeAll(async () => {
  t = await startTestServer();
  files = tempDir('berth-cli-run-');
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
  expect((await t.request('POST', '/api/v1/run_environments', { name: 'local', kind: 'local' })).status).toBe(201);
  await task({ name: 'hello', command: 'echo hello; echo oops >&2' });
  await task({ name: 'fails', command: 'echo before; exit 3' });
  await task({ name: 'slow', command: 'sleep 20', timeout_seconds: 1, termination_grace_period_seconds: 1 });
  await task({ name: 'greet', command: 'echo "GREETING=$GREETING"', environment: { GREETING: 'default' } });
  await task({ name: 'flaky', command: 'echo trying; exit 2', max_retries: 1, retry_delay_seconds: 0 });
  await task({ name: 'long', command: 'sleep 30', termination_grace_period_seconds: 2 });
});
afterAll(async () => {
  await t?.stop();
  files?.cleanup();
});

describe('berth run', () => {
  it('without --wait prints the execution uuid and how to follow it', async () => {
    const r = await berth(['run', 'hello']);
    expect(r.code).toBe(0);
    const uuid = r.stdout.trim();
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stderr).toContain(`berth logs ${uuid} -f`);
    await waitForStatus(uuid, 'SUCCEEDED');
  });

  it('--wait prints the output and exits 0 on success', async () => {
    const r = await berth(['run', 'hello', '--wait']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toContain('oops\n');
    expect(r.stderr).toMatch(/^hello SUCCEEDED in [<\d.]+.* s$/m);
  });

  it("--wait exits with the task's exit code, 124 on a timeout", async () => {
    const [failed, timedOut, json] = await Promise.all([
      berth(['run', 'fails', '--wait']),
      berth(['run', 'slow', '--wait']),
      berth(['run', 'fails', '--wait', '--json']),
    ]);
    expect(failed.code).toBe(3);
    expect(failed.stdout).toBe('before\n');
    expect(failed.stderr).toContain('fails FAILED: The command exited with code 3.');
    expect(timedOut.code).toBe(124);
    expect(timedOut.stderr).toContain('slow TERMINATED_AFTER_TIME_OUT: The command ran longer than its timeout of 1 s');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'FAILED', exit_code: 3, task: { name: 'fails' } });
  });

  it('--env overrides reach the process', async () => {
    const r = await berth(['run', 'greet', '--wait', '--env', 'GREETING=from the CLI', '-e', 'OTHER=1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('GREETING=from the CLI\n');
  });

  it('--follow streams the output while the task runs', async () => {
    const gate = path.join(files.dir, 'follow-gate');
    await task({ name: 'gated-run', command: gated(gate) });
    const cli = follow(['run', 'gated-run', '--follow']);
    await cli.waitForOutput(/^first$/m);
    // The task is still running (it waits for the gate) and its first line is already out.
    expect(cli.stdout()).not.toContain('second');
    fs.writeFileSync(gate, '');
    const r = await cli.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('first\nsecond\n');
    expect(r.stderr).toContain('gated-run SUCCEEDED');
  });

  it('--follow moves on to the next attempt of a retried task', async () => {
    const r = await berth(['run', 'flaky', '--follow']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('trying\ntrying\n');
    expect(r.stderr).toContain('--- attempt 2 of 2 (attempt 1 FAILED: The command exited with code 2.) ---');
    expect(r.stderr).toContain('flaky FAILED: The command exited with code 2. (after 2 attempts)');
  });
});

describe('executions and logs', () => {
  let uuid: string;
  beforeAll(async () => {
    uuid = await start('hello');
    await waitForStatus(uuid, 'SUCCEEDED');
  });

  it('executions ls shows a table; --task and --status filter; --json is the API page', async () => {
    const [table, json, failed] = await Promise.all([
      berth(['executions', 'ls']),
      berth(['executions', 'ls', '--task', 'hello', '--json']),
      berth(['executions', 'ls', '--status', 'failed,TERMINATED_AFTER_TIME_OUT', '--json']),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^UUID\s+TASK\s+STATUS\s+REASON\s+CREATED\s+DURATION\s+EXIT\s+ATTEMPT$/m);
    expect(table.stdout).toMatch(new RegExp(`^${uuid}\\s+hello\\s+SUCCEEDED\\s+EXPLICIT_START\\s+.*\\s0\\s+1$`, 'm'));
    const page = JSON.parse(json.stdout);
    expect(page.results.every((e: { task: { name: string } }) => e.task.name === 'hello')).toBe(true);
    expect(page.results.map((e: { uuid: string }) => e.uuid)).toContain(uuid);
    const statuses = new Set(JSON.parse(failed.stdout).results.map((e: { status: string }) => e.status));
    expect([...statuses].sort()).toEqual(['FAILED', 'TERMINATED_AFTER_TIME_OUT']);
  });

  it('executions show prints status, times, attempts and executor details', async () => {
    const [show, json] = await Promise.all([berth(['executions', 'show', uuid]), berth(['executions', 'show', uuid, '--json'])]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Status:\s+SUCCEEDED$/m);
    expect(show.stdout).toMatch(/^Run reason:\s+EXPLICIT_START$/m);
    expect(show.stdout).toMatch(/^Exit code:\s+0$/m);
    expect(show.stdout).toMatch(/^Executor:\s+local$/m);
    expect(show.stdout).toMatch(/^#\s+STATUS\s+STARTED\s+DURATION\s+EXIT\s+FAILURE$/m);
    expect(JSON.parse(json.stdout)).toEqual(await execution(uuid));
  });

  it('logs prints stdout lines to stdout and stderr lines to stderr', async () => {
    const r = await berth(['logs', uuid]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toBe('oops\n');
  });

  it('logs -f follows a running execution until it ends', async () => {
    const gate = path.join(files.dir, 'logs-gate');
    await task({ name: 'gated-logs', command: gated(gate) });
    const running = await start('gated-logs');
    await waitForStatus(running, 'RUNNING');
    const cli = follow(['logs', running, '-f']);
    await cli.waitForOutput(/^first$/m);
    expect((await execution(running)).status).toBe('RUNNING');
    fs.writeFileSync(gate, '');
    const r = await cli.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('first\nsecond\n');
    expect(r.stderr).toContain('gated-logs SUCCEEDED');
  });

  it('logs of an unknown execution is an API error', async () => {
    const r = await berth(['logs', '00000000-0000-4000-8000-000000000000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[TASK_EXECUTION_NOT_FOUND]');
  });
});

describe('berth stop', () => {
  it('stops a running execution; run --wait then exits 143', async () => {
    const waiting = follow(['run', 'long', '--wait']);
    const uuid = await waitFor(async () => {
      const page = (await t.request('GET', '/api/v1/task_executions?task=long&status=RUNNING')).body;
      return page.results[0]?.uuid as string | undefined;
    }, 'the long task to run');
    const stop = await berth(['stop', uuid, '--wait']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toContain(`long ${uuid}: STOPPED`);
    const r = await waiting.exited;
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('long STOPPED');
  });

  it('stop without --wait prints STOPPING; Ctrl-C while following leaves the task running', async () => {
    const followed = follow(['run', 'long', '--follow']);
    // The announcement comes once the CLI handles Ctrl-C.
    const [, uuid] = (await followed.waitForOutput(/execution ([0-9a-f-]{36})\. Waiting/, 'stderr')) as [string, string];
    await waitForStatus(uuid, 'RUNNING');
    followed.child.kill('SIGINT');
    const interrupted = await followed.exited;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain(`keeps running; stop it with: berth stop ${uuid}`);
    expect((await execution(uuid)).status).toBe('RUNNING');

    const stop = await berth(['stop', uuid]);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(new RegExp(`^long ${uuid}: (STOPPING|STOPPED)$`, 'm'));
    await waitForStatus(uuid, 'STOPPED');

    const again = await berth(['stop', uuid]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[INVALID_TRANSITION]');
  });
});
