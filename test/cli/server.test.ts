import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../support/temp.js';
import { REPO_ROOT, runCli, spawnCli, writeFile } from './cli.js';
import type { CliProcess } from './cli.js';

let data: ReturnType<typeof tempDir>;
const running: CliProcess[] = [];

beforeAll(() => {
  data = tempDir('berth-cli-server-');
});
afterAll(() => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  data?.cleanup();
});

function server(args: string[]): CliProcess {
  const p = spawnCli(['server', '--data-dir', path.join(data.dir, 'data'), '--port', '0', '--log-level', 'warn', ...args]);
  running.push(p);
  return p;
}

it('starts, shows the admin key on the first start only, applies a file, and exits 0 on SIGTERM', async () => {
  const first = server([]);
  const [, url] = (await first.waitForOutput(/^Berth is listening on (http:\/\/127\.0\.0\.1:\d+)$/m)) as [string, string];
  const [, key] = (await first.waitForOutput(/^Admin API key \(shown once; store it now\): (\S+)$/m)) as [string, string];
  expect(first.stdout()).toContain(`export BERTH_API_KEY=${key}`);
  expect(first.stdout()).toContain(`SQLite ${path.join(data.dir, 'data', 'berth.sqlite')}`);

  // The printed key works.
  const list = await runCli(['keys', 'list'], { env: { BERTH_URL: url, BERTH_API_KEY: key } });
  expect(list.stderr).toBe('');
  expect(list.stdout).toMatch(/^admin\s+admin\s/m);

  first.child.kill('SIGTERM');
  const stopped = await first.exited;
  expect(stopped.code).toBe(0);
  expect(stopped.stderr).toContain('re-attached at the next start');

  const file = writeFile(data.dir, 'berth.yaml', 'run_environments:\n  - name: local\n    kind: local\ntasks:\n  - name: hi\n    run_environment: local\n    command: echo hi\n');
  const second = server(['--apply', file]);
  const [, url2] = (await second.waitForOutput(/^Berth is listening on (http:\S+)$/m)) as [string, string];
  await second.waitForOutput(/^Applied .*: 2 created, 0 updated, 0 unchanged$/m);
  expect(second.stdout()).not.toContain('Admin API key');
  const show = await runCli(['tasks', 'show', 'hi', '--json'], { env: { BERTH_URL: url2, BERTH_API_KEY: key } });
  expect(JSON.parse(show.stdout).command).toBe('echo hi');
  second.child.kill('SIGINT');
  expect((await second.exited).code).toBe(0);
});

it('an invalid --apply file prints its issues and exits 1', async () => {
  const file = writeFile(data.dir, 'bad.yaml', 'tasks:\n  - name: x\n    run_environment: local\n    command: echo\n    max_retries: -1\n');
  const r = await server(['--apply', file]).exited;
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('Berth is listening on');
  expect(r.stderr).toContain(`${file}: tasks[0].max_retries: `);
});

it('local-only mode says so; an invalid setting exits 2', async () => {
  const local = server(['--local-only']);
  await local.waitForOutput(/^ {2}Local-only mode: requests from this machine need no API key\.$/m);
  local.child.kill('SIGTERM');
  expect((await local.exited).code).toBe(0);

  const bad = await runCli(['server', '--data-dir', path.join(data.dir, 'other'), '--port', '99999']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('error: Invalid server settings:');
  expect(bad.stderr).toContain('port (BERTH_PORT)');
});

it('bin/berth.js says how to build when dist/ is missing', async () => {
  const copy = tempDir('berth-bin-');
  try {
    fs.mkdirSync(path.join(copy.dir, 'bin'));
    fs.copyFileSync(path.join(REPO_ROOT, 'bin', 'berth.js'), path.join(copy.dir, 'bin', 'berth.js'));
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [path.join(copy.dir, 'bin', 'berth.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('berth is not built yet: run npm run build (npm ci does it)\n');
  } finally {
    copy.cleanup();
  }
});
