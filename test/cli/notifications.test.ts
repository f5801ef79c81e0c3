/**
 * The notification commands as subprocesses against a real server and real receivers:
 * `berth apply` with notification_profiles, `berth notification-profiles ls|show`, `berth notify test`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver } from '../support/receivers.js';
import type { HttpReceiver } from '../support/receivers.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import { runCli, writeFile } from './cli.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
let http: HttpReceiver;
let files: ReturnType<typeof tempDir>;
let env: Record<string, string>;

const berth = (args: string[]) => runCli(args, { env });
const SLACK_URL_PATH = '/slack/T0/B0/abcdefSECRETpath';

beforeAll(async () => {
  http = await startHttpReceiver();
  t = await startTestServer({ notifierIntervalMs: 50 });
  files = tempDir('berth-cli-notify-');
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
});
afterAll(async () => {
  await t?.stop();
  await http?.stop();
  files?.cleanup();
});

const doc = (webhookPath: string) => `
notification_profiles:
  - name: oncall
    description: Data team on-call
    min_severity: error
    notify_after_failures: 2
    methods:
      - name: hook
        type: webhook
        url: ${http.url}${webhookPath}
        secret: {value: "apply-hook-secret"}
      - name: chat
        type: slack
        webhook_url: {value: "${http.url}${SLACK_URL_PATH}"}
    rules:
      - {events: [EXECUTION_FAILED, EXECUTION_TIMED_OUT], methods: [hook, chat]}
      - {events: [MISSING_HEARTBEAT], methods: [hook]}
run_environments:
  - name: local
    kind: local
    notification_profiles: [oncall]
tasks:
  - name: report
    run_environment: local
    command: echo report
`;

describe('notification commands', () => {
  it('berth apply creates profiles before the objects that name them, and shows diffs without secrets', async () => {
    const file = writeFile(files.dir, 'berth.yaml', doc('/hook'));
    const first = await berth(['apply', '-f', file]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+ notification_profile oncall (create)');
    expect(first.stdout).toContain('+ run_environment local (create)');

    // Inline secrets are compared with the stored ones, so an unchanged file changes nothing.
    const same = await berth(['apply', '-f', file, '--dry-run']);
    expect(same.stdout).toContain('= notification_profile oncall (unchanged)');
    writeFile(files.dir, 'berth.yaml', doc('/hook2'));
    const dry = await berth(['apply', '-f', file, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).not.toContain('apply-hook-secret');
    expect(dry.stdout).not.toContain('SECRETpath');
    const change = JSON.parse(dry.stdout).changes.find((c: any) => c.kind === 'notification_profile');
    expect(change.action).toBe('update');
    expect(change.fields.map((f: any) => f.field)).toEqual(['methods']);

    const unknown = writeFile(files.dir, 'bad.yaml', 'tasks:\n  - {name: t, run_environment: local, command: "true", notification_profiles: [oncal]}\n');
    const bad = await berth(['apply', '-f', unknown]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('tasks[0].notification_profiles[0]');
    expect(bad.stderr).toContain('no Notification Profile named "oncal"');
  });

  it('berth notification-profiles ls and show describe profiles without their secrets', async () => {
    const ls = await berth(['notification-profiles', 'ls']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^NAME\s+ENABLED\s+METHODS\s+MIN SEVERITY/m);
    expect(ls.stdout).toMatch(/^oncall\s+yes\s+hook \(webhook\), chat \(slack\)\s+error/m);
    const show = await berth(['profiles', 'show', 'oncall']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('hook (webhook): ' + http.url + '/hook, signed');
    expect(show.stdout).toContain('chat (slack): webhook URL (secret set)');
    expect(show.stdout).toContain('EXECUTION_FAILED, EXECUTION_TIMED_OUT ≥ error → hook, chat');
    expect(show.stdout).toContain('after 2 failures');
    const json = await berth(['profiles', 'show', 'oncall', '--json']);
    expect(JSON.parse(json.stdout).methods[1].webhook_url).toEqual({ secret_set: true });
    for (const out of [ls.stdout, show.stdout, json.stdout]) {
      expect(out).not.toContain('apply-hook-secret');
      expect(out).not.toContain('SECRETpath');
    }
    const missing = await berth(['profiles', 'show', 'nobody']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('No Notification Profile named or with uuid "nobody"');
  });

  it('berth notify test sends through every method and prints each result; a failing one makes it exit 1', async () => {
    http.answer('/hook', 200);
    const good = await berth(['notify', 'test', 'oncall']);
    expect(good.stderr).toContain('All 2 method(s) of "oncall" delivered.');
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^METHOD\s+TYPE\s+RESULT\s+STATUS\s+TIME\s+ERROR$/m);
    expect(good.stdout).toMatch(/^hook\s+webhook\s+delivered\s+200\s+\d+ ms\s+-$/m);
    expect(good.stdout).toMatch(/^chat\s+slack\s+delivered\s+200/m);
    expect(http.requests(SLACK_URL_PATH).at(-1)!.json.text).toContain('Test notification from Berth');

    http.answer('/hook', 503, 'maintenance');
    const bad = await berth(['notify', 'test', 'oncall', '--json']);
    expect(bad.code).toBe(1);
    const answer = JSON.parse(bad.stdout);
    expect(answer.ok).toBe(false);
    expect(answer.results).toEqual([
      expect.objectContaining({ method: 'hook', type: 'webhook', ok: false, status: 503, error: expect.stringContaining('answered HTTP 503: maintenance') }),
      expect.objectContaining({ method: 'chat', type: 'slack', ok: true, status: 200 }),
    ]);
  });
});
