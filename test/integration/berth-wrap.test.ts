/**
 * berth-wrap end to end: the BUNDLED wrapper (dist/berth-wrap.mjs) as a real child process,
 * running real commands, reporting to a real Berth server over HTTP (docs/berth-wrap.md).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';
import { WRAPPER_VERSION } from '../../src/wrapper/version.js';
import { runCli, unusedPort } from '../cli/cli.js';
import {
  announcedUuid,
  BUNDLE,
  CLIENT_BUNDLE,
  ensureWrapperBuilt,
  PACKAGE_DIR,
  processAlive,
  runWrap,
  spawnWrap,
} from '../support/berth-wrap.js';
import { awsTestConfig, motoAvailable, startMoto } from '../support/moto.js';
import type { Moto } from '../support/moto.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';

let berth: Awaited<ReturnType<typeof startTestServer>>;
const serverLog: string[] = [];
const work = tempDir('berth-wrap-it-');
/** The environment that points berth-wrap at the test server. */
let online: Record<string, string>;

beforeAll(async () => {
  await ensureWrapperBuilt();
  berth = await startTestServer({}, { logger: createLogger({ level: 'debug', format: 'json', write: (line) => serverLog.push(line) }) });
  online = { BERTH_WRAP_API_URL: berth.server.url, BERTH_WRAP_API_KEY: TEST_ADMIN_KEY };
  const applied = await berth.request('POST', '/api/v1/apply/', {
    document: {
      run_environments: [{ name: 'local', kind: 'local' }],
      tasks: [
        { name: 'wrapped', run_environment: 'local', passive: true },
        { name: 'single', run_environment: 'local', passive: true, max_concurrency: 1 },
        {
          name: 'launched',
          run_environment: 'local',
          // Berth launches this one itself (local executor); berth-wrap inside marks it RUNNING.
          command: [process.execPath, BUNDLE, '--status-listener', '--status-port', '0', '--', 'sh', '-c', 'echo "from launched $BERTH_WRAP_STATUS_PORT"'],
          environment: { BERTH_WRAP_API_URL: berth.server.url, BERTH_WRAP_API_KEY: TEST_ADMIN_KEY },
          working_directory: work.dir,
        },
      ],
    },
  });
  expect(applied.status).toBe(200);
});

afterAll(async () => {
  await berth?.stop();
  work.cleanup();
});

function file(name: string): string {
  return path.join(work.dir, name);
}

async function execution(uuid: string): Promise<any> {
  const answer = await berth.request('GET', `/api/v1/task_executions/${uuid}/`);
  expect(answer.status).toBe(200);
  return answer.body;
}

function readPid(name: string): number {
  return Number(fs.readFileSync(file(name), 'utf8').trim());
}

describe('berth-wrap reporting to Berth', () => {
  it('reports a successful run and passes the output through', async () => {
    const result = await runWrap(['--task', 'wrapped', '--', 'sh', '-c', 'echo hello; echo "uuid=$BERTH_TASK_EXECUTION_UUID"; echo note >&2'], {
      env: online,
    });
    expect(result.code).toBe(0);
    const uuid = announcedUuid(result.stderr);
    expect(result.stdout).toBe(`hello\nuuid=${uuid}\n`);
    expect(result.stderr).toContain('note\n');
    const e = await execution(uuid);
    expect(e).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, run_reason: 'REPORTED', task: { name: 'wrapped' }, debug_log_tail: null });
    expect(e.wrapper).toMatchObject({ wrapper_family: 'berth-wrap', wrapper_version: WRAPPER_VERSION, heartbeat_interval_seconds: 30 });
  });

  it("passes the command's exit code through and sends the last lines of its output", async () => {
    const script = 'for i in $(seq 1 60); do echo "out $i"; done; echo "err 1" >&2; echo "err 2" >&2; exit 3';
    const result = await runWrap(['--task', 'wrapped', '--log-tail-lines', '5', '--', 'sh', '-c', script], { env: online });
    expect(result.code).toBe(3);
    // The output itself is untouched: all 60 lines.
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(60);
    const e = await execution(announcedUuid(result.stderr));
    expect(e).toMatchObject({ status: 'FAILED', exit_code: 3, failure: { type: 'EXIT', exit_code: 3 } });
    expect(e.debug_log_tail).toBe('out 56\nout 57\nout 58\nout 59\nout 60');
    expect(e.error_log_tail).toBe('err 1\nerr 2');
  });

  it('times out: the whole process group is terminated, exit 124, TERMINATED_AFTER_TIME_OUT', async () => {
    const script = `sleep 60 & echo $! > ${file('timeout-grandchild.pid')}; echo $$ > ${file('timeout-child.pid')}; wait`;
    const result = await runWrap(['--task', 'wrapped', '--timeout', '0.5', '--termination-grace-period', '2', '--', 'sh', '-c', script], {
      env: online,
    });
    expect(result.code).toBe(124);
    expect(processAlive(readPid('timeout-child.pid'))).toBe(false);
    expect(processAlive(readPid('timeout-grandchild.pid'))).toBe(false);
    const e = await execution(announcedUuid(result.stderr));
    expect(e.status).toBe('TERMINATED_AFTER_TIME_OUT');
    expect(e.wrapper_report).toMatchObject({ status: 'TERMINATED_AFTER_TIME_OUT', timed_out_attempts: 1 });
  });

  it('retries a failed attempt and succeeds on the next, counting the failure', async () => {
    const marker = file('retry-marker');
    const script = `if [ -e ${marker} ]; then echo second; exit 0; fi; touch ${marker}; echo first; exit 2`;
    const result = await runWrap(['--task', 'wrapped', '--max-retries', '2', '--retry-delay', '0.1', '--', 'sh', '-c', script], { env: online });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('first\nsecond\n');
    expect(result.stderr).toMatch(/attempt 1 exited with code 2; attempt 2 of 3 in 0.1 s/);
    const e = await execution(announcedUuid(result.stderr));
    expect(e.status).toBe('SUCCEEDED');
    expect(e.wrapper_report).toMatchObject({ status: 'SUCCEEDED', failed_attempts: 1, timed_out_attempts: 0 });
  });

  it('gives up after the last retry with the last exit code', async () => {
    const result = await runWrap(['--task', 'wrapped', '--max-retries', '1', '--retry-delay', '0', '--', 'sh', '-c', 'echo attempt; exit 4'], {
      env: online,
    });
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('attempt\nattempt\n');
    const e = await execution(announcedUuid(result.stderr));
    expect(e).toMatchObject({ status: 'FAILED', exit_code: 4, wrapper_report: { failed_attempts: 2 } });
  });

  it('ends the command when `berth stop` is asked, SIGKILL after the grace period, never orphaned', async () => {
    // The command and its child ignore SIGTERM: only the SIGKILL after the grace period ends them.
    const script = `trap '' TERM; sleep 60 & echo $! > ${file('stop-grandchild.pid')}; echo $$ > ${file('stop-child.pid')}; wait`;
    const wrap = spawnWrap(['--task', 'wrapped', '--heartbeat-interval', '0.2', '--termination-grace-period', '1', '--', 'sh', '-c', script], {
      env: online,
    });
    const uuid = (await wrap.waitForStderr(/as execution ([0-9a-f-]{36})/))[1]!;
    await waitFor(() => fs.existsSync(file('stop-grandchild.pid')) && fs.readFileSync(file('stop-grandchild.pid'), 'utf8').trim(), 'the pid files');
    const child = readPid('stop-child.pid');
    const grandchild = readPid('stop-grandchild.pid');
    expect(processAlive(child)).toBe(true);

    const stopped = await runCli(['stop', uuid], { env: { BERTH_URL: berth.server.url, BERTH_API_KEY: TEST_ADMIN_KEY } });
    expect(stopped.code, stopped.stderr).toBe(0);
    const askedAt = Date.now();
    const result = await wrap.exited;
    // One heartbeat (0.2 s) plus the grace period (1 s), with room for a loaded machine.
    expect(Date.now() - askedAt).toBeLessThan(8000);
    expect(result.code).toBe(143);
    expect(result.stderr).toMatch(/Berth asked for a stop: terminating the command/);
    expect(processAlive(child)).toBe(false);
    expect(processAlive(grandchild)).toBe(false);
    expect((await execution(uuid)).status).toBe('STOPPED');
  });

  it('forwards the counts and message the command sends over UDP, promptly and at the end', async () => {
    const release = file('udp-release');
    const script = file('udp-child.mjs');
    fs.writeFileSync(
      script,
      `import fs from 'node:fs';
import { StatusClient } from ${JSON.stringify(pathToFileURL(CLIENT_BUNDLE).href)};
const status = new StatusClient();
if (!status.enabled) { console.error('no status port'); process.exit(9); }
await status.send({ expected_count: 10, other_runtime_metadata: { shard: 'a' } });
for (let i = 0; i < 7; i++) await status.increment({ success: 1 });
await status.increment({ error: 1 }, 'seven loaded, one failed');
while (!fs.existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 20));
await status.send({ skipped_count: 2 });
status.close();
`,
    );
    const wrap = spawnWrap(
      ['--task', 'wrapped', '--status-listener', '--status-port', '0', '--status-update-interval', '0.1', '--', process.execPath, script],
      { env: online },
    );
    const uuid = (await wrap.waitForStderr(/as execution ([0-9a-f-]{36})/))[1]!;
    // While the command still runs, the updates have reached Berth.
    const running = await waitFor(async () => {
      const e = await execution(uuid);
      return e.success_count === 7 && e.error_count === 1 ? e : null;
    }, 'the counts on the running execution');
    expect(running).toMatchObject({ status: 'RUNNING', expected_count: 10, last_status_message: 'seven loaded, one failed', other_runtime_metadata: { shard: 'a' } });
    fs.writeFileSync(release, '');
    const result = await wrap.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(await execution(uuid)).toMatchObject({ status: 'SUCCEEDED', success_count: 7, error_count: 1, skipped_count: 2, expected_count: 10 });
  });

  it('marks an execution Berth launched as RUNNING (manual start) and reports its end', async () => {
    const started = await berth.request('POST', '/api/v1/task_executions/', { task: 'launched' });
    expect(started.status).toBe(201);
    const uuid = started.body.uuid as string;
    const e = await waitFor(async () => {
      const current = await execution(uuid);
      return ['SUCCEEDED', 'FAILED'].includes(current.status) ? current : null;
    }, 'the launched execution to end');
    expect(e.status).toBe('SUCCEEDED');
    expect(e.wrapper).toMatchObject({ wrapper_family: 'berth-wrap' });
    expect(e.wrapper_report).toMatchObject({ status: 'SUCCEEDED', exit_code: 0 });
    const logs = await berth.request('GET', `/api/v1/task_executions/${uuid}/logs`);
    expect(logs.body.entries.map((entry: any) => entry.text).join('')).toMatch(/from launched \d+/);
  });

  it('waits while the Task is at its concurrency limit, then exits 75 without running', async () => {
    const first = spawnWrap(['--task', 'single', '--', 'sleep', '60'], { env: online });
    const firstUuid = (await first.waitForStderr(/as execution ([0-9a-f-]{36})/))[1]!;
    const marker = file('conflict-ran');
    const second = await runWrap(['--task', 'single', '--api-conflict-timeout', '0.5', '--api-retry-delay', '0.1', '--', 'touch', marker], {
      env: online,
    });
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/HTTP 409 MAX_CONCURRENCY_REACHED/);
    expect(fs.existsSync(marker)).toBe(false);

    // SIGTERM to the wrapper is passed on to the command and reported as ABORTED.
    first.child.kill('SIGTERM');
    const result = await first.exited;
    expect(result.code).toBe(143);
    expect(result.stderr).toMatch(/received SIGTERM: passing it on to the command/);
    expect((await execution(firstUuid)).status).toBe('ABORTED');
  });

  it('exits 77 without running the command when Berth refuses the key', async () => {
    const marker = file('forbidden-ran');
    const result = await runWrap(['--task', 'wrapped', '--', 'touch', marker], {
      env: { ...online, BERTH_WRAP_API_KEY: 'berth_not_a_real_key_000000000000' },
    });
    expect([result.code, result.stderr]).toEqual([77, expect.stringMatching(/Berth refused the API key \(HTTP 40[13] /)]);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("exits 78 with Berth's message for an unknown Task, and creates it when told to", async () => {
    const unknown = await runWrap(['--task', 'no-such-task', '--', 'true'], { env: online });
    expect(unknown.code).toBe(78);
    expect(unknown.stderr).toMatch(/Berth rejected the start report: HTTP 404 TASK_NOT_FOUND/);

    const created = await runWrap(['--task', 'auto-made', '--auto-create-task', '--run-environment', 'local', '--', 'true'], { env: online });
    expect(created.code).toBe(0);
    const task = await berth.request('GET', '/api/v1/tasks/auto-made/');
    expect(task.body).toMatchObject({ name: 'auto-made', passive: true });
  });

  it('sends the ECS task metadata with the start report', async () => {
    const metadata = http.createServer((req, res) => {
      if (req.url !== '/v4/container-1/task') return void res.writeHead(404).end();
      res.end(
        JSON.stringify({
          Cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/berth',
          TaskARN: 'arn:aws:ecs:us-east-1:123456789012:task/berth/abc123',
          Family: 'etl',
          Revision: '4',
          Limits: { CPU: 0.5, Memory: 1024 },
          AvailabilityZone: 'us-east-1c',
          LaunchType: 'FARGATE',
        }),
      );
    });
    await new Promise<void>((r) => metadata.listen(0, '127.0.0.1', r));
    try {
      const uri = `http://127.0.0.1:${(metadata.address() as AddressInfo).port}/v4/container-1`;
      const result = await runWrap(['--task', 'wrapped', '--', 'true'], { env: { ...online, ECS_CONTAINER_METADATA_URI_V4: uri } });
      expect(result.code).toBe(0);
      expect((await execution(announcedUuid(result.stderr))).wrapper).toMatchObject({
        execution_method_type: 'AWS ECS',
        allocated_cpu_units: 512,
        allocated_memory_mb: 1024,
        execution_method_details: { task_arn: 'arn:aws:ecs:us-east-1:123456789012:task/berth/abc123', availability_zone: 'us-east-1c' },
      });
    } finally {
      metadata.close();
    }
  });
});

describe('berth-wrap against a Berth that answers 5xx', () => {
  /** A stand-in for Berth that answers from a script, recording what it was sent. */
  async function fakeBerth(answers: { status: number; headers?: Record<string, string>; body?: unknown }[]) {
    const requests: { method: string; url: string; body: any }[] = [];
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', body: text ? JSON.parse(text) : null });
        const next = answers.shift() ?? { status: 204 };
        res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end(next.body === undefined ? '' : JSON.stringify(next.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => server.close() };
  }

  it('retries the start after 503 (honouring Retry-After) and runs once Berth has it', async () => {
    const uuid = '6f9619ff-8b86-4011-b42d-00c04fc964ff';
    const fake = await fakeBerth([
      { status: 503, headers: { 'retry-after': '0.2' } },
      { status: 502 },
      { status: 201, body: { uuid } },
    ]);
    try {
      const result = await runWrap(['--task', 't', '--prevent-offline-execution', '--api-retry-delay', '0.05', '--', 'sh', '-c', 'echo ran'], {
        env: { BERTH_WRAP_API_URL: fake.url },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe('ran\n');
      expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'POST /api/v1/task_executions/',
        'POST /api/v1/task_executions/',
        'POST /api/v1/task_executions/',
        `PATCH /api/v1/task_executions/${uuid}/`,
      ]);
      expect(fake.requests[0]!.body).toMatchObject({ status: 'RUNNING', task: { name: 't' }, wrapper_family: 'berth-wrap', prevent_offline_execution: true });
      expect(fake.requests[3]!.body).toMatchObject({ status: 'SUCCEEDED', exit_code: 0, failed_attempts: 0, timed_out_attempts: 0 });
    } finally {
      fake.close();
    }
  });

  it('does not retry a 500', async () => {
    const fake = await fakeBerth([{ status: 500, body: { error: { code: 'INTERNAL', message: 'boom' } } }]);
    try {
      const result = await runWrap(['--task', 't', '--prevent-offline-execution', '--api-retry-delay', '0.05', '--', 'true'], {
        env: { BERTH_WRAP_API_URL: fake.url },
      });
      expect(result.code).toBe(75);
      expect(result.stderr).toMatch(/HTTP 500 INTERNAL: boom; not running the command/);
      expect(fake.requests).toHaveLength(1);
    } finally {
      fake.close();
    }
  });
});

describe('berth-wrap without Berth', () => {
  it('with no URL, just runs the command: stdin, stdout and the exit code pass through, nothing added', async () => {
    const result = await runWrap(['--', 'sh', '-c', 'read line; echo "got:$line"; echo to-stderr >&2; exit 5'], { input: 'hi\n' });
    expect(result).toMatchObject({ code: 5, stdout: 'got:hi\n', stderr: 'to-stderr\n' });
  });

  it('with an unreachable URL, runs the command anyway and exits with its code', async () => {
    const port = await unusedPort();
    const result = await runWrap(['--task', 'wrapped', '--', 'sh', '-c', 'echo ran; exit 6'], {
      env: { BERTH_WRAP_API_URL: `http://127.0.0.1:${port}` },
    });
    expect(result.code).toBe(6);
    expect(result.stdout).toBe('ran\n');
    expect(result.stderr).toMatch(/cannot reach Berth at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED.*running the command anyway/);
    expect(result.stderr).toMatch(/Berth never acknowledged this run/);
  });

  it('retries the finish of a known execution for a bounded time when Berth is gone', async () => {
    const port = await unusedPort();
    const result = await runWrap(['--api-final-update-timeout', '0.5', '--api-retry-delay', '0.1', '--', 'sh', '-c', 'exit 0'], {
      env: { PROC_WRAPPER_API_BASE_URL: `http://127.0.0.1:${port}`, PROC_WRAPPER_TASK_EXECUTION_UUID: '0f8fad5b-d9cb-469f-a165-70867728950e' },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/could not report the end of execution 0f8fad5b-d9cb-469f-a165-70867728950e to Berth: cannot reach Berth/);
  });

  it('with --prevent-offline-execution, does not run the command and exits 75', async () => {
    const port = await unusedPort();
    const marker = file('offline-ran');
    const result = await runWrap(
      ['--task', 'wrapped', '--prevent-offline-execution', '--api-creation-timeout', '0.3', '--api-retry-delay', '0.1', '--', 'touch', marker],
      { env: { BERTH_WRAP_API_URL: `http://127.0.0.1:${port}` } },
    );
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/not running the command \(--prevent-offline-execution\)/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('exits 78 for a bad option value, naming it', async () => {
    const result = await runWrap(['--', 'true'], { env: { PROC_WRAPPER_PROCESS_TIMEOUT_SECONDS: 'ten' } });
    expect(result).toMatchObject({ code: 78, stdout: '' });
    expect(result.stderr).toBe('berth-wrap: configuration error: PROC_WRAPPER_PROCESS_TIMEOUT_SECONDS: expected a number of seconds (greater than 0), like 30 or 0.5, got "ten"\n');
  });

  it('exits 127 when the command does not exist', async () => {
    const result = await runWrap(['--', 'no-such-command-berth-wrap']);
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/"no-such-command-berth-wrap" was not found/);
  });
});

describe('the berth-wrap bundle and package', () => {
  it('runs from a directory with no node_modules anywhere near it', async () => {
    const alone = tempDir('berth-wrap-alone-');
    try {
      const copy = path.join(alone.dir, 'berth-wrap.mjs');
      fs.copyFileSync(BUNDLE, copy);
      const version = await runWrap(['--version'], { bundle: copy, cwd: alone.dir });
      expect(version).toMatchObject({ code: 0, stdout: `berth-wrap ${WRAPPER_VERSION}\n` });
      const yaml = path.join(alone.dir, 'c.yaml');
      fs.writeFileSync(yaml, 'db:\n  user: from-yaml\n');
      // A yaml secret needs the embedded lazy dependencies: they must load without node_modules.
      const run = await runWrap(['--secret', `DB_USER=FILE:${yaml}|JP:db.user`, '--', 'sh', '-c', 'echo "$DB_USER"'], { bundle: copy, cwd: alone.dir });
      expect(run).toMatchObject({ code: 0, stdout: 'from-yaml\n' });
    } finally {
      alone.cleanup();
    }
  });

  it('packs the bundle, the client and its types into the npm package', () => {
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_DIR, encoding: 'utf8' });
    expect(pack.status, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as { name: string; version: string; files: { path: string }[] }[];
    expect(info!.name).toBe('berth-wrap');
    expect(info!.version).toBe(WRAPPER_VERSION);
    expect(info!.files.map((f) => f.path).sort()).toEqual(['README.md', 'dist/berth-wrap.mjs', 'dist/client.d.ts', 'dist/client.mjs', 'package.json']);
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ 'berth-wrap': 'dist/berth-wrap.mjs' });
    expect(fs.readFileSync(path.join(PACKAGE_DIR, 'dist/berth-wrap.mjs'), 'utf8')).toBe(fs.readFileSync(BUNDLE, 'utf8'));
  });
});

describe.runIf(await motoAvailable())('berth-wrap secrets from AWS (moto)', () => {
  let moto: Moto;
  const SM_VALUE = 'sm-value-7f3a91c2';
  const SSM_VALUE = 'ssm-value-2b8e44d0';
  const S3_VALUE = 's3-value-c41d5e6f';
  let secretArn = '';

  beforeAll(async () => {
    moto = await startMoto();
    const aws = awsTestConfig(moto.endpoint);
    const { SecretsManagerClient, CreateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    const { SSMClient, PutParameterCommand } = await import('@aws-sdk/client-ssm');
    const { S3Client, CreateBucketCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const sm = new SecretsManagerClient(aws);
    const ssm = new SSMClient(aws);
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    try {
      const created = await sm.send(new CreateSecretCommand({ Name: 'app/db', SecretString: JSON.stringify({ user: 'etl', password: SM_VALUE }) }));
      secretArn = created.ARN!;
      await ssm.send(new PutParameterCommand({ Name: '/app/token', Value: SSM_VALUE, Type: 'SecureString' }));
      await s3.send(new CreateBucketCommand({ Bucket: 'berth-wrap-config' }));
      await s3.send(new PutObjectCommand({ Bucket: 'berth-wrap-config', Key: 'app.env', Body: `S3_SECRET=${S3_VALUE}\nREGION_NAME=eu\n` }));
    } finally {
      sm.destroy();
      ssm.destroy();
      s3.destroy();
    }
  });

  afterAll(async () => {
    await moto?.stop();
  });

  const awsEnv = () => ({
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    BERTH_WRAP_AWS_ENDPOINT_URL: moto.endpoint,
  });

  it("puts Secrets Manager, SSM and S3 values into the command's environment and nowhere else", async () => {
    const alone = tempDir('berth-wrap-aws-');
    try {
      // The bundle alone in a directory: the AWS SDK must come from inside it.
      const copy = path.join(alone.dir, 'berth-wrap.mjs');
      fs.copyFileSync(BUNDLE, copy);
      const out = path.join(alone.dir, 'values');
      const envDump = path.join(alone.dir, 'env');
      const result = await runWrap(
        [
          '--task',
          'wrapped',
          '--log-level',
          'debug',
          '--log-tail-lines-on-success',
          '20',
          '--env-from',
          'AWS_S3:s3://berth-wrap-config/app.env',
          '--',
          'sh',
          '-c',
          `printf '%s|%s|%s\\n' "$DB_PASSWORD" "$API_TOKEN" "$S3_SECRET" > ${out}; env > ${envDump}; echo done`,
        ],
        {
          bundle: copy,
          cwd: alone.dir,
          env: {
            ...online,
            ...awsEnv(),
            BERTH_WRAP_SECRET_DB_PASSWORD: `AWS_SM:${secretArn}|JP:$.password`,
            API_TOKEN_FOR_PROC_WRAPPER_TO_RESOLVE: 'arn:aws:ssm:us-east-1:123456789012:parameter/app/token',
          },
        },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toBe(`${SM_VALUE}|${SSM_VALUE}|${S3_VALUE}\n`);
      const childEnv = fs.readFileSync(envDump, 'utf8');
      expect(childEnv).not.toMatch(/BERTH_WRAP_SECRET_|_FOR_PROC_WRAPPER_TO_RESOLVE|BERTH_WRAP_API_KEY|PROC_WRAPPER_API_KEY/);
      expect(childEnv).toContain('REGION_NAME=eu');

      const uuid = announcedUuid(result.stderr);
      const stored = JSON.stringify(await execution(uuid));
      expect(stored).toContain('"debug_log_tail":"done"');
      for (const value of [SM_VALUE, SSM_VALUE, S3_VALUE]) {
        expect(result.stdout).not.toContain(value);
        expect(result.stderr).not.toContain(value);
        expect(stored).not.toContain(value);
        expect(serverLog.join('\n')).not.toContain(value);
      }
      expect(result.stderr).toMatch(/resolved .*DB_PASSWORD/);
      // The SDK's warning about future Node.js versions would land in the command's stderr.
      expect(result.stderr).not.toMatch(/Warning/);
    } finally {
      alone.cleanup();
    }
  });

  it('fails fast, naming the variable, when a secret cannot be resolved', async () => {
    const marker = file('secret-ran');
    const result = await runWrap(['--task', 'wrapped', '--', 'touch', marker], {
      env: { ...online, ...awsEnv(), BERTH_WRAP_SECRET_MISSING_ONE: 'AWS_SM:app/does-not-exist' },
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/cannot resolve MISSING_ONE \(from BERTH_WRAP_SECRET_MISSING_ONE = AWS_SM:app\/does-not-exist\): ResourceNotFoundException/);
    expect(fs.existsSync(marker)).toBe(false);
    const e = await execution(announcedUuid(result.stderr));
    expect(e.status).toBe('FAILED');
    expect(e.last_status_message).toMatch(/cannot resolve MISSING_ONE/);
  });
});
