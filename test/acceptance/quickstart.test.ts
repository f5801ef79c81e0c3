/**
 * The README's quick start, as a user runs it: `npm start` (build, server in local-only mode,
 * example tasks applied), then `npx berth …` from the repository root with no key and no URL
 * other than the port.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../support/temp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('quick start', () => {
  const temp = tempDir('berth-quickstart-');
  let server: ChildProcess;
  let output = '';
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const port = await freePort();
    env = {
      PATH: process.env.PATH,
      HOME: temp.dir,
      BERTH_DATA_DIR: path.join(temp.dir, 'data'),
      BERTH_PORT: String(port),
      BERTH_URL: `http://127.0.0.1:${port}`,
      NO_COLOR: '1',
    };
    server = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => /Berth is listening on/.test(output), `npm start to listen:\n${output}`, 180_000, 100);
  }, 200_000);

  afterAll(async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    temp.cleanup();
  });

  const berth = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run('npx', ['--offline', 'berth', ...args], { cwd: ROOT, env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };

  it('serves the web dashboard at the URL it prints', async () => {
    const url = /Dashboard:\s+(\S+)/.exec(output)?.[1];
    expect(url).toBe(`${env.BERTH_URL}/`);
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<div id="root"></div>');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${env.BERTH_URL}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
  });

  it('applied the example tasks', async () => {
    const r = await berth('tasks', 'ls', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).results.map((t: { name: string }) => t.name).sort()).toEqual(['fails', 'hello', 'long']);
  });

  it('`berth run hello --wait` succeeds and prints its output', async () => {
    const r = await berth('run', 'hello', '--wait');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/hello from Berth/);
  });

  it("`berth run fails --wait` exits with the task's exit code", async () => {
    const r = await berth('run', 'fails', '--wait');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/something went wrong/);
  });

  it('`berth stop` ends the long task within its grace period and records STOPPED', async () => {
    const started = await berth('run', 'long', '--json');
    expect(started.code).toBe(0);
    const uuid = JSON.parse(started.stdout).uuid as string;
    await waitFor(async () => JSON.parse((await berth('executions', 'show', uuid, '--json')).stdout).status === 'RUNNING', 'long to run');
    expect((await berth('stop', uuid, '--wait')).code).toBe(0);
    const shown = JSON.parse((await berth('executions', 'show', uuid, '--json')).stdout);
    expect(shown).toMatchObject({ status: 'STOPPED', stop_reason: 'MANUAL' });
    // The example's grace period is 5 s; it ends on SIGTERM well within it (measured by the
    // server, from the stop request to the end, so a slow CLI start does not count).
    expect(Date.parse(shown.finished_at) - Date.parse(shown.stop_requested_at)).toBeLessThan(5_000);
  });

  it('`berth run-workflow chain --wait` runs the example Workflow: the handled failure leaves it SUCCEEDED', async () => {
    const r = await berth('run-workflow', 'chain', '--wait');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const page = JSON.parse((await berth('workflow-executions', 'ls', '--workflow', 'chain', '--json')).stdout);
    const shown = JSON.parse((await berth('workflow-executions', 'show', page.results[0].uuid, '--json')).stdout);
    expect(shown.status).toBe('SUCCEEDED');
    expect(Object.fromEntries(shown.nodes.map((n: { name: string; state: string }) => [n.name, n.state]))).toEqual({
      first: 'SUCCEEDED',
      'then-fail': 'FAILED',
      recover: 'SUCCEEDED',
    });
  });
});
