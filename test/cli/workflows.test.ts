/**
 * The Workflow commands as a real subprocess against a real server: berth apply with a
 * workflows: section, berth workflows ls|show|rm, berth run-workflow [--wait], and berth
 * workflow-executions ls|show|stop|retry.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';
import { runCli, writeFile } from './cli.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
let files: ReturnType<typeof tempDir>;
let env: Record<string, string>;

const berth = (args: string[]) => runCli(args, { env });

const yaml = (marker: string) => `
run_environments:
  - name: local
    kind: local
tasks:
  - name: extract
    run_environment: local
    command: exit 0
  - name: load
    run_environment: local
    command: if [ -f ${marker} ]; then exit 0; else touch ${marker}; exit 3; fi
  - name: report
    run_environment: local
    command: exit 0
  - name: idle
    run_environment: local
    command: sleep 60
    termination_grace_period_seconds: 2
workflows:
  - name: nightly
    description: extract, load, report
    task_instances:
      - task: extract
      - task: load
        timeout_seconds: 30
      - task: report
    transitions:
      - from: extract
        to: load
        on: success
      - from: load
        to: report
        on: exit_code
        exit_codes: [0]
  - name: simple
    task_instances:
      - task: extract
  - name: sleepy
    task_instances:
      - task: idle
      - name: after
        task: report
    transitions:
      - from: idle
        to: after
        on: always
`;

beforeAll(async () => {
  t = await startTestServer();
  files = tempDir('berth-cli-wf-');
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
  const file = writeFile(files.dir, 'berth.yaml', yaml(path.join(files.dir, 'loaded-once')));
  const r = await berth(['apply', '-f', file]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('+ workflow nightly (create)');
  expect(r.stdout).toContain('+ workflow sleepy (create)');
});

afterAll(async () => {
  await t?.stop();
  files?.cleanup();
});

describe('berth apply with workflows', () => {
  it('refuses a cycle before sending anything, naming the cycle', async () => {
    const file = writeFile(
      files.dir,
      'cycle.yaml',
      `
workflows:
  - name: loop
    task_instances: [{task: extract}, {task: report}]
    transitions:
      - {from: extract, to: report, on: success}
      - {from: report, to: extract, on: failure}
`,
    );
    const r = await berth(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} is invalid (1 problem); nothing was applied`);
    expect(r.stderr).toContain('workflows[0].transitions[1]: the transitions form a cycle: extract → report → extract');
    expect((await t.request('GET', '/api/v1/workflows/loop')).status).toBe(404);
  });

  it('prints the server\'s issues about unknown Tasks', async () => {
    const file = writeFile(files.dir, 'unknown.yaml', 'workflows:\n  - name: lost\n    task_instances: [{task: nowhere}]\n');
    const r = await berth(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('workflows[0].task_instances[0].task: no Task named "nowhere"');
  });
});

describe('berth workflows', () => {
  it('ls prints a table, --json the API page', async () => {
    const r = await berth(['workflows', 'ls']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+INSTANCES\s+TRANSITIONS\s+TIMEOUT\s+UPDATED$/);
    expect(lines[1]).toMatch(/^nightly\s+1\s+3\s+2\s+-\s+/);
    const json = JSON.parse((await berth(['workflows', 'ls', '--json'])).stdout);
    expect(json.results.map((w: any) => w.name)).toEqual(['nightly', 'simple', 'sleepy']);
  });

  it('show prints instances and transitions', async () => {
    const r = await berth(['workflows', 'show', 'nightly']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Description:\s+extract, load, report$/m);
    expect(r.stdout).toMatch(/^load\s+load\s+all\s+fail_if_unhandled\s+timeout 30 s$/m);
    expect(r.stdout).toMatch(/^load\s+report\s+exit_code in \[0\]$/m);
  });

  it('rm deletes; show then fails with the API code', async () => {
    expect((await berth(['workflows', 'rm', 'simple'])).stdout).toBe('Deleted workflow simple.\n');
    const r = await berth(['workflows', 'show', 'simple']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[WORKFLOW_NOT_FOUND]');
  });
});

describe('berth run-workflow and workflow-executions', () => {
  let failedUuid: string;

  it('run-workflow --wait exits 1 when the workflow fails, with the graph and the reason', async () => {
    const r = await berth(['run-workflow', 'nightly', '--wait']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^Status:\s+FAILED$/m);
    expect(r.stdout).toMatch(/^ {2}extract\s+SUCCEEDED\s+Task extract · [0-9a-f-]{36} SUCCEEDED exit 0/m);
    expect(r.stdout).toMatch(/^ {4}└─ success → load {2}FIRED$/m);
    expect(r.stdout).toMatch(/^ {2}load\s+FAILED\s+Task load · [0-9a-f-]{36} FAILED exit 3 .* · fails the workflow$/m);
    expect(r.stdout).toMatch(/^ {4}└─ exit_code in \[0\] → report {2}NOT_FIRED$/m);
    expect(r.stdout).toMatch(/^ {2}report\s+SKIPPED\s+Task report · start: all \(0 fired, 1 not fired\)$/m);
    expect(r.stderr).toContain('nightly FAILED: "load" ended FAILED (exit code 3) and no transition handled it');
    failedUuid = /^Workflow Execution:\s+(\S+)$/m.exec(r.stdout)![1]!;
  });

  it('workflow-executions ls and show', async () => {
    const ls = await berth(['workflow-executions', 'ls', '--workflow', 'nightly', '--status', 'failed']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^${failedUuid}\\s+nightly\\s+FAILED\\s+EXPLICIT_START\\s+1\\s+`, 'm'));
    const show = await berth(['workflow-executions', 'show', failedUuid]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^Graph$/m);
    expect(show.stdout).toMatch(/^ {2}report\s+SKIPPED/m);
    const json = JSON.parse((await berth(['workflow-executions', 'show', failedUuid, '--json'])).stdout);
    expect(json.nodes.map((n: any) => n.state)).toEqual(['SUCCEEDED', 'FAILED', 'SKIPPED']);
    expect((await berth(['workflow-executions', 'ls', '--status', 'nope'])).code).toBe(2);
  });

  it('retry --wait re-runs from the failure and exits 0 when it succeeds', async () => {
    const r = await berth(['workflow-executions', 'retry', failedUuid, '--wait']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^Attempt:\s+2$/m);
    expect(r.stdout).toMatch(/^ {2}load\s+SUCCEEDED\s+Task load · [0-9a-f-]{36} SUCCEEDED exit 0 in .* \(run 2 of 2\)$/m);
    expect(r.stderr).toMatch(/nightly SUCCEEDED in /);
    const again = await berth(['workflow-executions', 'retry', failedUuid]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[WORKFLOW_EXECUTION_NOT_RETRYABLE]');
  });

  it('run-workflow without --wait prints the uuid; stop --wait stops every execution in it', async () => {
    const r = await berth(['run-workflow', 'sleepy', '-e', 'WHO=cli']);
    expect(r.code, r.stderr).toBe(0);
    const uuid = r.stdout.trim();
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.stderr).toContain(`berth workflow-executions show ${uuid}`);
    const running = await waitFor(async () => {
      const wfe = (await t.request('GET', `/api/v1/workflow_executions/${uuid}`)).body;
      return wfe.nodes[0].execution?.status === 'RUNNING' ? wfe : null;
    }, 'the idle instance to run');
    expect(running.environment).toEqual({ WHO: 'cli' });
    const stop = await berth(['workflow-executions', 'stop', uuid, '--wait']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe(`sleepy ${uuid}: STOPPED\n`);
    const execution = (await t.request('GET', `/api/v1/task_executions/${running.nodes[0].execution.uuid}`)).body;
    expect(execution.status).toBe('STOPPED');
    const again = await berth(['workflow-executions', 'stop', uuid]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('[WORKFLOW_EXECUTION_NOT_RUNNING]');
  });

  it('run-workflow --wait --json prints only the final execution; an unknown workflow is an error', async () => {
    const file = writeFile(files.dir, 'more.yaml', 'workflows:\n  - name: quick\n    task_instances: [{task: report}]\n');
    expect((await berth(['apply', '-f', file])).code).toBe(0);
    const r = await berth(['run-workflow', 'quick', '--wait', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'SUCCEEDED', workflow: { name: 'quick' } });
    const missing = await berth(['run-workflow', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[WORKFLOW_NOT_FOUND]');
  });
});
