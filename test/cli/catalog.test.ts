import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { runCli, unusedPort, writeFile } from './cli.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
let files: ReturnType<typeof tempDir>;
let env: Record<string, string>;

const berth = (args: string[], extra: Record<string, string | undefined> = {}) => runCli(args, { env: { ...env, ...extra } });

beforeAll(async () => {
  t = await startTestServer();
  files = tempDir('berth-cli-catalog-');
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
});
afterAll(async () => {
  await t?.stop();
  files?.cleanup();
});

const doc = (nightlyTimeout: number) => `
run_environments:
  - name: local
    kind: local
tasks:
  - name: hello
    run_environment: local
    command: echo hello
  - name: nightly
    run_environment: local
    command: [sh, -c, "echo nightly"]
    timeout_seconds: ${nightlyTimeout}
`;

describe('berth apply', () => {
  it('creates, then reports unchanged, then shows field diffs of an update', async () => {
    const file = writeFile(files.dir, 'berth.yaml', doc(60));
    const first = await berth(['apply', '-f', file]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+ run_environment local (create)');
    expect(first.stdout).toContain('+ task hello (create)');
    expect(first.stdout).toContain('+ task nightly (create)');
    expect(first.stdout).toContain('3 created, 0 updated, 0 unchanged');

    const again = await berth(['apply', '-f', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('= task hello (unchanged)');
    expect(again.stdout).toContain('0 created, 0 updated, 3 unchanged');

    writeFile(files.dir, 'berth.yaml', doc(120));
    const update = await berth(['apply', '-f', file]);
    expect(update.code).toBe(0);
    expect(update.stdout).toContain('~ task nightly (update)');
    expect(update.stdout).toMatch(/^ {4}timeout_seconds: 60 → 120$/m);
    expect(update.stdout).toContain('0 created, 1 updated, 2 unchanged');
    expect((await t.request('GET', '/api/v1/tasks/nightly')).body.timeout_seconds).toBe(120);
  });

  it('--dry-run shows the changes and writes nothing; --json prints the API answer', async () => {
    const file = writeFile(files.dir, 'dry.yaml', doc(300));
    const dry = await berth(['apply', '-f', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('~ task nightly (update)');
    expect(dry.stdout).toContain('timeout_seconds: 120 → 300');
    expect(dry.stdout).toMatch(/would update 1/);
    expect((await t.request('GET', '/api/v1/tasks/nightly')).body.timeout_seconds).toBe(120);

    const json = await berth(['apply', '-f', file, '--dry-run', '--json']);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(body.dry_run).toBe(true);
    expect(body.changes).toContainEqual({
      kind: 'task',
      name: 'nightly',
      action: 'update',
      fields: [{ field: 'timeout_seconds', before: 120, after: 300 }],
    });
  });

  it('reports a YAML syntax error as FILE:line:col', async () => {
    const file = writeFile(files.dir, 'syntax.yaml', 'tasks:\n  - name: x\n    command: [unclosed\n');
    const r = await berth(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: ${escape(file)}:\\d+:\\d+: `, 'm'));
  });

  it('validates locally: bad fields are printed with their path and nothing reaches the server', async () => {
    const file = writeFile(
      files.dir,
      'invalid.yaml',
      `tasks:
  - name: brand-new
    run_environment: local
    command: echo new
  - name: bad
    run_environment: local
    command: echo bad
    timeout_seconds: -5
    colour: blue
`,
    );
    // An unreachable URL proves the CLI did not even try the server.
    const r = await berth(['apply', '-f', file], { BERTH_URL: `http://127.0.0.1:${await unusedPort()}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: tasks[1].timeout_seconds: `);
    expect(r.stderr).toContain(`${file}: tasks[1].colour: unknown field`);
    expect(r.stderr).not.toContain('cannot reach');
    expect((await t.request('GET', '/api/v1/tasks/brand-new')).status).toBe(404);
  });

  it('prints the server\'s CONFIG_INVALID issues the same way', async () => {
    const file = writeFile(files.dir, 'no-env.yaml', 'tasks:\n  - name: orphan\n    run_environment: nowhere\n    command: echo\n');
    const r = await berth(['apply', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: tasks[0].run_environment: no Run Environment named "nowhere"`);
    expect((await t.request('GET', '/api/v1/tasks/orphan')).status).toBe(404);
  });

  it('a reporter key cannot apply: INSUFFICIENT_SCOPE', async () => {
    const created = await t.request('POST', '/api/v1/api_keys', { name: 'reporter-1', scope: 'reporter' });
    expect(created.status).toBe(201);
    const file = writeFile(files.dir, 'reporter.yaml', doc(60));
    const r = await berth(['apply', '-f', file], { BERTH_API_KEY: created.body.key });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: This needs a developer key.*\[INSUFFICIENT_SCOPE\]$/m);
    expect(r.stderr).not.toContain(created.body.key);
  });
});

describe('tasks and run environments', () => {
  it('tasks ls prints an aligned table, and --json the API page', async () => {
    const r = await berth(['tasks', 'ls']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+RUN ENVIRONMENT\s+ENABLED\s+COMMAND\s+TIMEOUT\s+RETRIES\s+SCHEDULE$/);
    const hello = lines.find((l) => l.startsWith('hello '));
    expect(hello).toMatch(/^hello\s+local\s+yes\s+echo hello\s+-\s+0\s+-$/);
    // Columns line up: RUN ENVIRONMENT starts at the same place on every line.
    const at = lines[0]!.indexOf('RUN ENVIRONMENT');
    for (const line of lines.slice(1)) expect(line.slice(at, at + 5)).toBe('local');

    const json = await berth(['tasks', 'ls', '--json', '--search', 'hell']);
    const page = JSON.parse(json.stdout);
    expect(page.count).toBe(1);
    expect(page.results[0].name).toBe('hello');
    expect(Object.keys(page)).toEqual(['count', 'next', 'previous', 'results']);
  });

  it('tasks show prints every setting; --json the API resource', async () => {
    const r = await berth(['tasks', 'show', 'nightly']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+nightly$/m);
    expect(r.stdout).toMatch(/^Command:\s+sh -c 'echo nightly'/m);
    expect(r.stdout).toMatch(/^Timeout:\s+2 min \(120 s\)$/m);
    expect(r.stdout).toMatch(/^Run Environment:\s+local$/m);
    const json = JSON.parse((await berth(['tasks', 'show', 'nightly', '--json'])).stdout);
    expect(json).toEqual((await t.request('GET', '/api/v1/tasks/nightly')).body);

    const missing = await berth(['tasks', 'show', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: No Task named or with uuid "nope"');
  });

  it('run-environments ls/show (alias envs)', async () => {
    const [ls, show, json] = await Promise.all([
      berth(['run-environments', 'ls']),
      berth(['envs', 'show', 'local']),
      berth(['envs', 'ls', '--json']),
    ]);
    expect(ls.stdout).toMatch(/^NAME\s+KIND/);
    expect(ls.stdout).toMatch(/^local\s+local\s/m);
    expect(show.stdout).toMatch(/^Kind:\s+local$/m);
    expect(JSON.parse(json.stdout).results[0].name).toBe('local');
  });

  it('tasks rm deletes a task', async () => {
    expect((await t.request('POST', '/api/v1/tasks', { name: 'doomed', run_environment: 'local', command: 'true' })).status).toBe(201);
    const r = await berth(['tasks', 'rm', 'doomed']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Deleted task doomed.');
    expect((await t.request('GET', '/api/v1/tasks/doomed')).status).toBe(404);
  });
});

describe('berth keys', () => {
  it('creates a key (shown once), lists it, revokes it; the revoked key is then refused', async () => {
    const created = await berth(['keys', 'create', 'ci', '--scope', 'developer']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^berth_[0-9a-f]{8}_\S+$/);
    expect(created.stderr).toMatch(/not shown again/);

    const works = await berth(['tasks', 'ls'], { BERTH_API_KEY: key });
    expect(works.code).toBe(0);

    const list = await berth(['keys', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+SCOPE\s+PREFIX/);
    expect(list.stdout).toMatch(/^ci\s+developer\s+berth_[0-9a-f]{8}\s.*active$/m);
    expect(list.stdout).not.toContain(key);

    const revoked = await berth(['keys', 'revoke', 'ci']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('Revoked API key "ci"');

    const refused = await berth(['tasks', 'ls'], { BERTH_API_KEY: key });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error: This API key was revoked. [UNAUTHENTICATED]');
    const listed = JSON.parse((await berth(['keys', 'ls', '--json'])).stdout);
    expect(listed.results.find((k: { name: string }) => k.name === 'ci').revoked_at).not.toBeNull();
  });
});

describe('settings and errors', () => {
  it('says how to fix an unreachable server', async () => {
    const url = `http://127.0.0.1:${await unusedPort()}`;
    const r = await berth(['tasks', 'ls'], { BERTH_URL: url });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot reach Berth at ${url} — is \`berth server\` running? (set BERTH_URL or --url)\n`);
  });

  it('--url wins over BERTH_URL; the config file gives url and api_key', async () => {
    const viaFlag = await berth(['tasks', 'ls', '--url', t.server.url], { BERTH_URL: 'http://127.0.0.1:1' });
    expect(viaFlag.code).toBe(0);
    const config = writeFile(files.dir, 'config.yaml', `url: ${t.server.url}\napi_key: ${TEST_ADMIN_KEY}\n`);
    const viaFile = await berth(['tasks', 'ls'], { BERTH_URL: undefined, BERTH_API_KEY: undefined, BERTH_CONFIG: config });
    expect(viaFile.stderr).toBe('');
    expect(viaFile.code).toBe(0);
  });

  it('a bad config file is an error naming the file and the field', async () => {
    const config = writeFile(files.dir, 'bad-config.yaml', 'url: not a url\napi_key: 12\n');
    const r = await berth(['tasks', 'ls'], { BERTH_URL: undefined, BERTH_API_KEY: undefined, BERTH_CONFIG: config });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: invalid config file ${config}`);
    expect(r.stderr).toContain(`${config}: url: must be an http:// or https:// URL`);
    expect(r.stderr).toContain(`${config}: api_key: must be a string`);
  });

  it('without a key the server answers UNAUTHENTICATED and the CLI says what to set', async () => {
    const r = await berth(['tasks', 'ls'], { BERTH_API_KEY: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: This needs an API key.*BERTH_API_KEY.*\[UNAUTHENTICATED\]$/m);
  });

  it('usage errors exit 2', async () => {
    const results = await Promise.all([
      berth(['apply']),
      berth(['tasks', 'ls', '--limit', '0']),
      berth(['run', 'hello', '--env', '1X=2']),
      berth(['run', 'hello', '--input', '{oops']),
      berth(['executions', 'ls', '--status', 'RUNNING,NOPE']),
      berth(['logs', 'not-a-uuid']),
      berth(['keys', 'create', 'x', '--scope', 'root']),
      berth(['no-such-command']),
      berth(['tasks', 'show']),
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error: /m);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(results[2]!.stderr).toContain('"1X" is not a valid environment variable name');
    expect(results[4]!.stderr).toContain('unknown status "NOPE"');
    const help = await berth(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
