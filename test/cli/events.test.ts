/** `berth events ls` as a subprocess against a real server whose store holds a few events. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventTypes, parseSince } from '../../src/cli/commands/events.js';
import type { EventRecord } from '../../src/store/store.js';
import { startTestServer, TEST_ADMIN_KEY } from '../support/server.js';
import { runCli } from './cli.js';

let t: Awaited<ReturnType<typeof startTestServer>>;
let env: Record<string, string>;
const executionUuid = randomUUID();

const berth = (args: string[]) => runCli(args, { env });

beforeAll(async () => {
  t = await startTestServer();
  env = { BERTH_URL: t.server.url, BERTH_API_KEY: TEST_ADMIN_KEY };
  await t.request('POST', '/api/v1/run_environments/', { name: 'local', kind: 'local' });
  const task = (await t.request('POST', '/api/v1/tasks/', { name: 'nightly', run_environment: 'local', passive: true, schedule: '0 3 * * *' })).body;
  const now = Date.now();
  const base = { severity: 'error' as const, task_uuid: task.uuid, task_name: 'nightly', details: {} };
  const events: EventRecord[] = [
    { ...base, uuid: randomUUID(), type: 'MISSED_SCHEDULED_RUN', message: 'Task "nightly" was expected to run at 03:00.', execution_uuid: null, dedupe_key: 'a', created_at: now - 3 * 86_400_000 },
    { ...base, uuid: randomUUID(), type: 'MISSING_HEARTBEAT', message: 'No heartbeat for 3 min.', execution_uuid: executionUuid, dedupe_key: 'b', created_at: now - 60_000 },
  ];
  for (const e of events) await t.server.ctx.store.recordEvent(e);
});
afterAll(async () => {
  await t?.stop();
});

describe('berth events ls', () => {
  it('lists events newest first with their Task and message', async () => {
    const r = await berth(['events', 'ls']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WHEN\s+TYPE\s+TASK\s+MESSAGE$/);
    expect(lines[1]).toMatch(new RegExp(`^1 min ago\\s+MISSING_HEARTBEAT\\s+nightly ${executionUuid.slice(0, 8)}\\s+No heartbeat for 3 min\\.$`));
    expect(lines[2]).toMatch(/^3 d ago\s+MISSED_SCHEDULED_RUN\s+nightly\s+Task "nightly" was expected/);
  });

  it('filters by type, Task, execution and time, and prints the API JSON with --json', async () => {
    const byType = await berth(['events', 'ls', '--type', 'missed_scheduled_run', '--json']);
    expect(byType.code).toBe(0);
    const page = JSON.parse(byType.stdout);
    expect(page.count).toBe(1);
    expect(page.results[0]).toMatchObject({ type: 'MISSED_SCHEDULED_RUN', task: { name: 'nightly' }, task_execution: null });

    const recent = JSON.parse((await berth(['events', 'ls', '--since', '2h', '--json'])).stdout);
    expect(recent.results.map((e: any) => e.type)).toEqual(['MISSING_HEARTBEAT']);
    const byExecution = JSON.parse((await berth(['events', 'ls', '--execution', executionUuid, '--json'])).stdout);
    expect(byExecution.count).toBe(1);
    const byTask = JSON.parse((await berth(['events', 'ls', '--task', 'nightly', '--limit', '1', '--json'])).stdout);
    expect(byTask).toMatchObject({ count: 2, results: [{ type: 'MISSING_HEARTBEAT' }] });

    const none = await berth(['events', 'ls', '--type', 'FAILED_TO_START']);
    expect(none.code).toBe(0);
    expect(none.stderr.trim()).toBe('No events.');
  });

  it('refuses bad flags before calling the server', async () => {
    const badType = await berth(['events', 'ls', '--type', 'MISSED']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('unknown event type "MISSED"');
    const badSince = await berth(['events', 'ls', '--since', 'yesterday']);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain('must be a duration such as 30m, 2h or 7d');
    const unknownTask = await berth(['events', 'ls', '--task', 'nope']);
    expect(unknownTask.code).toBe(1);
    expect(unknownTask.stderr).toContain('[TASK_NOT_FOUND]');
  });

  it('parses its flags', () => {
    expect(parseEventTypes(' missing_heartbeat, FAILED_TO_START ')).toBe('MISSING_HEARTBEAT,FAILED_TO_START');
    expect(parseSince('30m', Date.UTC(2024, 0, 1, 12))).toBe('2024-01-01T11:30:00.000Z');
    expect(parseSince('7d', Date.UTC(2024, 0, 8))).toBe('2024-01-01T00:00:00.000Z');
    expect(parseSince('2024-05-01T12:00:00+02:00')).toBe('2024-05-01T10:00:00.000Z');
    expect(() => parseSince('2 weeks')).toThrow(/duration/);
  });
});
