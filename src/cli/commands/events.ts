import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { EVENT_TYPES } from '../../domain/event.js';
import type { Event } from '../../domain/event.js';
import { contextFor, uuidArg, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { relativeTime, truncate } from '../output.js';

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

function subject(e: Event): string {
  if (!e.task) return '-';
  return e.task_execution ? `${e.task.name} ${e.task_execution.uuid.slice(0, 8)}` : e.task.name;
}

export function registerEvents(program: Command): void {
  const events = program
    .command('events')
    .summary('list events: missed scheduled runs, missing heartbeats, failed starts')
    .description('List the events Berth recorded: missed scheduled runs of passive Tasks, executions whose heartbeats stopped, executions that never started.');
  events.addHelpText('after', '\nExamples:\n  $ berth events ls\n  $ berth events ls --type MISSED_SCHEDULED_RUN --since 24h');

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
Event types: ${EVENT_TYPES.join(', ')} (see docs/liveness.md).

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
    if (out.json) return out.printJson(page);
    if (page.results.length > 0) {
      out.table(
        [{ header: 'WHEN' }, { header: 'TYPE', colour: () => 'red' }, { header: 'TASK' }, { header: 'MESSAGE' }],
        page.results.map((e) => [relativeTime(e.created_at), e.type, subject(e), truncate(e.message, 100)]),
      );
    }
    out.pageHint(page, flags.offset, 'events');
  });
}
