import type { Command } from 'commander';
import { effectiveFargateSize } from '../../domain/ecs-task.js';
import { DEFAULT_START_DEADLINE_SECONDS, FALLBACK_START_DEADLINE_SECONDS, MIN_DEFAULT_HEARTBEAT_LATENESS_SECONDS } from '../../domain/liveness.js';
import type { Task } from '../../domain/task.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { formatCommand, formatDuration, orDash, timeWithRelative, truncate, truncateStart, yesNo } from '../output.js';
import { registerPruneRevisions } from './tasks-prune-revisions.js';

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

type Container = Record<string, unknown>;

/** The containers of a Task's raw task definition. */
function definitionContainers(task: Task): Container[] {
  const defs = task.task_definition?.containerDefinitions;
  return Array.isArray(defs) ? defs.filter((c): c is Container => typeof c === 'object' && c !== null) : [];
}

/**
 * The main container's name: the Task's container_name, else `main` when it gives an image, else
 * the first essential container of its task definition (as the aws-ecs executor chooses it).
 */
function mainContainer(task: Task): { name: string; chosen: boolean } {
  if (task.container_name !== null) return { name: task.container_name, chosen: true };
  const containers = definitionContainers(task);
  const fromDefinition = task.image === null ? (containers.find((c) => c.essential !== false) ?? containers[0]) : undefined;
  return { name: typeof fromDefinition?.name === 'string' ? fromDefinition.name : 'main', chosen: false };
}

/** The image the main container runs: the Task's, else its task definition's. */
export function taskImage(task: Task): string | null {
  if (task.image !== null) return task.image;
  const main = mainContainer(task).name;
  const image = definitionContainers(task).find((c) => c.name === main)?.image;
  return typeof image === 'string' ? image : null;
}

/**
 * An image name that fits a table column: whole, else its end from a "/" on (`…/etl:1.4`: the
 * repository and tag matter more than the registry host), else its last characters.
 */
export function shortImage(image: string, max: number): string {
  if ([...image].length <= max) return image;
  for (let at = image.indexOf('/'); at !== -1; at = image.indexOf('/', at + 1)) {
    if ([...image.slice(at)].length + 1 <= max) return `…${image.slice(at)}`;
  }
  return truncateStart(image, max);
}

/** True when a Task sets any of the aws-ecs fields. (The Task resource does not say its Run Environment's kind.) */
export function isEcsTask(task: Task): boolean {
  return (
    task.image !== null ||
    task.container_name !== null ||
    task.port_mappings !== null ||
    task.health_check !== null ||
    task.sidecars !== null ||
    task.task_definition !== null
  );
}

function ports(mappings: readonly { container_port: number; protocol: string }[]): string {
  return mappings.length === 0 ? '-' : mappings.map((p) => `${p.container_port}/${p.protocol}`).join(', ');
}

function healthCheck(check: NonNullable<Task['health_check']>): string {
  const [kind, ...rest] = check.command;
  const command = kind === 'CMD-SHELL' ? `${rest.join(' ')}  (shell)` : kind === 'CMD' ? formatCommand(rest) : formatCommand(check.command);
  return (
    `${command}\nevery ${check.interval_seconds} s, timeout ${check.timeout_seconds} s, ${check.retries} ` +
    `${check.retries === 1 ? 'retry' : 'retries'}, start period ${check.start_period_seconds} s`
  );
}

/** The aws-ecs settings of a Task, only those that apply. */
function ecsFields(task: Task): [string, string][] {
  const image = taskImage(task);
  const main = mainContainer(task);
  const containers = definitionContainers(task);
  const fields: [string, string][] = [
    ['Image', image === null ? '-' : `${image}${task.image === null ? '  (from the task definition)' : ''}`],
    ['Container name', main.chosen ? main.name : `${main.name}  (default)`],
  ];
  if (task.port_mappings !== null) fields.push(['Ports', ports(task.port_mappings)]);
  if (task.health_check !== null) fields.push(['Health check', healthCheck(task.health_check)]);
  if (task.sidecars !== null && task.sidecars.length > 0) {
    fields.push([
      'Sidecars',
      task.sidecars
        .map((c) => `${c.name}: ${c.image}${c.essential ? '  (essential)' : ''}${c.port_mappings.length ? `  ports ${ports(c.port_mappings)}` : ''}`)
        .join('\n'),
    ]);
  }
  if (task.task_definition !== null) {
    const names = containers.map((c) => (typeof c.name === 'string' ? c.name : '?'));
    fields.push([
      'Task definition',
      `given (${Object.keys(task.task_definition).length} fields); containers: ${names.length ? names.join(', ') : 'none'}` +
        '\n(see --json for all of it)',
    ]);
  }
  return fields;
}

function size(task: Task, which: 'cpu' | 'memory', unit: string): string {
  const own = task[which];
  if (own !== null) return `${own} ${unit}`;
  if (!isEcsTask(task)) return '-';
  const written = task.task_definition?.[which];
  const fromDefinition = typeof written === 'number' || (typeof written === 'string' && /^\d+$/.test(written));
  const effective = effectiveFargateSize(task.task_definition ? { task_definition: task.task_definition } : {})[which];
  return `${effective} ${unit}  (${fromDefinition ? 'from the task definition' : 'the Fargate default'})`;
}

/** Every setting of a Task, as `label: value` pairs. */
export function taskFields(task: Task): [string, string][] {
  const retries =
    task.max_retries === 0
      ? 'none'
      : `${task.max_retries} (delay ${task.retry_delay_seconds} s, ×${task.retry_backoff_multiplier}` +
        `${task.max_retry_delay_seconds !== null ? `, at most ${task.max_retry_delay_seconds} s` : ''}` +
        `${task.retry_on_timeout ? ', also after a timeout' : ''})`;
  const ecs = isEcsTask(task);
  const commandNote = Array.isArray(task.command)
    ? ecs
      ? '  (the container\'s command)'
      : '  (run directly)'
    : task.command
      ? ecs
        ? '  (run with /bin/sh -c in the container)'
        : '  (run with /bin/sh -c)'
      : ecs
        ? '  (the image\'s own)'
        : '';
  return [
    ['Name', task.name],
    ['UUID', task.uuid],
    ['Description', orDash(task.description)],
    ['Run Environment', task.run_environment.name],
    ['Enabled', yesNo(task.enabled)],
    ['Passive', yesNo(task.passive)],
    ...(ecs ? ecsFields(task) : []),
    ['Command', formatCommand(task.command) + commandNote],
    ['Working directory', orDash(task.working_directory)],
    ['Environment', mapping(task.environment)],
    ['Secrets', mapping(task.secrets)],
    ['CPU', size(task, 'cpu', 'units')],
    ['Memory', size(task, 'memory', 'MiB')],
    ['Timeout', task.timeout_seconds === null ? 'none' : `${formatDuration(task.timeout_seconds * 1000)} (${task.timeout_seconds} s)`],
    ['Termination grace', seconds(task.termination_grace_period_seconds)],
    ['Retries', retries],
    ['Max concurrency', task.max_concurrency === null ? 'no limit' : `${task.max_concurrency} (then ${task.on_concurrency_limit})`],
    ['Schedule', orDash(task.schedule)],
    ['Heartbeat interval', seconds(task.heartbeat_interval_seconds)],
    ...livenessFields(task),
    ['Created', timeWithRelative(task.created_at)],
    ['Updated', timeWithRelative(task.updated_at)],
  ];
}

/** Heartbeat lateness, start deadline and schedule lateness, with the defaults spelled out. */
function livenessFields(task: Task): [string, string][] {
  const fields: [string, string][] = [];
  if (task.heartbeat_interval_seconds !== null) {
    fields.push([
      'Heartbeat lateness',
      task.max_heartbeat_lateness_seconds !== null
        ? seconds(task.max_heartbeat_lateness_seconds)
        : `${seconds(Math.max(task.heartbeat_interval_seconds, MIN_DEFAULT_HEARTBEAT_LATENESS_SECONDS))} (default)`,
    ]);
  }
  const defaultDeadline = DEFAULT_START_DEADLINE_SECONDS[task.run_environment.kind] ?? FALLBACK_START_DEADLINE_SECONDS;
  fields.push(['Start deadline', task.start_deadline_seconds !== null ? seconds(task.start_deadline_seconds) : `${seconds(defaultDeadline)} (default)`]);
  if (task.schedule !== null && task.passive) fields.push(['Schedule lateness', seconds(task.max_schedule_lateness_seconds)]);
  return fields;
}

export function registerTasks(program: Command): void {
  const tasks = program
    .command('tasks')
    .summary('list, show and delete Tasks; prune their ECS task definitions')
    .description('List, show and delete Tasks, and prune their ECS task definitions. Create and change them with `berth apply`.');
  tasks.addHelpText(
    'after',
    `
Examples:
  $ berth tasks ls
  $ berth tasks ls --run-environment local --search nightly
  $ berth tasks show hello
  $ berth tasks rm hello
  $ berth tasks prune-revisions etl --keep 3 --dry-run`,
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
      // IMAGE only when some listed Task runs a container image (aws-ecs).
      const images = page.results.map(taskImage);
      const withImage = images.some((i) => i !== null);
      out.table(
        [
          { header: 'NAME' },
          { header: 'RUN ENVIRONMENT' },
          { header: 'ENABLED' },
          ...(withImage ? [{ header: 'IMAGE' }] : []),
          { header: 'COMMAND' },
          { header: 'TIMEOUT', right: true },
          { header: 'RETRIES', right: true },
          { header: 'SCHEDULE' },
        ],
        page.results.map((t, i) => [
          t.name,
          t.run_environment.name,
          t.passive ? 'passive' : yesNo(t.enabled),
          ...(withImage ? [shortImage(images[i] ?? '-', 40)] : []),
          truncate(formatCommand(t.command), 40),
          t.timeout_seconds === null ? '-' : formatDuration(t.timeout_seconds * 1000),
          String(t.max_retries),
          orDash(t.schedule),
        ]),
      );
    }
    out.pageHint(page, flags.offset, 'tasks');
  });

  const show = tasks
    .command('show')
    .description('Show every setting of a Task (with its image, containers, ports and health check for aws-ecs Tasks).')
    .argument('<task>', 'name or uuid');
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

  registerPruneRevisions(tasks);
}
