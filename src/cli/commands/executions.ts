import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { EXECUTION_STATUSES } from '../../domain/execution-status.js';
import type { TaskExecution } from '../../domain/task-execution.js';
import { seg } from '../client.js';
import { contextFor, uuidArg, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { durationBetween, orDash, relativeTime, statusColour, timeWithRelative } from '../output.js';
import type { Output } from '../output.js';

interface ListFlags extends CommonFlags {
  task?: string;
  status?: string;
  limit: number;
  offset: number;
}

/** Validates `--status RUNNING,failed,in_progress` and returns it upper-cased. */
export function parseStatusList(raw: string): string {
  const parts = raw
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('give at least one status.');
  for (const part of parts) {
    if (part !== 'IN_PROGRESS' && !(EXECUTION_STATUSES as readonly string[]).includes(part)) {
      throw new InvalidArgumentError(`unknown status "${part}"; use ${EXECUTION_STATUSES.join(', ')} or IN_PROGRESS, comma-separated.`);
    }
  }
  return parts.join(',');
}

function attemptText(e: TaskExecution): string {
  return e.max_attempts > 1 ? `${e.attempt}/${e.max_attempts}` : String(e.attempt);
}

function counts(e: TaskExecution): string {
  const parts: string[] = [];
  if (e.success_count !== null) parts.push(`${e.success_count} succeeded`);
  if (e.error_count !== null) parts.push(`${e.error_count} errors`);
  if (e.skipped_count !== null) parts.push(`${e.skipped_count} skipped`);
  if (e.expected_count !== null) parts.push(`${e.expected_count} expected`);
  return parts.length ? parts.join(', ') : '-';
}

/** `CloudReactor python proc_wrapper 6.0.1 on host-1`, from what the wrapper said about itself. */
function wrapperText(wrapper: Record<string, unknown>): string {
  const text = (key: string) => (typeof wrapper[key] === 'string' && wrapper[key] !== '' ? (wrapper[key] as string) : null);
  const name = [text('wrapper_family') ?? 'wrapper', text('wrapper_version')].filter(Boolean).join(' ');
  const host = text('hostname');
  return host ? `${name} on ${host}` : name;
}

/** The wrapper's own account: `FAILED, exit code 3, 2 failed attempts inside the wrapper (received …)`. */
function wrapperReportText(r: NonNullable<TaskExecution['wrapper_report']>): string {
  const parts: string[] = [r.status];
  if (r.exit_code !== null) parts.push(`exit code ${r.exit_code}`);
  if (r.failed_attempts) parts.push(`${r.failed_attempts} failed attempt(s) inside the wrapper`);
  if (r.timed_out_attempts) parts.push(`${r.timed_out_attempts} timed out inside the wrapper`);
  return `${parts.join(', ')} (received ${relativeTime(r.received_at)})`;
}

function json(value: unknown): string {
  return value === null || value === undefined ? '-' : JSON.stringify(value);
}

function detailText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Labels of what the aws-ecs executor says about an execution (`executor.details`), in this order. */
const ECS_DETAILS: [key: string, label: string][] = [
  ['task_arn', 'ECS task'],
  ['cluster', 'Cluster'],
  ['region', 'Region'],
  ['task_definition_arn', 'Task definition'],
  ['log_group', 'Log group'],
  ['log_stream', 'Log stream'],
  ['console_url', 'AWS console'],
];

/** An aws-ecs execution's ECS task, cluster, task definition, logs and console link, one field each. */
export function ecsExecutorFields(details: Record<string, unknown>): [string, string][] {
  const fields: [string, string][] = [['Executor', 'aws-ecs']];
  for (const [key, label] of ECS_DETAILS) {
    const value = details[key];
    if (value !== undefined && value !== null && value !== '') fields.push([label, detailText(value)]);
  }
  // Anything else the executor reports (e.g. a note that the handle is unreadable).
  for (const [key, value] of Object.entries(details)) {
    if (!ECS_DETAILS.some(([known]) => known === key)) fields.push([key, detailText(value)]);
  }
  return fields;
}

/** The readable form of one execution. */
export function printExecution(out: Output, e: TaskExecution): void {
  const fields: [string, string][] = [
    ['Execution', e.uuid],
    ['Task', e.task.name],
    ['Run Environment', e.run_environment.name],
    ['Status', out.paint(statusColour(e.status), e.status)],
    ['Run reason', e.run_reason],
    ['Stop reason', orDash(e.stop_reason)],
  ];
  if (e.failure) fields.push(['Failure', `${e.failure.message}\n(${e.failure.type}${e.failure.code ? ` ${e.failure.code}` : ''}, fault: ${e.failure.fault})`]);
  fields.push(
    ['Exit code', orDash(e.exit_code)],
    ['Created', timeWithRelative(e.created_at)],
    ['Started', timeWithRelative(e.started_at)],
    ['Finished', timeWithRelative(e.finished_at)],
    ['Duration', durationBetween(e.started_at, e.finished_at)],
  );
  if (e.stop_requested_at) fields.push(['Stop requested', timeWithRelative(e.stop_requested_at)]);
  if (e.launch_after) fields.push(['Launch after', timeWithRelative(e.launch_after)]);
  fields.push(
    ['Attempt', `${e.attempt} of at most ${e.max_attempts} (${e.failed_attempts} failed, ${e.timed_out_attempts} timed out)`],
    ['Counts', counts(e)],
    ['Status message', orDash(e.last_status_message)],
    ['Last heartbeat', timeWithRelative(e.last_heartbeat_at)],
  );
  // What a wrapper reported (absent from executions no wrapper reported on).
  if (e.last_app_heartbeat_at) fields.push(['App heartbeat', timeWithRelative(e.last_app_heartbeat_at)]);
  if (e.wrapper) fields.push(['Wrapper', wrapperText(e.wrapper)]);
  if (e.wrapper_report) fields.push(['Wrapper report', wrapperReportText(e.wrapper_report)]);
  if (e.pid !== null && e.pid !== undefined) fields.push(['PID', String(e.pid)]);
  if (e.other_runtime_metadata !== null && e.other_runtime_metadata !== undefined) fields.push(['Runtime metadata', json(e.other_runtime_metadata)]);
  fields.push(
    [
      'Environment overrides',
      Object.keys(e.environment_overrides).length
        ? Object.entries(e.environment_overrides)
            .map(([k, v]) => `${k}=${v}`)
            .join('\n')
        : '-',
    ],
    ['Input', json(e.input_value)],
    ['Output', json(e.output_value)],
  );
  if (e.executor?.kind === 'aws-ecs') fields.push(...ecsExecutorFields(e.executor.details));
  else if (e.executor) {
    const details = Object.entries(e.executor.details).map(([k, v]) => `${k}: ${detailText(v)}`);
    fields.push(['Executor', [e.executor.kind, ...details.map((d) => `  ${d}`)].join('\n')]);
  } else fields.push(['Executor', '- (not launched)']);
  out.fields(fields);
  if (e.attempts.length > 0) {
    out.line();
    out.line(out.paint('bold', 'Attempts'));
    out.table(
      [
        { header: '#', right: true },
        { header: 'STATUS', colour: statusColour },
        { header: 'STARTED' },
        { header: 'DURATION', right: true },
        { header: 'EXIT', right: true },
        { header: 'FAILURE' },
      ],
      e.attempts.map((a) => [
        String(a.number),
        a.status,
        relativeTime(a.started_at),
        durationBetween(a.started_at, a.finished_at),
        orDash(a.exit_code),
        a.failure?.message ?? '-',
      ]),
    );
  }
  for (const [heading, tail] of [
    ['Error log tail', e.error_log_tail],
    ['Debug log tail', e.debug_log_tail],
  ] as const) {
    if (!tail) continue;
    out.line();
    out.line(out.paint('bold', `${heading} (from the wrapper)`));
    out.line(tail.replace(/\n$/, ''));
  }
}

export function registerExecutions(program: Command): void {
  const executions = program
    .command('executions')
    .alias('exec')
    .summary('list and show Task Executions')
    .description('List and show Task Executions (runs of Tasks).');
  executions.addHelpText(
    'after',
    '\nExamples:\n  $ berth executions ls --task hello\n  $ berth executions ls --status FAILED,TERMINATED_AFTER_TIME_OUT\n  $ berth executions show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f',
  );

  const ls = executions
    .command('ls')
    .alias('list')
    .description('List Task Executions, newest first.')
    .option('--task <task>', 'only executions of this Task (name or uuid)')
    .option('--status <statuses>', 'only these statuses, comma-separated (IN_PROGRESS = queued, starting, running or stopping)', parseStatusList);
  withPaging(ls);
  withCommonOptions(ls);
  ls.addHelpText(
    'after',
    `
Statuses: ${EXECUTION_STATUSES.join(', ')}, IN_PROGRESS.

Examples:
  $ berth executions ls
  $ berth executions ls --task nightly --status failed --limit 5
  $ berth executions ls --status IN_PROGRESS --json`,
  );
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<TaskExecution>>('/api/v1/task_executions', {
      task: flags.task,
      status: flags.status,
      limit: flags.limit,
      offset: flags.offset,
    });
    out.listPage(page, flags.offset, 'executions', [
      { header: 'UUID' },
      { header: 'TASK' },
      { header: 'STATUS', colour: statusColour },
      { header: 'REASON' },
      { header: 'CREATED' },
      { header: 'DURATION', right: true },
      { header: 'EXIT', right: true },
      { header: 'ATTEMPT', right: true },
    ], (e) => [
      e.uuid,
      e.task.name,
      e.status,
      e.run_reason,
      relativeTime(e.created_at),
      durationBetween(e.started_at, e.finished_at),
      orDash(e.exit_code),
      attemptText(e),
    ]);
  });

  const show = executions
    .command('show')
    .description(
      'Show one Task Execution: status, reasons, failure, times, attempts, counts, executor details, and what a wrapper reported (its version and host, its own account of the run, the last lines of output).',
    )
    .argument('<execution>', 'execution uuid', uuidArg);
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth executions show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f\n  $ berth executions show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --json');
  show.action(async (uuid: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const execution = await client.get<TaskExecution>(`/api/v1/task_executions/${seg(uuid)}`);
    if (out.json) return out.printJson(execution);
    printExecution(out, execution);
  });
}
