import type { Command } from 'commander';
import type { RunEnvironment } from '../../domain/run-environment.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { orDash, relativeTime, timeWithRelative, truncate, yesNo } from '../output.js';

interface ListFlags extends CommonFlags {
  limit: number;
  offset: number;
}

function mapping(values: Record<string, string>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join('\n');
}

type EcsRunEnvironment = Extract<RunEnvironment, { kind: 'aws-ecs' }>;

/** Where and how an aws-ecs Run Environment runs its Tasks, as `label: value` pairs (defaults spelled out). */
export function ecsFields(env: EcsRunEnvironment): [string, string][] {
  const capacity = env.capacity_provider_strategy
    ? env.capacity_provider_strategy.map((c) => `${c.capacity_provider} (weight ${c.weight}, base ${c.base})`).join('\n')
    : env.launch_type === 'FARGATE_SPOT'
      ? 'FARGATE_SPOT (through the FARGATE_SPOT capacity provider)'
      : 'FARGATE';
  const fields: [string, string][] = [
    ['Region', env.region],
    ['Cluster', env.cluster],
    ['Subnets', env.subnets.join('\n')],
    ['Security groups', env.security_groups.join('\n')],
    ['Public IP', yesNo(env.assign_public_ip ?? false)],
    ['Capacity', capacity],
    ['Platform version', env.platform_version ?? 'LATEST'],
    ['Execution role', env.execution_role_arn],
    ['Task role', env.task_role_arn ?? '- (none)'],
    ['Control role', env.role_arn ?? "- (the server's default AWS credentials)"],
  ];
  if (env.external_id !== undefined) fields.push(['External ID', env.external_id]);
  fields.push(
    ['Log group', env.log_group ?? `/berth/${env.name}  (default)`],
    ['Log streams', `${env.log_stream_prefix ?? 'berth'}/<container>/<ECS task id>`],
    ['Task definitions', `family ${env.task_definition_prefix ?? 'berth-'}<task name>`],
    [
      'Launch rate',
      env.launch_rate ? `at most ${env.launch_rate.per_second} RunTask calls per second (bursts of ${env.launch_rate.burst})` : '-',
    ],
    ['Wrapper API URL', env.api_url ?? '- (not passed to containers)'],
    ['Wrapper API key', env.api_key_secret ?? '- (not passed to containers)'],
    ['Tags', mapping(env.tags ?? {})],
  );
  if (env.endpoint_url !== undefined) fields.push(['AWS endpoint', `${env.endpoint_url}  (instead of AWS)`]);
  return fields;
}

export function registerRunEnvironments(program: Command): void {
  const envs = program
    .command('run-environments')
    .alias('envs')
    .summary('list and show Run Environments')
    .description('List and show Run Environments (where Tasks run). Create and change them with `berth apply`.');
  envs.addHelpText('after', '\nExamples:\n  $ berth run-environments ls\n  $ berth envs show local\n  $ berth envs show prod-ecs --json');

  const ls = envs.command('ls').alias('list').description('List Run Environments by name.');
  withPaging(ls);
  withCommonOptions(ls);
  ls.addHelpText('after', '\nExamples:\n  $ berth envs ls\n  $ berth envs ls --json');
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<RunEnvironment>>('/api/v1/run_environments', { limit: flags.limit, offset: flags.offset });
    out.listPage(page, flags.offset, 'Run Environments', [
      { header: 'NAME' },
      { header: 'KIND' },
      { header: 'ENV VARS', right: true },
      { header: 'SECRETS', right: true },
      { header: 'CREATED' },
      { header: 'DESCRIPTION' },
    ], (e) => [
      e.name,
      e.kind,
      String(Object.keys(e.environment).length),
      String(Object.keys(e.secrets).length),
      relativeTime(e.created_at),
      truncate(orDash(e.description), 50),
    ]);
  });

  const show = envs
    .command('show')
    .description('Show a Run Environment (for aws-ecs: region, cluster, network, roles, logs, launch rate, wrapper settings).')
    .argument('<run-environment>', 'name or uuid');
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth envs show local\n  $ berth envs show local --json');
  show.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const env = await client.get<RunEnvironment>(`/api/v1/run_environments/${seg(name)}`);
    if (out.json) return out.printJson(env);
    const kindFields: [string, string][] =
      env.kind === 'local' ? [['Working directory', env.working_directory ?? "- (the server's default)"]] : ecsFields(env);
    out.fields([
      ['Name', env.name],
      ['UUID', env.uuid],
      ['Kind', env.kind],
      ['Description', orDash(env.description)],
      ...kindFields,
      ['Environment', mapping(env.environment)],
      ['Secrets', mapping(env.secrets)],
      ['Created', timeWithRelative(env.created_at)],
      ['Updated', timeWithRelative(env.updated_at)],
    ]);
  });
}
