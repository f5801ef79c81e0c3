/**
 * Notifications end to end, against real receivers started here: an HTTP server standing in for
 * a webhook receiver, Slack and PagerDuty, and an SMTP server with STARTTLS and AUTH. Tasks are
 * real local processes; the server is a real one on SQLite.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, startSmtpReceiver } from '../support/receivers.js';
import type { HttpReceiver, SmtpReceiver } from '../support/receivers.js';
import { startTestServer } from '../support/server.js';
import { tempDir, waitFor } from '../support/temp.js';
import { ok } from '../support/fake-clock.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const HOOK_SECRET = 'whsec-0f9e8d7c6b5a4938';
const SLACK_PATH = '/slack/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXX';
const PD_KEY = 'R0UT1NGKEY0000000000000000000042';
const SMTP_USER = 'berth-mailer';
const SMTP_PASSWORD = 's3cret-smtp-pa55';
const PUBLIC_URL = 'https://berth.example.com';


/** Checks `X-Berth-Signature: t=…,v1=…` against the body with the shared secret. */
function signatureValid(header: string | string[] | undefined, body: string, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe('notifications from local Tasks (SQLite, real receivers)', () => {
  const data = tempDir('berth-notify-');
  let t: TestServer;
  let http: HttpReceiver;
  let smtp: SmtpReceiver;
  /** Everything the server logged, to check that no secret is ever in it. */
  const logged: string[] = [];

  beforeAll(async () => {
    http = await startHttpReceiver();
    smtp = await startSmtpReceiver(data.dir, { user: SMTP_USER, password: SMTP_PASSWORD });
    const capture = (level: string) => (message: string, fields?: Record<string, unknown>) =>
      logged.push(`${level} ${message} ${JSON.stringify(fields ?? {}, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack, cause: String(v.cause) } : v))}`);
    const logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error'), child: () => logger } as any;
    t = await startTestServer(
      { notifierIntervalMs: 50, publicUrl: PUBLIC_URL, logLevel: 'debug' },
      { logger, hostEnvironment: { SMTP_PASSWORD } },
    );
    await ok(t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' }));
  });
  afterAll(async () => {
    await t?.stop();
    await http?.stop();
    await smtp?.stop();
    data.cleanup();
  });

  const profile = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    methods: [
      { name: 'hook', type: 'webhook', url: `${http.url}/hook/${name}`, secret: { value: HOOK_SECRET } },
      { name: 'slack', type: 'slack', webhook_url: { value: `${http.url}${SLACK_PATH}/${name}` } },
      {
        name: 'mail',
        type: 'email',
        host: smtp.host,
        port: smtp.port,
        security: 'starttls',
        username: SMTP_USER,
        password: 'ENV:SMTP_PASSWORD',
        ca_file: smtp.caFile,
        from: 'berth@example.com',
        to: [`oncall+${name}@example.com`],
      },
      { name: 'pager', type: 'pagerduty', routing_key: { value: PD_KEY }, events_url: `${http.url}/pagerduty/${name}` },
    ],
    ...extra,
  });

  const run = async (task: string, mode: 'ok' | 'fail') => {
    const started = await ok(t.request('POST', '/api/v1/task_executions/', { task, environment: { MODE: mode } }));
    return waitFor(async () => {
      const e = await ok(t.request('GET', `/api/v1/task_executions/${started.uuid}`));
      return ['SUCCEEDED', 'FAILED'].includes(e.status) ? e : null;
    }, `execution of ${task} to end`);
  };
  /** Waits until the notifier has routed every event of the Task (each has its incident, or none to resolve). */
  const routed = async (task: string, count: number) =>
    waitFor(async () => {
      const page = await ok(t.request('GET', `/api/v1/events?task=${task}&limit=100`));
      if (page.count < count) return null;
      const shown = await Promise.all(page.results.map((e: any) => ok(t.request('GET', `/api/v1/events/${e.uuid}`))));
      return shown.every((e: any) => e.incident !== null || e.type === 'RESOLVED') && shown.every((e: any) => e.deliveries.every((d: any) => d.status === 'delivered'))
        ? page
        : null;
    }, `${count} routed and delivered events of ${task}`);

  it('a failure notifies each method once, ten failures stay one incident, and the next success resolves it once per method', async () => {
    await ok(t.request('POST', '/api/v1/notification_profiles/', profile('team')));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'flaky', run_environment: 'local', command: 'echo working; test "$MODE" = ok', notification_profiles: ['team'] }));

    const first = await run('flaky', 'fail');
    expect(first.status).toBe('FAILED');
    const [hook] = await http.waitFor('/hook/team', 1);
    const [slack] = await http.waitFor(`${SLACK_PATH}/team`, 1);
    const [pd] = await http.waitFor('/pagerduty/team', 1);
    const [mail] = await smtp.waitFor(1);

    // Webhook: JSON naming the Task, the execution and the reason, signed with the secret.
    expect(signatureValid(hook!.headers['x-berth-signature'], hook!.body, HOOK_SECRET)).toBe(true);
    expect(signatureValid(hook!.headers['x-berth-signature'], hook!.body, 'another-secret')).toBe(false);
    expect(hook!.headers['x-berth-event']).toBe('EXECUTION_FAILED');
    expect(hook!.json).toMatchObject({
      version: 1,
      action: 'trigger',
      event: { type: 'EXECUTION_FAILED', severity: 'error', grouping_key: 'failure' },
      task: { name: 'flaky' },
      task_execution: { uuid: first.uuid, url: `${PUBLIC_URL}/executions/${first.uuid}`, api_url: `${PUBLIC_URL}/api/v1/task_executions/${first.uuid}/` },
      incident: { event_count: 1 },
      profile: 'team',
      method: 'hook',
    });
    expect(hook!.json.event.message).toContain('exited with code 1');

    // Slack: an incoming-webhook message, text plus blocks, with a button to the execution.
    expect(slack!.json.text).toContain('EXECUTION_FAILED: Task "flaky"');
    expect(Array.isArray(slack!.json.blocks)).toBe(true);
    expect(slack!.json.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    const button = slack!.json.blocks.find((b: any) => b.type === 'actions').elements[0];
    expect(button).toMatchObject({ type: 'button', url: `${PUBLIC_URL}/executions/${first.uuid}` });

    // PagerDuty Events API v2: a trigger with the routing key, a dedup key and a valid payload.
    expect(pd!.json).toMatchObject({
      routing_key: PD_KEY,
      event_action: 'trigger',
      dedup_key: expect.stringMatching(/^berth-incident-/),
      payload: { source: 'flaky', severity: 'error', class: 'EXECUTION_FAILED', timestamp: expect.any(String) },
    });
    expect(pd!.json.payload.summary.length).toBeLessThanOrEqual(1024);
    expect(pd!.json.payload.summary).toContain('flaky');

    // E-mail: over STARTTLS, authenticated, naming the Task, the execution and the reason.
    expect(mail).toMatchObject({ secure: true, user: SMTP_USER, to: ['oncall+team@example.com'], from: 'berth@example.com' });
    expect(mail!.subject).toContain('Task "flaky"');
    expect(mail!.subject).toContain(first.uuid);
    expect(mail!.subject).toContain('exited with code 1');
    expect(mail!.text).toContain(`Execution:   ${first.uuid}`);
    expect(mail!.text).toContain('exited with code 1');
    expect(mail!.text).toContain(`Open the execution: ${PUBLIC_URL}/executions/${first.uuid}`);

    // Nine more failures: the same incident, nothing more sent.
    for (let i = 0; i < 9; i++) expect((await run('flaky', 'fail')).status).toBe('FAILED');
    const page = await routed('flaky', 10);
    const failures = page.results.filter((e: any) => e.type === 'EXECUTION_FAILED');
    expect(failures).toHaveLength(10);
    expect(new Set(failures.map((e: any) => e.incident.uuid)).size).toBe(1);
    const incident = (await ok(t.request('GET', `/api/v1/events/${failures[0].uuid}`))).incident;
    expect(incident).toMatchObject({ event_count: 10, resolved_at: null, grouping_key: 'failure', subject: { kind: 'task', name: 'flaky' } });
    expect(http.requests('/hook/team')).toHaveLength(1);
    expect(http.requests(`${SLACK_PATH}/team`)).toHaveLength(1);
    expect(http.requests('/pagerduty/team')).toHaveLength(1);
    expect(smtp.mails()).toHaveLength(1);

    // A success resolves it: one resolve per method.
    expect((await run('flaky', 'ok')).status).toBe('SUCCEEDED');
    const hooks = await http.waitFor('/hook/team', 2);
    const slacks = await http.waitFor(`${SLACK_PATH}/team`, 2);
    const pds = await http.waitFor('/pagerduty/team', 2);
    const mails = await smtp.waitFor(2);
    expect(hooks[1]!.json).toMatchObject({ action: 'resolve', event: { type: 'RESOLVED', grouping_key: 'failure' }, incident: { uuid: incident.uuid } });
    expect(signatureValid(hooks[1]!.headers['x-berth-signature'], hooks[1]!.body, HOOK_SECRET)).toBe(true);
    expect(slacks[1]!.json.text).toContain('RESOLVED');
    expect(pds[1]!.json).toEqual({ routing_key: PD_KEY, event_action: 'resolve', dedup_key: pd!.json.dedup_key });
    expect(mails[1]!.subject).toContain('RESOLVED');
    const resolvedEvents = await ok(t.request('GET', '/api/v1/events?task=flaky&type=RESOLVED'));
    expect(resolvedEvents.count).toBe(1);
    const resolved = await ok(t.request('GET', `/api/v1/events/${resolvedEvents.results[0].uuid}`));
    expect(resolved.incident).toMatchObject({ uuid: incident.uuid, resolved_at: expect.any(String) });

    // Another success: nothing open, nothing sent.
    expect((await run('flaky', 'ok')).status).toBe('SUCCEEDED');
    await routed('flaky', 11);
    const passes = t.server.loopStats().notifier.passes;
    await waitFor(() => t.server.loopStats().notifier.passes >= passes + 3, 'three notifier passes');
    expect(http.requests('/hook/team')).toHaveLength(2);
    expect((await ok(t.request('GET', '/api/v1/events?task=flaky&type=RESOLVED'))).count).toBe(1);
  });

  it('postponement: notify_after_failures 3 tells no one about the first two failures, once about the third', async () => {
    await ok(t.request('POST', '/api/v1/notification_profiles/', {
      name: 'patient',
      notify_after_failures: 3,
      methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/hook/patient`, secret: { value: HOOK_SECRET } }],
    }));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'wobbly', run_environment: 'local', command: 'test "$MODE" = ok', notification_profiles: ['patient'] }));
    await run('wobbly', 'fail');
    await run('wobbly', 'fail');
    await routed('wobbly', 2);
    expect(http.requests('/hook/patient')).toHaveLength(0);
    await run('wobbly', 'fail');
    const [hook] = await http.waitFor('/hook/patient', 1);
    expect(hook!.json).toMatchObject({ action: 'trigger', incident: { event_count: 3 } });
    for (let i = 0; i < 3; i++) await run('wobbly', 'fail');
    await routed('wobbly', 6);
    expect(http.requests('/hook/patient')).toHaveLength(1);
    await run('wobbly', 'ok');
    const hooks = await http.waitFor('/hook/patient', 2);
    expect(hooks[1]!.json.action).toBe('resolve');

    // A failure then a success before the count is reached: nothing at all.
    await run('wobbly', 'fail');
    await run('wobbly', 'ok');
    // 7 failures and 2 RESOLVED events.
    await routed('wobbly', 9);
    expect(http.requests('/hook/patient')).toHaveLength(2);
  });

  it('profiles are inherited from the Run Environment, and an explicit [] on the Task turns them off', async () => {
    await ok(t.request('POST', '/api/v1/notification_profiles/', {
      name: 'env-wide',
      methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/hook/env-wide` }],
    }));
    await ok(t.request('POST', '/api/v1/run_environments/', { name: 'watched', kind: 'local', notification_profiles: ['env-wide'] }));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'inherits', run_environment: 'watched', command: 'exit 4' }));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'opted-out', run_environment: 'watched', command: 'exit 5', notification_profiles: [] }));
    await run('opted-out', 'fail');
    await run('inherits', 'fail');
    const [hook] = await http.waitFor('/hook/env-wide', 1);
    expect(hook!.json.task.name).toBe('inherits');
    expect(hook!.headers['x-berth-signature']).toBeUndefined();
    await routed('opted-out', 1);
    expect(http.requests('/hook/env-wide')).toHaveLength(1);

    // A timeout is its own event type, in the same failure incident of its Task.
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'slow', run_environment: 'watched', command: 'sleep 30', timeout_seconds: 1, termination_grace_period_seconds: 1 }));
    const started = await ok(t.request('POST', '/api/v1/task_executions/', { task: 'slow' }));
    const hook2 = await waitFor(() => http.requests('/hook/env-wide').find((r) => r.json.task?.name === 'slow'), 'the timeout notification', 30_000);
    expect(hook2.json).toMatchObject({ event: { type: 'EXECUTION_TIMED_OUT', grouping_key: 'failure', details: { status: 'TERMINATED_AFTER_TIME_OUT' } }, task_execution: { uuid: started.uuid } });
  });

  it('a Workflow\'s profiles hear about its failures and about its Tasks\' failures; its success resolves them', async () => {
    await ok(t.request('POST', '/api/v1/notification_profiles/', { name: 'wf-team', methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/hook/wf-team` }] }));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'wf-step', run_environment: 'local', command: 'test "$MODE" = ok' }));
    await ok(t.request('POST', '/api/v1/workflows/', { name: 'pipeline', task_instances: [{ task: 'wf-step' }], notification_profiles: ['wf-team'] }));
    const runWorkflow = async (mode: string) => {
      const started = await ok(t.request('POST', '/api/v1/workflow_executions/', { workflow: 'pipeline', environment: { MODE: mode } }));
      return waitFor(async () => {
        const e = await ok(t.request('GET', `/api/v1/workflow_executions/${started.uuid}`));
        return ['SUCCEEDED', 'FAILED'].includes(e.status) ? e : null;
      }, 'the workflow execution to end');
    };
    const failed = await runWorkflow('fail');
    expect(failed.status).toBe('FAILED');
    const hooks = await http.waitFor('/hook/wf-team', 2);
    const byType = Object.fromEntries(hooks.map((h) => [h.json.event.type, h.json]));
    expect(byType.EXECUTION_FAILED).toMatchObject({ action: 'trigger', task: { name: 'wf-step' } });
    expect(byType.WORKFLOW_FAILED).toMatchObject({ action: 'trigger', workflow: { name: 'pipeline' }, workflow_execution: { uuid: failed.uuid }, task: null });
    expect((await runWorkflow('ok')).status).toBe('SUCCEEDED');
    const all = await http.waitFor('/hook/wf-team', 4);
    expect(all.slice(2).map((h) => [h.json.action, h.json.workflow?.name ?? h.json.task?.name]).sort()).toEqual([
      ['resolve', 'pipeline'],
      ['resolve', 'wf-step'],
    ]);
  });

  it('an execution whose process vanished ends ABANDONED and raises EXECUTION_ABANDONED to its profiles', async () => {
    await ok(t.request('POST', '/api/v1/notification_profiles/', { name: 'lost-team', methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/hook/lost-team` }] }));
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'vanishes', run_environment: 'local', command: 'sleep 300', notification_profiles: ['lost-team'] }));
    const started = await ok(t.request('POST', '/api/v1/task_executions/', { task: 'vanishes' }));
    const running = await waitFor(async () => {
      const e = await ok(t.request('GET', `/api/v1/task_executions/${started.uuid}`));
      return e.status === 'RUNNING' && e.executor?.details?.runner_pid ? e : null;
    }, 'the execution to run');
    // Its runner is killed outright: how the command ended can no longer be known.
    process.kill(running.executor.details.runner_pid as number, 'SIGKILL');
    const [hook] = await http.waitFor('/hook/lost-team', 1);
    expect(hook!.json).toMatchObject({ action: 'trigger', event: { type: 'EXECUTION_ABANDONED' }, task: { name: 'vanishes' } });
    expect(await ok(t.request('GET', `/api/v1/task_executions/${started.uuid}`))).toMatchObject({ status: 'ABANDONED', failure: { type: 'LOST' } });
  });

  it('refuses bad profiles with messages that say what to fix, and never returns or logs a secret', async () => {
    const bad = async (body: unknown) => {
      const r = await t.request('POST', '/api/v1/notification_profiles/', body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      return r.body.error;
    };
    const hookUrl = await bad({ name: 'x', methods: [{ name: 'h', type: 'webhook', url: 'not a url' }] });
    expect(hookUrl.code).toBe('VALIDATION_FAILED');
    expect(hookUrl.message).toContain('methods[0].url');
    expect(hookUrl.message).toContain('is not a valid URL');
    const ftp = await bad({ name: 'x', methods: [{ name: 'h', type: 'webhook', url: 'ftp://example.com/x' }] });
    expect(ftp.message).toContain('must be an http:// or https:// URL');
    const port = await bad({ name: 'x', methods: [{ name: 'm', type: 'email', host: 'smtp.example.com', port: 70000, from: 'a@example.com', to: ['b@example.com'] }] });
    expect(port.message).toContain('methods[0].port');
    expect(port.message).toContain('between 1 and 65535');
    const unknownMethod = await bad({
      name: 'x',
      methods: [{ name: 'h', type: 'webhook', url: 'https://example.com/h' }],
      rules: [{ events: ['EXECUTION_FAILED'], methods: ['h', 'pager'] }],
    });
    expect(unknownMethod.message).toContain('rules[0].methods[1]');
    expect(unknownMethod.message).toContain('no method named "pager" in this profile');
    const unknownType = await bad({ name: 'x', methods: [{ name: 's', type: 'sms', number: '+15550100' }] });
    expect(unknownType.message).toContain('type must be one of: webhook, slack, email, pagerduty');
    const plainSecret = await bad({ name: 'x', methods: [{ name: 's', type: 'slack', webhook_url: 'https://hooks.slack.com/services/T/B/C' }] });
    expect(plainSecret.message).toContain('methods[0].webhook_url');
    expect(plainSecret.message).toContain('{value: "…"}');
    const keep = await bad({ name: 'brand-new', methods: [{ name: 's', type: 'slack', webhook_url: { secret_set: true } }] });
    expect(keep.message).toContain('has none stored');
    const unknownProfile = await t.request('POST', '/api/v1/tasks/', { name: 'orphan', run_environment: 'local', command: 'true', notification_profiles: ['nobody'] });
    expect(unknownProfile.status).toBe(400);
    expect(unknownProfile.body.error.message).toContain('no Notification Profile named "nobody"');
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'step-of-orphan', run_environment: 'local', command: 'true' }));
    const unknownWorkflowProfile = await t.request('POST', '/api/v1/workflows/', {
      name: 'orphan-flow',
      task_instances: [{ task: 'step-of-orphan' }],
      notification_profiles: ['nobody'],
    });
    expect(unknownWorkflowProfile.status).toBe(400);
    expect(unknownWorkflowProfile.body.error.code).toBe('VALIDATION_FAILED');
    expect(unknownWorkflowProfile.body.error.message).toContain('no Notification Profile named "nobody"');
    expect((await t.request('GET', '/api/v1/workflows/orphan-flow')).status).toBe(404);

    // Secrets: never in a response, never in the logs.
    const listed = await ok(t.request('GET', '/api/v1/notification_profiles/'));
    const shown = await ok(t.request('GET', '/api/v1/notification_profiles/team'));
    expect(shown.methods.find((m: any) => m.name === 'hook').secret).toEqual({ secret_set: true });
    expect(shown.methods.find((m: any) => m.name === 'mail').password).toEqual({ secret_set: true, reference: 'ENV:SMTP_PASSWORD' });
    expect(shown.methods.find((m: any) => m.name === 'slack').webhook_url).toEqual({ secret_set: true });
    // Sending back what the API showed keeps the stored secrets.
    const again = await ok(t.request('POST', '/api/v1/notification_profiles/', { ...shown, uuid: undefined, created_at: undefined, updated_at: undefined }));
    expect(again.methods.find((m: any) => m.name === 'pager').routing_key).toEqual({ secret_set: true });
    const tested = await ok(t.request('POST', '/api/v1/notification_profiles/team/test'));
    expect(tested.results.map((r: any) => [r.method, r.ok])).toEqual([
      ['hook', true],
      ['slack', true],
      ['mail', true],
      ['pager', true],
    ]);
    const lastHook = http.requests('/hook/team').at(-1)!;
    expect(lastHook.json.action).toBe('test');
    expect(signatureValid(lastHook.headers['x-berth-signature'], lastHook.body, HOOK_SECRET)).toBe(true);

    const events = await ok(t.request('GET', '/api/v1/events?limit=200'));
    const eventPages = await Promise.all(events.results.map((e: any) => ok(t.request('GET', `/api/v1/events/${e.uuid}`))));
    expect(eventPages.some((e: any) => e.deliveries.length > 0)).toBe(true);
    const everything = JSON.stringify([listed, shown, again, tested, events, eventPages]) + logged.join('\n');
    for (const secret of [HOOK_SECRET, PD_KEY, SMTP_PASSWORD, SLACK_PATH]) expect(everything).not.toContain(secret);
    // Nor in the database file in plain text.
    const db = fs.readFileSync(`${t.dir}/berth.sqlite`).toString('latin1') + (fs.existsSync(`${t.dir}/berth.sqlite-wal`) ? fs.readFileSync(`${t.dir}/berth.sqlite-wal`).toString('latin1') : '');
    for (const secret of [HOOK_SECRET, PD_KEY, SLACK_PATH]) expect(db).not.toContain(secret);
    expect(fs.statSync(`${t.dir}/encryption.key`).mode & 0o777).toBe(0o600);
  });
});
