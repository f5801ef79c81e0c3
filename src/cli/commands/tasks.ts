import type { Command } from 'commander';
import type { Task } from '../../domain/task.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { formatCommand, formatDuration, orDash, timeWithRelative, truncate, yesNo } from '../output.js';

interface ListFlags extends CommonFlags {
  runEnvironment?: string;
  search?: string;
  limit: number;
  offset: number;
}

function seconds(value: number | null): string {
  return value === null ? '-' : `${value} s`;
}

function mapping(values: Record<string, string>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join('\n');
}

/** Every setting of a Task, as `label: value` pairs. */
export function taskFields(task: Task): [string, string][] {
  const retries =
    task.max_retries === 0
      ? 'none'
      : `${task.max_retries} (delay ${task.retry_delay_seconds} s, ×${task.retry_backoff_multiplier}` +
        `${task.max_retry_delay_seconds !== null ? `, at most ${task.max_retry_delay_seconds} s` : ''}` +
        `${task.retry_on_timeout ? ', also after a timeout' : ''})`;
  return [
    ['Name', task.name],
    ['UUID', task.uuid],
    ['Description', orDash(task.description)],
    ['Run Environment', task.run_environment.name],
    ['Enabled', yesNo(task.enabled)],
    ['Passive', yesNo(task.passive)],
    ['Command', formatCommand(task.command) + (Array.isArray(task.command) ? '  (run directly)' : task.command ? '  (run with /bin/sh -c)' : '')],
    ['Working directory', orDash(task.working_directory)],
    ['Environment', mapping(task.environment)],
    ['Secrets', mapping(task.secrets)],
    ['CPU', task.cpu === null ? '-' : `${task.cpu} units`],
    ['Memory', task.memory === null ? '-' : `${task.memory} MiB`],
    ['Timeout', task.timeout_seconds === null ? 'none' : `${formatDuration(task.timeout_seconds * 1000)} (${task.timeout_seconds} s)`],
    ['Termination grace', seconds(task.termination_grace_period_seconds)],
    ['Retries', retries],
    ['Max concurrency', task.max_concurrency === null ? 'no limit' : `${task.max_concurrency} (then ${task.on_concurrency_limit})`],
    ['Schedule', orDash(task.schedule)],
    ['Heartbeat interval', seconds(task.heartbeat_interval_seconds)],
    ['Created', timeWithRelative(task.created_at)],
    ['Updated', timeWithRelative(task.updated_at)],
  ];
}

export function registerTasks(program: Command): void {
  const tasks = program
    .command('tasks')
    .summary('list, show and delete Tasks')
    .description('List, show and delete Tasks. Create and change them with `berth apply`.');
  tasks.addHelpText(
    'after',
    `
Examples:
  $ berth tasks ls
  $ berth tasks ls --run-environment local --search nightly
  $ berth tasks show hello
  $ berth tasks rm hello`,
  );

  const ls = tasks
    .command('ls')
    .alias('list')
    .description('List Tasks by name.')
    .option('--run-environment <name>', 'only Tasks of this Run Environment (name or uuid)')
    .option('--search <text>', 'only Tasks whose name contains this (case-insensitive)');
  withPaging(ls);
  withCommonOptions(ls);
  ls.addHelpText('after', '\nExamples:\n  $ berth tasks ls\n  $ berth tasks ls --search etl --limit 10\n  $ berth tasks ls --json');
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<Task>>('/api/v1/tasks', {
      run_environment: flags.runEnvironment,
      search: flags.search,
      limit: flags.limit,
      offset: flags.offset,
    });
    if (out.json) return out.printJson(page);
    if (page.results.length > 0) {
      out.table(
        [
          { header: 'NAME' },
          { header: 'RUN ENVIRONMENT' },
          { header: 'ENABLED' },
          { header: 'COMMAND' },
          { header: 'TIMEOUT', right: true },
          { header: 'RETRIES', right: true },
          { header: 'SCHEDULE' },
        ],
        page.results.map((t) => [
          t.name,
          t.run_environment.name,
          t.passive ? 'passive' : yesNo(t.enabled),
          truncate(formatCommand(t.command), 40),
          t.timeout_seconds === null ? '-' : formatDuration(t.timeout_seconds * 1000),
          String(t.max_retries),
          orDash(t.schedule),
        ]),
      );
    }
    out.pageHint(page, flags.offset, 'tasks');
  });

  const show = tasks.command('show').description('Show every setting of a Task.').argument('<task>', 'name or uuid');
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth tasks show hello\n  $ berth tasks show hello --json');
  show.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const task = await client.get<Task>(`/api/v1/tasks/${seg(name)}`);
    if (out.json) return out.printJson(task);
    out.fields(taskFields(task));
  });

  const rm = tasks
    .command('rm')
    .alias('delete')
    .description('Delete a Task and its execution history (refused while executions are queued or running).')
    .argument('<task>', 'name or uuid');
  withCommonOptions(rm);
  rm.addHelpText('after', '\nExamples:\n  $ berth tasks rm hello');
  rm.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    await client.delete(`/api/v1/tasks/${seg(name)}`);
    if (out.json) return; // the API answers 204 with no body
    out.line(`Deleted task ${name}.`);
  });
}
