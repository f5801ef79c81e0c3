import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../domain/errors.js';
import type { ExecutorHandle, Observation, StartRequest } from '../executor.js';
import { LocalExecutor, type LocalExecutorOptions } from './local-executor.js';

// Real child processes throughout: every test starts real runners in a temporary data directory.

const ENV_SECRET = 'env-secret-Xy7q';
const FILE_SECRET = 'file-secret-Qz9';
const HOST_ENVIRONMENT = {
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  HOME: process.env.HOME ?? '/tmp',
  LANG: 'C.UTF-8',
  BERTH_ADMIN_API_KEY: 'berth-admin-key-must-not-leak',
  DATABASE_URL: 'postgres://berth:leak@localhost/berth',
  DB_PASSWORD: ENV_SECRET,
};

type Exited = Extract<Observation, { state: 'exited' }>;

interface Sandbox {
  root: string;
  dataDir: string;
  workDir: string;
  /** Where commands write what the tests check, outside the attempt directories. */
  outDir: string;
}

const sandboxes: Sandbox[] = [];
const executors: LocalExecutor[] = [];
let sequence = 0;

afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.close();
  for (const box of sandboxes.splice(0)) {
    await killLeftovers(box);
    fs.rmSync(box.root, { recursive: true, force: true });
  }
});

function sandbox(): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-local-'));
  const box = { root, dataDir: path.join(root, 'data'), workDir: path.join(root, 'work'), outDir: path.join(root, 'out') };
  fs.mkdirSync(box.workDir);
  fs.mkdirSync(box.outDir);
  sandboxes.push(box);
  return box;
}

function executorFor(box: Sandbox, options: Partial<LocalExecutorOptions> = {}): LocalExecutor {
  const executor = new LocalExecutor({
    dataDir: box.dataDir,
    defaultWorkingDirectory: box.workDir,
    hostEnvironment: HOST_ENVIRONMENT,
    ...options,
  });
  executors.push(executor);
  return executor;
}

const LOCAL_ENV = { uuid: 'env-uuid-1', name: 'local', kind: 'local', settings: {} };

function request(box: Sandbox, task: Partial<StartRequest['task']>, executionUuid = `exec-${process.pid}-${++sequence}`): StartRequest {
  return {
    executionUuid,
    attempt: 1,
    launchToken: `${executionUuid}-1`,
    task: {
      uuid: 'task-uuid-1',
      name: 'test-task',
      command: 'true',
      workingDirectory: null,
      environment: { OUT: box.outDir },
      secrets: {},
      timeoutSeconds: null,
      terminationGracePeriodSeconds: 5,
      spec: {},
      cpu: null,
      memory: null,
      ...task,
    },
    runEnvironment: { uuid: 're-1', name: 'local', kind: 'local', settings: {} },
  };
}

async function startOk(executor: LocalExecutor, req: StartRequest): Promise<ExecutorHandle> {
  const result = await executor.start(req);
  if (!result.ok) throw new Error(`start failed: ${JSON.stringify(result.failure)}`);
  return result.handle;
}

/** Polls `fn` until it returns something truthy; fails after `timeoutMs`. */
async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function observeOne(executor: LocalExecutor, handle: ExecutorHandle): Promise<Observation> {
  const [observation] = await executor.observe([handle]);
  if (!observation) throw new Error('observe returned nothing');
  return observation;
}

async function waitForState<S extends Observation['state']>(
  executor: LocalExecutor,
  handle: ExecutorHandle,
  state: S,
  timeoutMs = 20_000,
): Promise<Extract<Observation, { state: S }>> {
  return waitFor(
    async () => {
      const observation = await observeOne(executor, handle);
      return observation.state === state ? (observation as Extract<Observation, { state: S }>) : null;
    },
    timeoutMs,
    `state ${state}`,
  );
}

const waitForExit = (executor: LocalExecutor, handle: ExecutorHandle, timeoutMs = 20_000): Promise<Exited> =>
  waitForState(executor, handle, 'exited', timeoutMs);

async function allLogs(executor: LocalExecutor, handle: ExecutorHandle): Promise<{ stdout: string[]; stderr: string[] }> {
  const page = await executor.readLogs(handle, { limit: 1 << 20 });
  expect(page.complete).toBe(true);
  return {
    stdout: page.entries.filter((e) => e.stream === 'stdout').map((e) => e.text),
    stderr: page.entries.filter((e) => e.stream === 'stderr').map((e) => e.text),
  };
}

function attemptDir(handle: ExecutorHandle): string {
  return String(handle.attempt_dir);
}

function childPid(handle: ExecutorHandle): number {
  return (JSON.parse(fs.readFileSync(path.join(attemptDir(handle), 'runner.json'), 'utf8')) as { child_pid: number }).child_pid;
}

/** Alive and not a zombie (an orphan's zombie may linger when PID 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

/** Kills whatever a failed test left running, so no test leaks processes into the next. */
async function killLeftovers(box: Sandbox): Promise<void> {
  const executions = path.join(box.dataDir, 'executions');
  if (!fs.existsSync(executions)) return;
  // Every runner ever spawned here is in the spawn journal.
  const journal = path.join(executions, 'spawn-journal.jsonl');
  const entries = fs.existsSync(journal)
    ? fs
        .readFileSync(journal, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { dir: string; pid: number })
    : [];
  for (const entry of entries) {
    const dir = entry.dir;
    const readJson = (name: string): Record<string, number> | null => {
      try {
        return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, number>;
      } catch {
        return null;
      }
    };
    const runnerPid = entry.pid;
    // Let a runner that is just starting write runner.json, so its command can be found too.
    await waitFor(() => fs.existsSync(path.join(dir, 'runner.json')) || fs.existsSync(path.join(dir, 'result.json')) || !isAlive(runnerPid ?? 0), 3000).catch(() => undefined);
    if (fs.existsSync(path.join(dir, 'result.json'))) continue;
    const child = readJson('runner.json')?.child_pid;
    if (child) {
      try {
        process.kill(-child, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (runnerPid && isAlive(runnerPid) && fs.readFileSync(`/proc/${runnerPid}/cmdline`, 'utf8').includes(box.root)) {
      process.kill(runnerPid, 'SIGKILL');
    }
  }
}

describe('LocalExecutor', () => {
  it('runs a command to success, keeps its output and tells listeners it ended', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    let activity = 0;
    executor.onActivity(() => activity++);
    const handle = await startOk(executor, request(box, { command: 'echo hello; echo oops >&2' }));
    expect(handle).toMatchObject({ executor: 'local', runner_pid: expect.any(Number) });
    expect(JSON.parse(JSON.stringify(handle))).toEqual(handle);

    const exited = await waitForExit(executor, handle);
    expect(exited).toMatchObject({ exitCode: 0, signal: null, timedOut: false, failure: null });
    expect(exited.startedAt).toEqual(expect.any(Number));
    expect(exited.finishedAt).toBeGreaterThanOrEqual(exited.startedAt ?? 0);
    expect(await allLogs(executor, handle)).toEqual({ stdout: ['hello'], stderr: ['oops'] });
    await waitFor(() => activity > 0, 10_000, 'an activity notification');
    expect(executor.describe(handle)).toMatchObject({ pid: expect.any(Number), log_directory: attemptDir(handle) });
  });

  it('reports a non-zero exit code', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: 'exit 3' }));
    expect(await waitForExit(executor, handle)).toMatchObject({ exitCode: 3, signal: null, failure: null });
  });

  it('reports the signal that ended the command', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['sh', '-c', 'kill -USR1 $$'] }));
    expect(await waitForExit(executor, handle)).toMatchObject({ exitCode: null, signal: 'SIGUSR1', timedOut: false });
  });

  it('fails to start a list command whose program does not exist', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['berth-no-such-program-42', '--flag'] }));
    const exited = await waitForExit(executor, handle);
    expect(exited).toMatchObject({ exitCode: null, signal: null, startedAt: null });
    expect(exited.failure).toMatchObject({ type: 'START_FAILED', code: 'COMMAND_NOT_FOUND', fault: 'config' });
    expect(exited.failure?.message).toContain('"berth-no-such-program-42"');
    const logs = await allLogs(executor, handle);
    expect(logs.stderr.join('\n')).toContain('berth: could not start "berth-no-such-program-42"');
  });

  it('lets the shell report a missing program with exit code 127', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: 'berth-no-such-program-42 --flag' }));
    expect(await waitForExit(executor, handle)).toMatchObject({ exitCode: 127, failure: null });
  });

  it('fails to start a program that is not executable', async () => {
    const box = sandbox();
    const script = path.join(box.workDir, 'script.sh');
    fs.writeFileSync(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: [script] }));
    const exited = await waitForExit(executor, handle);
    expect(exited.failure).toMatchObject({ type: 'START_FAILED', code: 'COMMAND_NOT_EXECUTABLE' });
    expect(exited.failure?.message).toContain(script);
  });

  it('kills a command that ignores SIGTERM after its timeout and grace period', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(
      executor,
      request(box, { command: 'trap "" TERM; sleep 30', timeoutSeconds: 1, terminationGracePeriodSeconds: 1 }),
    );
    const exited = await waitForExit(executor, handle);
    expect(exited).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null });
    const ranFor = exited.finishedAt - (exited.startedAt ?? 0);
    expect(ranFor).toBeGreaterThanOrEqual(1900);
    expect(ranFor).toBeLessThan(15_000);
    expect((await allLogs(executor, handle)).stderr.join('\n')).toContain('timeout of 1 s');
  });

  it('ends a cooperative command with SIGTERM at its timeout', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['sleep', '30'], timeoutSeconds: 1, terminationGracePeriodSeconds: 20 }));
    const exited = await waitForExit(executor, handle);
    expect(exited).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect(exited.finishedAt - (exited.startedAt ?? 0)).toBeLessThan(15_000);
  });

  it('stops a running command with SIGTERM well within the grace period', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['sleep', '30'], terminationGracePeriodSeconds: 30 }));
    await waitForState(executor, handle, 'running');
    const askedAt = Date.now();
    await executor.stop(handle, { gracePeriodSeconds: 30, reason: 'test' });
    const exited = await waitForExit(executor, handle);
    expect(exited).toMatchObject({ signal: 'SIGTERM', timedOut: false, exitCode: null });
    expect(Date.now() - askedAt).toBeLessThan(15_000);
  });

  it('kills a command that ignores the stop request after the grace period', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(
      executor,
      request(box, { command: 'trap "" TERM; echo ready; sleep 30', terminationGracePeriodSeconds: 1 }),
    );
    await waitFor(async () => (await executor.readLogs(handle, { limit: 1000 })).entries.length > 0, 20_000, 'ready');
    const askedAt = Date.now();
    await executor.stop(handle, { gracePeriodSeconds: 1, reason: 'test' });
    const exited = await waitForExit(executor, handle);
    expect(exited).toMatchObject({ signal: 'SIGKILL', timedOut: false });
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(900);
  });

  it('honours a stop that arrives before the runner is ready', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['sleep', '30'] }));
    await executor.stop(handle, { gracePeriodSeconds: 5, reason: 'test' });
    expect(await waitForExit(executor, handle)).toMatchObject({ signal: 'SIGTERM', exitCode: null });
  });

  it('kills background processes the command leaves behind when it exits', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: 'sleep 300 & echo $! > "$OUT/grandchild.pid"; exit 0' }));
    expect(await waitForExit(executor, handle)).toMatchObject({ exitCode: 0 });
    const grandchild = Number(fs.readFileSync(path.join(box.outDir, 'grandchild.pid'), 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    await waitFor(() => !isAlive(grandchild), 10_000, 'the grandchild to die');
  });

  it('stops grandchildren in the process group too', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: 'sleep 300 & echo $! > "$OUT/grandchild.pid"; wait' }));
    const pidFile = path.join(box.outDir, 'grandchild.pid');
    const grandchild = await waitFor(
      () => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) || null : null),
      20_000,
      'the pid file',
    );
    expect(isAlive(grandchild)).toBe(true);
    await executor.stop(handle, { gracePeriodSeconds: 5, reason: 'test' });
    await waitForExit(executor, handle);
    await waitFor(() => !isAlive(grandchild), 10_000, 'the grandchild to die');
  });

  it('hands ENV: and FILE: secrets to the command without writing them to disk', async () => {
    const box = sandbox();
    const secretFile = path.join(box.root, 'token.txt');
    fs.writeFileSync(secretFile, `${FILE_SECRET}\n`);
    const executor = executorFor(box);
    const handle = await startOk(
      executor,
      request(box, {
        command: 'printf %s "$DB_PASS" > "$OUT/db"; printf %s "$API_TOKEN" > "$OUT/token"',
        secrets: { DB_PASS: 'ENV:DB_PASSWORD', API_TOKEN: `FILE:${secretFile}` },
      }),
    );
    expect(await waitForExit(executor, handle)).toMatchObject({ exitCode: 0 });
    expect(fs.readFileSync(path.join(box.outDir, 'db'), 'utf8')).toBe(ENV_SECRET);
    expect(fs.readFileSync(path.join(box.outDir, 'token'), 'utf8')).toBe(FILE_SECRET);
    const files = filesUnder(attemptDir(handle));
    expect(files.map((f) => path.basename(f)).sort()).toEqual(
      ['result.json', 'runner.json', 'stderr.log', 'stdout.log'].sort(),
    );
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).not.toContain(ENV_SECRET);
      expect(text, file).not.toContain(FILE_SECRET);
    }
  });

  it('refuses to start when a secret cannot be resolved, naming it but no value', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const req = request(box, {
      secrets: { DB_PASS: 'ENV:DB_PASSWORD', API_KEY: 'ENV:BERTH_TEST_NOT_SET', CERT: 'FILE:/nonexistent/berth/cert.pem' },
    });
    const result = await executor.start(req);
    if (result.ok) throw new Error('expected a failure');
    expect(result.failure).toMatchObject({ type: 'START_FAILED', code: 'SECRET_UNRESOLVED', fault: 'config' });
    expect(result.failure.message).toContain('API_KEY');
    expect(result.failure.message).toContain('BERTH_TEST_NOT_SET');
    expect(result.failure.message).toContain('/nonexistent/berth/cert.pem');
    expect(result.failure.message).not.toContain(ENV_SECRET);
    expect(await executor.recover({ launchToken: req.launchToken, executionUuid: req.executionUuid, attempt: req.attempt, runEnvironment: LOCAL_ENV })).toBeNull();
  });

  it('explains that AWS secrets need ENV: or FILE: locally', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const result = await executor.start(
      request(box, { secrets: { DB_PASS: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-pass' } }),
    );
    if (result.ok) throw new Error('expected a failure');
    expect(result.failure).toMatchObject({ type: 'START_FAILED', fault: 'config' });
    expect(result.failure.message).toMatch(/cannot read/);
    expect(result.failure.message).toContain('ENV:');
    expect(result.failure.message).toContain('FILE:');
  });

  it('gives the command an allow-listed environment, never the whole server environment', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const req = request(box, {
      command: 'env > "$OUT/env.txt"',
      environment: { OUT: box.outDir, GREETING: 'hello world', NODE_OPTIONS: '--no-warnings' },
    });
    const handle = await startOk(executor, req);
    expect(await waitForExit(executor, handle)).toMatchObject({ exitCode: 0 });
    const env = Object.fromEntries(
      fs
        .readFileSync(path.join(box.outDir, 'env.txt'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(env).not.toHaveProperty('BERTH_ADMIN_API_KEY');
    expect(env).not.toHaveProperty('DATABASE_URL');
    expect(env).not.toHaveProperty('DB_PASSWORD');
    expect(env).not.toHaveProperty('BERTH_RUNNER_CHILD_NODE_OPTIONS');
    expect(env).toMatchObject({
      PATH: HOST_ENVIRONMENT.PATH,
      HOME: HOST_ENVIRONMENT.HOME,
      GREETING: 'hello world',
      NODE_OPTIONS: '--no-warnings',
      BERTH_TASK_NAME: 'test-task',
      BERTH_TASK_UUID: 'task-uuid-1',
      BERTH_TASK_EXECUTION_UUID: req.executionUuid,
      PROC_WRAPPER_TASK_EXECUTION_UUID: req.executionUuid,
      BERTH_ATTEMPT: '1',
    });
  });

  it('starts one process however often the same launch token is started', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const req = request(box, { command: 'echo started >> "$OUT/count"; sleep 1' });
    const [first, second] = await Promise.all([startOk(executor, req), startOk(executor, req)]);
    const third = await startOk(executor, req);
    const fromAnotherServer = await startOk(executorFor(box), req);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(fromAnotherServer).toEqual(first);
    await waitForExit(executor, first);
    expect(await startOk(executor, req)).toEqual(first);
    expect(fs.readFileSync(path.join(box.outDir, 'count'), 'utf8')).toBe('started\n');
  });

  it('lets a restarted server observe what the previous one started, through to its exit code', async () => {
    const box = sandbox();
    const first = executorFor(box);
    const stored = JSON.stringify(
      await startOk(first, request(box, { command: 'while [ ! -e "$OUT/go" ]; do sleep 0.05; done; echo done; exit 7' })),
    );
    await waitForState(first, JSON.parse(stored) as ExecutorHandle, 'running');
    await first.close();

    const restarted = executorFor(box);
    const handle = JSON.parse(stored) as ExecutorHandle;
    expect(await observeOne(restarted, handle)).toMatchObject({ state: 'running', startedAt: expect.any(Number) });
    fs.writeFileSync(path.join(box.outDir, 'go'), '');
    expect(await waitForExit(restarted, handle)).toMatchObject({ exitCode: 7 });
    expect((await allLogs(restarted, handle)).stdout).toEqual(['done']);
  });

  it('keeps the command running when the server that started it is SIGKILLed', async () => {
    const box = sandbox();
    const script = path.join(box.root, 'server.mts');
    const executorModule = fileURLToPath(new URL('./local-executor.ts', import.meta.url));
    fs.writeFileSync(
      script,
      [
        `import { LocalExecutor } from ${JSON.stringify(executorModule)};`,
        'const { dataDir, workDir, request, PATH } = JSON.parse(process.argv[2] ?? "");',
        'const executor = new LocalExecutor({ dataDir, defaultWorkingDirectory: workDir, hostEnvironment: { PATH } });',
        'process.stdout.write(JSON.stringify(await executor.start(request)) + "\\n");',
        'setInterval(() => {}, 60_000);',
      ].join('\n'),
    );
    const req = request(box, { command: 'while [ ! -e "$OUT/go" ]; do sleep 0.05; done; exit 5' });
    const config = JSON.stringify({ dataDir: box.dataDir, workDir: box.workDir, request: req, PATH: HOST_ENVIRONMENT.PATH });
    const server = spawn(process.execPath, ['--import', 'tsx', script, config], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    server.stdout.on('data', (data: Buffer) => (output += data.toString()));
    try {
      await waitFor(() => output.includes('\n'), 30_000, 'the server to start the command');
    } finally {
      server.kill('SIGKILL');
    }
    if (server.exitCode === null && server.signalCode === null) await once(server, 'exit');
    const started = JSON.parse(output) as { ok: boolean; handle: ExecutorHandle };
    expect(started.ok).toBe(true);

    const restarted = executorFor(box);
    await waitForState(restarted, started.handle, 'running');
    fs.writeFileSync(path.join(box.outDir, 'go'), '');
    expect(await waitForExit(restarted, started.handle)).toMatchObject({ exitCode: 5 });
  });

  it('reports an attempt as lost when its runner is killed, and kills the orphaned command', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['sleep', '300'] }));
    await waitForState(executor, handle, 'running');
    const child = childPid(handle);
    process.kill(Number(handle.runner_pid), 'SIGKILL');
    const lost = await waitForState(executor, handle, 'lost');
    expect(lost.message).toContain(`pid ${String(handle.runner_pid)}`);
    expect(lost.message).toContain(attemptDir(handle));
    await waitFor(() => !isAlive(child), 10_000, 'the orphaned command to die');
  });

  it('pages through logs with a cursor, holding back partial lines until the end', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(
      executor,
      request(box, {
        command:
          "printf 'one\\ntwo\\npart'; while [ ! -e \"$OUT/go\" ]; do sleep 0.05; done; printf 'ial\\n'; printf 'e1\\ne2\\n' >&2; printf 'tail'",
      }),
    );
    const early = await waitFor(async () => {
      const page = await executor.readLogs(handle, { limit: 1000 });
      return page.entries.length >= 2 ? page : null;
    });
    expect(early.entries).toEqual([
      { stream: 'stdout', text: 'one' },
      { stream: 'stdout', text: 'two' },
    ]);
    expect(early.complete).toBe(false);
    const waiting = await executor.readLogs(handle, { cursor: early.nextCursor, limit: 1000 });
    expect(waiting).toMatchObject({ entries: [], complete: false });

    fs.writeFileSync(path.join(box.outDir, 'go'), '');
    await waitForExit(executor, handle);
    const rest = await executor.readLogs(handle, { cursor: waiting.nextCursor, limit: 1000 });
    expect(rest.entries).toEqual([
      { stream: 'stdout', text: 'partial' },
      { stream: 'stdout', text: 'tail' },
      { stream: 'stderr', text: 'e1' },
      { stream: 'stderr', text: 'e2' },
    ]);
    expect(rest.complete).toBe(true);

    // Small pages: each within the byte limit, together everything, the last one complete.
    const entries: { stream: string; text: string }[] = [];
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(50);
      const page = await executor.readLogs(handle, { cursor, limit: 16 });
      expect(page.entries.reduce((bytes, e) => bytes + Buffer.byteLength(e.text) + 1, 0)).toBeLessThanOrEqual(16);
      entries.push(...page.entries);
      cursor = page.nextCursor;
      if (page.complete) break;
    }
    expect(entries.filter((e) => e.stream === 'stdout').map((e) => e.text)).toEqual(['one', 'two', 'partial', 'tail']);
    expect(entries.filter((e) => e.stream === 'stderr').map((e) => e.text)).toEqual(['e1', 'e2']);

    const error = await executor.readLogs(handle, { cursor: 'not-a-cursor', limit: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BerthError);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('splits a line longer than the page limit rather than stalling', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: "printf 'abcdefghijklmnopqrstuvwxyz\\n'" }));
    await waitForExit(executor, handle);
    let text = '';
    let cursor: string | undefined;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(50);
      const page = await executor.readLogs(handle, { cursor, limit: 10 });
      text += page.entries.map((e) => e.text).join('');
      cursor = page.nextCursor;
      if (page.complete) break;
    }
    expect(text).toBe('abcdefghijklmnopqrstuvwxyz');
  });

  it('recovers the handle of a started attempt and nothing for one never started', async () => {
    const box = sandbox();
    const executor = executorFor(box, { recoverSettleMs: 300 });
    const req = request(box, { command: 'sleep 1' });
    const handle = await startOk(executor, req);
    expect(await executorFor(box).recover({ launchToken: req.launchToken, executionUuid: req.executionUuid, attempt: 1, runEnvironment: LOCAL_ENV })).toEqual(handle);
    expect(await executor.recover({ launchToken: 'never-1', executionUuid: 'never', attempt: 1, runEnvironment: LOCAL_ENV })).toBeNull();

    // A directory a crashed start left behind before spawning anything: null once it has settled.
    fs.mkdirSync(path.join(box.dataDir, 'executions', 'crashed-1'), { recursive: true });
    expect(await executor.recover({ launchToken: 'crashed-1', executionUuid: 'crashed', attempt: 1, runEnvironment: LOCAL_ENV })).toBeNull();
    await waitForExit(executor, handle);
  });

  it('refuses to start in a working directory that does not exist', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const missing = path.join(box.root, 'no-such-dir');
    const req = request(box, { workingDirectory: missing });
    const result = await executor.start(req);
    if (result.ok) throw new Error('expected a failure');
    expect(result.failure).toMatchObject({ type: 'START_FAILED', code: 'WORKING_DIRECTORY_MISSING', fault: 'config' });
    expect(result.failure.message).toContain(missing);
    expect(await executor.recover({ launchToken: req.launchToken, executionUuid: req.executionUuid, attempt: 1, runEnvironment: LOCAL_ENV })).toBeNull();
  });

  it('runs in the working directory the Task names', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handle = await startOk(executor, request(box, { command: ['pwd'], workingDirectory: box.outDir }));
    await waitForExit(executor, handle);
    expect((await allLogs(executor, handle)).stdout).toEqual([fs.realpathSync(box.outDir)]);
  });

  it('answers for every handle, bad ones included, without throwing', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const observations = await executor.observe([
      { something: 'else' },
      {
        executor: 'local',
        attempt_dir: path.join(box.root, 'gone'),
        runner_pid: 4_000_000,
        launch_token: 'x-1',
        execution_uuid: 'x',
        attempt: 1,
      },
    ]);
    expect(observations.map((o) => o.state)).toEqual(['lost', 'lost']);
    await expect(executor.stop({ something: 'else' }, { gracePeriodSeconds: 1, reason: 'test' })).resolves.toBeUndefined();
  });
});

describe('LocalExecutor: starts that arrive together share a runner', () => {
  /** A command that waits for `$OUT/go-<name>` and then exits with `code`. */
  const waitThenExit = (name: string, code: number) => `echo "I am $MARK"; while [ ! -e "$OUT/go-${name}" ]; do sleep 0.05; done; exit ${code}`;

  async function startTogether(executor: LocalExecutor, requests: StartRequest[]): Promise<ExecutorHandle[]> {
    return Promise.all(requests.map((req) => startOk(executor, req)));
  }

  function environOf(pid: number): string {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  }

  it('runs each attempt with its own environment, exit code and logs, and keeps secrets out of the runner', async () => {
    const box = sandbox();
    const secrets = ['alpha', 'bravo', 'charlie', 'delta'].map((name) => ({ name, value: `secret-of-${name}-Kq3` }));
    const executor = executorFor(box, { hostEnvironment: { ...HOST_ENVIRONMENT, ...Object.fromEntries(secrets.map((s) => [`SECRET_${s.name}`, s.value])) } });
    const handles = await startTogether(
      executor,
      secrets.map((s, i) =>
        request(box, {
          command: waitThenExit(s.name, i + 2),
          environment: { OUT: box.outDir, MARK: s.name },
          secrets: { TOKEN: `ENV:SECRET_${s.name}` },
        }),
      ),
    );
    // One runner for all four.
    expect(new Set(handles.map((h) => h.runner_pid)).size).toBe(1);
    const runnerPid = Number(handles[0]!.runner_pid);
    for (const handle of handles) await waitForState(executor, handle, 'running');
    if (process.platform === 'linux') {
      // The secrets reached the commands through the pipe: not in the runner's environment or argv.
      const runnerView = environOf(runnerPid) + fs.readFileSync(`/proc/${runnerPid}/cmdline`, 'utf8');
      for (const s of secrets) expect(runnerView).not.toContain(s.value);
      // Each command has its own secret and no other.
      handles.forEach((handle, i) => {
        const environ = environOf(childPid(handle));
        expect(environ).toContain(`TOKEN=${secrets[i]!.value}\0`);
        for (const other of secrets.filter((_, j) => j !== i)) expect(environ).not.toContain(other.value);
      });
    }
    for (const s of secrets) fs.writeFileSync(path.join(box.outDir, `go-${s.name}`), '');
    const exits = await Promise.all(handles.map((handle) => waitForExit(executor, handle)));
    expect(exits.map((e) => e.exitCode)).toEqual([2, 3, 4, 5]);
    for (const [i, handle] of handles.entries()) {
      expect((await allLogs(executor, handle)).stdout).toEqual([`I am ${secrets[i]!.name}`]);
    }
    await waitFor(() => !isAlive(runnerPid), 10_000, 'the runner to exit after its last attempt');
  });

  it('stops one attempt of a shared runner and leaves the others running', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handles = await startTogether(executor, ['a', 'b', 'c'].map((name) => request(box, { command: waitThenExit(name, 0), environment: { OUT: box.outDir, MARK: name } })));
    expect(new Set(handles.map((h) => h.runner_pid)).size).toBe(1);
    for (const handle of handles) await waitForState(executor, handle, 'running');
    await executor.stop(handles[1]!, { gracePeriodSeconds: 5, reason: 'test' });
    expect(await waitForExit(executor, handles[1]!)).toMatchObject({ signal: 'SIGTERM', exitCode: null, timedOut: false });
    // The others are still running, in their runner.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await executor.observe([handles[0]!, handles[2]!])).map((o) => o.state)).toEqual(['running', 'running']);
    expect(isAlive(Number(handles[0]!.runner_pid))).toBe(true);
    for (const name of ['a', 'c']) fs.writeFileSync(path.join(box.outDir, `go-${name}`), '');
    expect(await waitForExit(executor, handles[0]!)).toMatchObject({ exitCode: 0, signal: null });
    expect(await waitForExit(executor, handles[2]!)).toMatchObject({ exitCode: 0, signal: null });
  });

  it('times out one attempt of a shared runner without touching the others', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const [slow, other] = await startTogether(executor, [
      request(box, { command: ['sleep', '30'], timeoutSeconds: 1, terminationGracePeriodSeconds: 5 }),
      request(box, { command: waitThenExit('other', 7), environment: { OUT: box.outDir, MARK: 'other' } }),
    ]);
    expect(slow!.runner_pid).toBe(other!.runner_pid);
    expect(await waitForExit(executor, slow!)).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect((await observeOne(executor, other!)).state).toBe('running');
    fs.writeFileSync(path.join(box.outDir, 'go-other'), '');
    expect(await waitForExit(executor, other!)).toMatchObject({ exitCode: 7, timedOut: false });
  });

  it('reports a start failure for its own attempt only', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const [missing, fine] = await startTogether(executor, [
      request(box, { command: ['berth-no-such-program-42'] }),
      request(box, { command: 'echo fine' }),
    ]);
    expect(missing!.runner_pid).toBe(fine!.runner_pid);
    expect((await waitForExit(executor, missing!)).failure).toMatchObject({ code: 'COMMAND_NOT_FOUND' });
    expect(await waitForExit(executor, fine!)).toMatchObject({ exitCode: 0, failure: null });
    expect((await allLogs(executor, fine!)).stdout).toEqual(['fine']);
  });

  it('loses every attempt of a runner killed by SIGKILL, each with the reason, and kills their commands', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    const handles = await startTogether(executor, [1, 2].map(() => request(box, { command: ['sleep', '300'] })));
    for (const handle of handles) await waitForState(executor, handle, 'running');
    const children = handles.map(childPid);
    process.kill(Number(handles[0]!.runner_pid), 'SIGKILL');
    for (const handle of handles) {
      const lost = await waitForState(executor, handle, 'lost');
      expect(lost.message).toContain(`pid ${String(handle.runner_pid)}`);
      expect(lost.message).toContain(attemptDir(handle));
    }
    for (const child of children) await waitFor(() => !isAlive(child), 10_000, 'the orphaned command to die');
  });

  it('splits a batch of long commands over several runners, within the command-line limit', async () => {
    const box = sandbox();
    const executor = executorFor(box);
    // Eight 40 KB scripts: together far over Linux's 128 KiB limit on one argument.
    const script = (i: number) => `: ${'x'.repeat(40_000)}; echo "long ${i}"`;
    const handles = await startTogether(executor, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => request(box, { command: script(i) })));
    const perRunner = new Map<unknown, number>();
    for (const h of handles) perRunner.set(h.runner_pid, (perRunner.get(h.runner_pid) ?? 0) + 1);
    expect(perRunner.size).toBeGreaterThan(1);
    expect(Math.max(...perRunner.values())).toBeLessThanOrEqual(3);
    for (const [i, h] of handles.entries()) {
      expect(await waitForExit(executor, h)).toMatchObject({ exitCode: 0, failure: null });
      expect((await allLogs(executor, h)).stdout).toEqual([`long ${i}`]);
    }
  });

  it('puts at most runnerBatchSize attempts in one runner (1: a runner each)', async () => {
    const box = sandbox();
    const byTwo = executorFor(box, { runnerBatchSize: 2 });
    const five = await startTogether(byTwo, [1, 2, 3, 4, 5].map(() => request(box, { command: 'true' })));
    const runners = new Map<unknown, number>();
    for (const h of five) runners.set(h.runner_pid, (runners.get(h.runner_pid) ?? 0) + 1);
    expect([...runners.values()].sort()).toEqual([1, 2, 2]);
    for (const h of five) expect(await waitForExit(byTwo, h)).toMatchObject({ exitCode: 0 });

    const single = executorFor(sandbox(), { runnerBatchSize: 1 });
    const box2 = sandboxes[sandboxes.length - 1]!;
    const three = await startTogether(single, [1, 2, 3].map(() => request(box2, { command: 'true' })));
    expect(new Set(three.map((h) => h.runner_pid)).size).toBe(3);
    for (const h of three) expect(await waitForExit(single, h)).toMatchObject({ exitCode: 0 });
  });
});
