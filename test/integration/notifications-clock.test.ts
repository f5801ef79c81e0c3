/**
 * Notifications that depend on time, with a fake clock (no sleeps that guess): missing heartbeats
 * and missed scheduled runs notified when they are due and not before, a receiver that is down
 * or answers 500 retried with backoff (visible in `berth events show`) while the server keeps
 * working, postponement by time, rate limits. The clock moves only when a test says so; the
 * loops run every 50 ms of real time. Last, two servers on one PostgreSQL database (real clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/cli.js';
import { dropSchema, freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../support/postgres.js';
import { startHttpReceiver } from '../support/receivers.js';
import type { HttpReceiver } from '../support/receivers.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { waitFor } from '../support/temp.js';
import { FakeClock, ok as expectOk } from '../support/fake-clock.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const SECOND = 1000;
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const ok = (reply: Promise<{ status: number; body: any }>, statuses = [200, 201, 204]) => expectOk(reply, statuses);

describe('notifications over time (fake clock, SQLite)', () => {
  const clock = new FakeClock(Math.floor(Date.now() / SECOND) * SECOND);
  let t: TestServer;
  let http: HttpReceiver;

  /** Resolves after `n` whole passes of both the liveness checker and the notifier that started after this call. */
  const passes = async (n = 2) => {
    const stats = () => t.server.loopStats();
    const l = stats().liveness.passes;
    const p = stats().notifier.passes;
    await waitFor(() => stats().liveness.passes >= l + n + 1 && stats().notifier.passes >= p + n + 1, `${n} liveness and notifier passes`);
  };

  beforeAll(async () => {
    http = await startHttpReceiver();
    t = await startTestServer({ livenessIntervalMs: 50, notifierIntervalMs: 50, schedulerIntervalMs: 50, publicUrl: 'https://berth.example.com' }, { clock });
    await ok(t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' }));
    await ok(
      t.request('POST', '/api/v1/notification_profiles/', {
        name: 'ops',
        methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/ops`, secret: { value: 'ops-secret-value' } }],
      }),
    );
  });
  afterAll(async () => {
    await t?.stop();
    await http?.stop();
  });

  const report = async (task: string) => (await ok(t.request('POST', '/api/v1/task_executions/', { task: { name: task }, status: 'RUNNING' }))).uuid as string;
  const end = (uuid: string, status: 'FAILED' | 'SUCCEEDED') =>
    ok(t.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status, exit_code: status === 'FAILED' ? 2 : 0 }), [200, 204]);

  it('notifies a missing heartbeat when it is due, and not before', async () => {
    await ok(
      t.request('POST', '/api/v1/tasks/', {
        name: 'silent',
        run_environment: 'local',
        passive: true,
        heartbeat_interval_seconds: 30,
        max_heartbeat_lateness_seconds: 15,
        notification_profiles: ['ops'],
      }),
    );
    const uuid = await report('silent');
    const t0 = clock.now();
    clock.set(t0 + 45 * SECOND);
    await passes();
    expect(http.requests('/ops')).toHaveLength(0);
    const due = clock.set(t0 + 46 * SECOND);
    const [hook] = await http.waitFor('/ops', 1);
    expect(hook!.json).toMatchObject({
      action: 'trigger',
      event: { type: 'MISSING_HEARTBEAT', created_at: iso(due), grouping_key: 'failure' },
      task: { name: 'silent' },
      task_execution: { uuid },
    });
    // The ABANDONED execution that follows is the same incident: nothing more.
    await passes();
    expect(http.requests('/ops')).toHaveLength(1);
    const events = await ok(t.request('GET', `/api/v1/events?task=silent`));
    expect(events.results.map((e: any) => e.type)).toEqual(['MISSING_HEARTBEAT']);
  });

  it('notifies a missed scheduled run of a passive Task at the end of its window, and not before', async () => {
    await ok(
      t.request('POST', '/api/v1/tasks/', {
        name: 'nightly',
        run_environment: 'local',
        passive: true,
        schedule: '0 3 * * *',
        max_schedule_lateness_seconds: 600,
        notification_profiles: ['ops'],
      }),
    );
    const d = new Date(clock.now());
    let expected = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 3);
    if (expected <= clock.now()) expected += 24 * HOUR;
    clock.set(expected + 600 * SECOND - 1);
    await passes();
    expect(http.requests('/ops').filter((r) => r.json.task?.name === 'nightly')).toHaveLength(0);
    const late = clock.set(expected + 600 * SECOND);
    const hooks = await waitFor(() => {
      const found = http.requests('/ops').filter((r) => r.json.task?.name === 'nightly');
      return found.length ? found : null;
    }, 'the missed-run notification');
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.json).toMatchObject({
      action: 'trigger',
      event: { type: 'MISSED_SCHEDULED_RUN', grouping_key: 'missed_schedule', created_at: iso(late), details: { expected_at: iso(expected) } },
    });
    // The next run that succeeds resolves it.
    await end(await report('nightly'), 'SUCCEEDED');
    const resolved = await waitFor(() => http.requests('/ops').find((r) => r.json.task?.name === 'nightly' && r.json.action === 'resolve'), 'the resolve');
    expect(resolved.json.event).toMatchObject({ type: 'RESOLVED', grouping_key: 'missed_schedule' });
  });

  it('retries a receiver that answers 500 with doubling waits, shows it in `berth events show`, and keeps working meanwhile', async () => {
    await ok(
      t.request('POST', '/api/v1/notification_profiles/', {
        name: 'flaky-receiver',
        methods: [
          { name: 'hook', type: 'webhook', url: `${http.url}/flaky`, max_attempts: 4 },
          // Port 2: nothing listens there, and no test server can be given it (a freed ephemeral port could be).
          { name: 'gone', type: 'webhook', url: 'http://127.0.0.1:2/nobody', max_attempts: 2 },
        ],
      }),
    );
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'breaks', run_environment: 'local', passive: true, notification_profiles: ['flaky-receiver'] }));
    http.answer('/flaky', 500, 'upstream exploded');
    await end(await report('breaks'), 'FAILED');
    await http.waitFor('/flaky', 1);
    const event = await waitFor(async () => {
      const page = await ok(t.request('GET', '/api/v1/events?task=breaks'));
      const e = page.results[0] && (await ok(t.request('GET', `/api/v1/events/${page.results[0].uuid}`)));
      return e && e.deliveries.length === 2 && e.deliveries.every((d: any) => d.attempts === 1) ? e : null;
    }, 'both deliveries tried once');
    const hook = event.deliveries.find((d: any) => d.method === 'hook');
    const t1 = Date.parse(hook.tries[0].at);
    expect(hook).toMatchObject({ status: 'pending', attempts: 1, max_attempts: 4, response_status: 500, next_attempt_at: iso(t1 + 10 * SECOND) });
    expect(hook.last_error).toContain('answered HTTP 500: upstream exploded');
    const gone = event.deliveries.find((d: any) => d.method === 'gone');
    expect(gone.last_error).toContain('could not connect (ECONNREFUSED)');

    // The CLI shows it.
    const env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
    const shown = await runCli(['events', 'show', event.uuid], { env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('EXECUTION_FAILED');
    expect(shown.stdout).toMatch(/flaky-receiver\s+hook \(webhook\)\s+trigger\s+pending\s+1\/4/);
    expect(shown.stdout).toContain('answered HTTP 500');
    expect(shown.stdout).toContain('ECONNREFUSED');

    // Not before the wait: 10 s, then 20 s.
    clock.set(t1 + 9 * SECOND);
    await passes();
    expect(http.requests('/flaky')).toHaveLength(1);
    clock.set(t1 + 10 * SECOND);
    await http.waitFor('/flaky', 2);
    clock.advance(19 * SECOND);
    await passes();
    expect(http.requests('/flaky')).toHaveLength(2);

    // Meanwhile the server answers and other notifications go out.
    expect((await t.request('GET', '/health')).status).toBe(200);
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'other', run_environment: 'local', passive: true, notification_profiles: ['ops'] }));
    await end(await report('other'), 'FAILED');
    await waitFor(() => http.requests('/ops').find((r) => r.json.task?.name === 'other'), 'the other notification');

    // The receiver recovers: the next try delivers.
    http.answer('/flaky', 200);
    clock.advance(1 * SECOND);
    await http.waitFor('/flaky', 3);
    const after = await waitFor(async () => {
      const e = await ok(t.request('GET', `/api/v1/events/${event.uuid}`));
      const h = e.deliveries.find((d: any) => d.method === 'hook');
      const g = e.deliveries.find((d: any) => d.method === 'gone');
      return h.status === 'delivered' && g.status === 'failed' ? e : null;
    }, 'delivered, and the dead receiver given up after 2 tries');
    const done = after.deliveries.find((d: any) => d.method === 'hook');
    expect(done).toMatchObject({ attempts: 3, next_attempt_at: null, response_status: 200 });
    expect(done.tries.map((x: any) => x.ok)).toEqual([false, false, true]);
    expect(after.deliveries.find((d: any) => d.method === 'gone')).toMatchObject({ status: 'failed', attempts: 2 });
    expect(t.server.loopStats().notifier.errors).toBe(0);
  });

  it('notify_after_seconds: tells only about a failure not followed by a success within that time', async () => {
    await ok(
      t.request('POST', '/api/v1/notification_profiles/', {
        name: 'after-5-min',
        notify_after_seconds: 300,
        methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/late` }],
      }),
    );
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'blips', run_environment: 'local', passive: true, notification_profiles: ['after-5-min'] }));

    // A failure followed by a success within 5 minutes: nobody hears of it.
    await end(await report('blips'), 'FAILED');
    await passes();
    clock.advance(200 * SECOND);
    await end(await report('blips'), 'SUCCEEDED');
    clock.advance(200 * SECOND);
    await passes();
    expect(http.requests('/late')).toHaveLength(0);

    // A failure that lasts: told once, 5 minutes after it.
    await end(await report('blips'), 'FAILED');
    await passes();
    const opened = clock.now();
    clock.set(opened + 299 * SECOND);
    await passes();
    expect(http.requests('/late')).toHaveLength(0);
    clock.set(opened + 300 * SECOND);
    const [hook] = await http.waitFor('/late', 1);
    expect(hook!.json).toMatchObject({ action: 'trigger', event: { type: 'EXECUTION_FAILED' }, task: { name: 'blips' } });
    clock.advance(600 * SECOND);
    await passes();
    expect(http.requests('/late')).toHaveLength(1);
  });

  it('a scheduled fire that no server acted on in time (schedule_missed: skip) is a missed scheduled run, notified', async () => {
    await ok(
      t.request('POST', '/api/v1/tasks/', {
        name: 'hourly',
        run_environment: 'local',
        command: 'true',
        schedule: 'rate(1 hour)',
        schedule_missed: 'skip',
        notification_profiles: ['ops'],
      }),
    );
    // Two hours later (as if every server had been down): the fires are skipped, and that is news.
    clock.advance(2 * HOUR + 5 * 60 * SECOND);
    const hook = await waitFor(() => http.requests('/ops').find((r) => r.json.task?.name === 'hourly'), 'the missed-fire notification');
    expect(hook.json.event).toMatchObject({ type: 'MISSED_SCHEDULED_RUN', grouping_key: 'missed_schedule', details: { outcome: 'skipped_missed' } });
    expect(hook.json.event.message).toContain('no server was running then');
    const executions = await ok(t.request('GET', '/api/v1/task_executions/?task=hourly'));
    expect(executions.count).toBe(0);
  });

  it('a failure and a success seen in the same pass: the success waits for the failure\'s incident, then resolves it', async () => {
    await ok(t.request('POST', '/api/v1/tasks/', { name: 'quick', run_environment: 'local', passive: true, notification_profiles: ['ops'] }));
    const notifier = t.server.notifier!;
    await notifier.stop();
    try {
      const failed = await report('quick');
      await end(failed, 'FAILED');
      await end(await report('quick'), 'SUCCEEDED');
      // Passes by hand: both ended executions are in the first one.
      for (let i = 0; i < 3; i++) await notifier.pass();
    } finally {
      notifier.start();
    }
    const hooks = await waitFor(() => {
      const found = http.requests('/ops').filter((r) => r.json.task?.name === 'quick');
      return found.length >= 2 ? found : null;
    }, 'trigger and resolve of quick');
    expect(hooks.map((h) => h.json.action)).toEqual(['trigger', 'resolve']);
    const events = await ok(t.request('GET', '/api/v1/events?task=quick'));
    expect(events.results.map((e: any) => e.type).sort()).toEqual(['EXECUTION_FAILED', 'RESOLVED']);
  });

  it('holds deliveries over a method\'s max_per_hour until the hour has room, without losing them', async () => {
    await ok(
      t.request('POST', '/api/v1/notification_profiles/', {
        name: 'quiet',
        methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/quiet`, max_per_hour: 2 }],
      }),
    );
    for (const name of ['r1', 'r2', 'r3']) {
      await ok(t.request('POST', '/api/v1/tasks/', { name, run_environment: 'local', passive: true, notification_profiles: ['quiet'] }));
      await end(await report(name), 'FAILED');
    }
    await http.waitFor('/quiet', 2);
    // Whichever of the three came last waits.
    const limited = await waitFor(async () => {
      for (const name of ['r1', 'r2', 'r3']) {
        const page = await ok(t.request('GET', `/api/v1/events?task=${name}`));
        const e = page.results[0] && (await ok(t.request('GET', `/api/v1/events/${page.results[0].uuid}`)));
        if (e?.deliveries[0]?.last_error?.includes('rate limited')) return e.deliveries[0];
      }
      return null;
    }, 'the third delivery to wait for the rate limit');
    expect(limited).toMatchObject({ status: 'pending', attempts: 0 });
    const sentAt = Date.parse(limited.next_attempt_at) - HOUR;
    await passes();
    expect(http.requests('/quiet')).toHaveLength(2);
    clock.set(sentAt + HOUR);
    const all = await http.waitFor('/quiet', 3);
    expect(all.map((r) => r.json.task.name).sort()).toEqual(['r1', 'r2', 'r3']);
  });
});

describe.runIf(await postgresAvailable())('notifications with two servers on one PostgreSQL database', () => {
  const schema = freshSchemaName();
  const servers: TestServer[] = [];
  let http: HttpReceiver;
  // Several servers must share the key of inline secrets.
  const encryptionKey = 'a'.repeat(64);

  beforeAll(async () => {
    http = await startHttpReceiver();
    const common = { databaseUrl: POSTGRES_TEST_URL, databaseSchema: schema, notifierIntervalMs: 20, encryptionKey };
    servers.push(await startTestServer(common), await startTestServer(common));
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await http?.stop();
    await dropSchema(schema);
  });

  it('sends each notification exactly once, whichever server notices and sends it', async () => {
    const [a, b] = servers as [TestServer, TestServer];
    await ok(a.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' }));
    await ok(a.request('POST', '/api/v1/notification_profiles/', { name: 'ops', methods: [{ name: 'hook', type: 'webhook', url: `${http.url}/pg`, secret: { value: 'pg-secret' } }] }));
    const COUNT = 20;
    for (let i = 0; i < COUNT; i++) {
      const s = i % 2 === 0 ? a : b;
      await ok(s.request('POST', '/api/v1/tasks/', { name: `pg-${i}`, run_environment: 'local', passive: true, notification_profiles: ['ops'] }));
      const uuid = (await ok(s.request('POST', '/api/v1/task_executions/', { task: { name: `pg-${i}` }, status: 'RUNNING' }))).uuid;
      await ok(s.request('PATCH', `/api/v1/task_executions/${uuid}/`, { status: 'FAILED', exit_code: 1 }), [200, 204]);
    }
    const received = await http.waitFor('/pg', COUNT);
    // Both servers are still polling: give them time to send anything twice.
    const passes = a.server.loopStats().notifier.passes;
    await waitFor(() => a.server.loopStats().notifier.passes >= passes + 10, 'ten more notifier passes');
    expect(http.requests('/pg')).toHaveLength(COUNT);
    expect(new Set(received.map((r) => r.json.task.name)).size).toBe(COUNT);
    expect(received.every((r) => /^t=\d+,v1=[0-9a-f]{64}$/.test(String(r.headers['x-berth-signature'])))).toBe(true);
    const events = await ok(b.request('GET', '/api/v1/events?type=EXECUTION_FAILED&limit=100'));
    expect(events.count).toBe(COUNT);
  });
});
