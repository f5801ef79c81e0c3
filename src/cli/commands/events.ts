import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { EVENT_TYPES } from '../../domain/event.js';
import type { Event } from '../../domain/event.js';
import { contextFor, uuidArg, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { orDash, relativeTime, timeWithRelative, truncate } from '../output.js';

interface ListFlags extends CommonFlags {
  type?: string;
  task?: string;
  execution?: string;
  since?: string;
  limit: number;
  offset: number;
}

/** Validates `--type missed_scheduled_run,MISSING_HEARTBEAT` and returns it upper-cased. */
export function parseEventTypes(raw: string): string {
  const parts = raw
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('give at least one event type.');
  for (const part of parts) {
    if (!(EVENT_TYPES as readonly string[]).includes(part)) {
      throw new InvalidArgumentError(`unknown event type "${part}"; use ${EVENT_TYPES.join(', ')}, comma-separated.`);
    }
  }
  return parts.join(',');
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 2h` (or 30m, 7d, or an ISO-8601 time) as an ISO time, relative to `now`. */
export function parseSince(raw: string, now = Date.now()): string {
  const text = raw.trim();
  const relative = /^(\d+)\s*([mhd])$/i.exec(text);
  if (relative) return new Date(now - Number(relative[1]) * UNIT_MS[relative[2]!.toLowerCase()]!).toISOString();
  const at = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(at)) return new Date(at).toISOString();
  throw new InvalidArgumentError(`must be a duration such as 30m, 2h or 7d, or an ISO-8601 time such as 2024-05-01T12:00:00Z; got "${raw}".`);
}

/** `berth events show`: the event with its incident and deliveries, as the API returns it. */
interface EventWithDeliveries extends Omit<Event, 'incident'> {
  incident: {
    uuid: string;
    subject: { kind: string; uuid: string; name: string };
    grouping_key: string;
    event_count: number;
    opened_at: string;
    resolved_at: string | null;
  } | null;
  deliveries: {
    uuid: string;
    profile: string;
    method: string;
    type: string;
    action: string;
    status: string;
    attempts: number;
    max_attempts: number;
    next_attempt_at: string | null;
    last_error: string | null;
    response_status: number | null;
    tries: { at: string; ok: boolean; status: number | null; error: string | null }[];
    delivered_at: string | null;
  }[];
}

function subject(e: Pick<Event, 'task' | 'task_execution' | 'workflow' | 'workflow_execution'>): string {
  if (!e.task && e.workflow) return e.workflow_execution ? `${e.workflow.name} ${e.workflow_execution.uuid.slice(0, 8)}` : e.workflow.name;
  if (!e.task) return '-';
  return e.task_execution ? `${e.task.name} ${e.task_execution.uuid.slice(0, 8)}` : e.task.name;
}

export function registerEvents(program: Command): void {
  const events = program
    .command('events')
    .summary('list and show events: failures, timeouts, missing heartbeats, missed runs, resolved incidents')
    .description(
      'List the events Berth recorded (failed, timed-out and abandoned executions, failed starts, missing heartbeats, missed scheduled runs, resolved incidents) and show one with the notifications sent for it.',
    );
  events.addHelpText('after', '\nExamples:\n  $ berth events ls\n  $ berth events ls --type MISSED_SCHEDULED_RUN --since 24h\n  $ berth events show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f');

  const ls = events
    .command('ls')
    .alias('list')
    .description('List events, newest first.')
    .option('--type <types>', `only these types, comma-separated (${EVENT_TYPES.join(', ')})`, parseEventTypes)
    .option('--task <task>', 'only events of this Task (name or uuid)')
    .option('--execution <uuid>', 'only events of this execution', uuidArg)
    .option('--since <time>', 'only events recorded since then: 30m, 2h, 7d or an ISO-8601 time', (v: string) => parseSince(v));
  withPaging(ls);
  withCommonOptions(ls);
  ls.addHelpText(
    'after',
    `
Event types: ${EVENT_TYPES.join(', ')} (see docs/notifications.md).

Examples:
  $ berth events ls
  $ berth events ls --task nightly-report --since 7d
  $ berth events ls --type MISSING_HEARTBEAT,FAILED_TO_START --json`,
  );
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<Event>>('/api/v1/events', {
      type: flags.type,
      task: flags.task,
      task_execution: flags.execution,
      created_after: flags.since,
      limit: flags.limit,
      offset: flags.offset,
    });
    out.listPage(
      page,
      flags.offset,
      'events',
      [{ header: 'WHEN' }, { header: 'TYPE', colour: (v) => (v === 'RESOLVED' ? 'green' : 'red') }, { header: 'TASK' }, { header: 'MESSAGE' }],
      (e) => [relativeTime(e.created_at), e.type, subject(e), truncate(e.message, 100)],
    );
  });

  const show = events
    .command('show')
    .description('Show an event: what happened, its incident, and each notification sent for it (status, tries, last error).')
    .argument('<event>', 'the event uuid (see berth events ls)', (v: string) => {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v.trim())) {
        throw new InvalidArgumentError('must be an event uuid like 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f (see berth events ls).');
      }
      return v.trim().toLowerCase();
    });
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth events show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f\n  $ berth events show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --json');
  show.action(async (uuid: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const e = await client.get<EventWithDeliveries>(`/api/v1/events/${uuid}`);
    if (out.json) return out.printJson(e);
    const incident = e.incident
      ? `${e.incident.uuid} (${e.incident.grouping_key}, ${e.incident.event_count} event(s), ${e.incident.resolved_at ? `resolved ${relativeTime(e.incident.resolved_at)}` : 'open'})`
      : '-';
    out.fields([
      ['UUID', e.uuid],
      ['Type', e.type],
      ['Severity', e.severity],
      ['Subject', subject(e)],
      ['Execution', orDash(e.task_execution?.uuid ?? e.workflow_execution?.uuid ?? null)],
      ['Recorded', timeWithRelative(e.created_at)],
      ['Incident', incident],
      ['Message', e.message],
    ]);
    out.line();
    if (e.deliveries.length === 0) {
      out.note(e.incident ? 'No notifications for this event (grouped into an incident already told, postponed, or no profile applies).' : 'No notifications for this event.');
      return;
    }
    out.table(
      [
        { header: 'PROFILE' },
        { header: 'METHOD' },
        { header: 'ACTION' },
        { header: 'STATUS', colour: (v) => (v === 'delivered' ? 'green' : v === 'failed' ? 'red' : 'yellow') },
        { header: 'TRIES', right: true },
        { header: 'NEXT TRY' },
        { header: 'LAST ERROR' },
      ],
      e.deliveries.map((d) => [
        d.profile,
        `${d.method} (${d.type})`,
        d.action,
        d.status,
        `${d.attempts}/${d.max_attempts}`,
        d.next_attempt_at ? relativeTime(d.next_attempt_at) : '-',
        d.last_error ? truncate(d.last_error, 90) : '-',
      ]),
    );
  });
}
