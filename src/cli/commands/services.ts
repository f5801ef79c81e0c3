import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { revisionOf } from '../../domain/service.js';
import type { ServiceDeployment } from '../../domain/service.js';
import type { ApiClient } from '../client.js';
import { seg } from '../client.js';
import { contextFor, intArg, sleep, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { ExitRequest } from '../errors.js';
import { orDash, relativeTime } from '../output.js';
import type { Output } from '../output.js';

/** A Service as the API returns it (GET /api/v1/services/{task}). */
export interface ServiceResource {
  task: { uuid: string; name: string };
  run_environment: { uuid: string; name: string };
  name: string | null;
  status: string | null;
  health: 'healthy' | 'deploying' | 'below_minimum' | 'failed' | 'not_deployed' | 'unknown';
  desired_count: number | null;
  running_count: number | null;
  pending_count: number | null;
  minimum_healthy_count: number;
  task_definition: string | null;
  deployed_task_definition: string | null;
  previous_task_definition: string | null;
  deployed_at: string | null;
  rollout: { state: 'in_progress' | 'stable' | 'failed'; message: string } | null;
  below_minimum_since: string | null;
  deployments: ServiceDeployment[];
  events: { created_at: string | null; message: string }[];
  load_balancer: { stack_name: string; stack_status: string | null; dns_name: string | null; target_group_arn: string | null } | null;
  observed_at: string | null;
}

export interface ServiceStepView {
  resource: string;
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'delete';
  detail: string;
}

export interface DeployResult {
  dry_run: boolean;
  steps: ServiceStepView[];
  task_definition_arn: string | null;
  previous_task_definition_arn: string | null;
}

interface WaitFlags extends CommonFlags {
  wait?: boolean;
  timeout: number;
  pollInterval: number;
}

const SYMBOL = { create: '+', update: '~', unchanged: '=', delete: '-' } as const;
const COLOUR = { create: 'green', update: 'yellow', unchanged: 'dim', delete: 'red' } as const;
const HEALTH_COLOUR = { healthy: 'green', deploying: 'yellow', below_minimum: 'red', failed: 'red', not_deployed: 'dim', unknown: 'dim' } as const;

/** `+ ECS service berth-web (create): berth-web:1, desired count 2`, one line per step. */
export function printSteps(out: Output, steps: readonly ServiceStepView[], indent = ''): void {
  for (const s of steps) out.line(out.paint(COLOUR[s.action], `${indent}${SYMBOL[s.action]} ${s.resource} ${s.name} (${s.action})${s.detail ? `: ${s.detail}` : ''}`));
}

function secondsArg(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`must be a number of seconds between ${min} and ${max}, got "${value}".`);
    return n;
  };
}

/** Adds --no-wait, --timeout and --poll-interval to a command that changes a Service. */
export function withWaitOptions(command: Command): Command {
  return command
    .option('--no-wait', 'return once ECS accepted the change, without waiting for the service to become stable')
    .option('--timeout <seconds>', 'how long to wait for the service to become stable', secondsArg(1, 24 * 3600), 900)
    .option('--poll-interval <seconds>', 'how often to look while waiting', secondsArg(0.1, 60), 5);
}

function countsLine(s: ServiceResource): string {
  return `${orDash(s.running_count)} running, ${orDash(s.pending_count)} pending, ${orDash(s.desired_count)} desired`;
}

/**
 * Follows a Service until its rollout is stable or failed, printing a line whenever the rollout
 * state or the counts change and every new service event. Returns the final Service; throws
 * ExitRequest(1) after printing why when it failed or the time ran out.
 */
export async function waitForService(
  client: ApiClient,
  out: Output,
  name: string,
  options: { timeoutSeconds: number; pollSeconds: number; since?: number },
): Promise<ServiceResource> {
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  // Events from before the change was asked for are history, not progress.
  const since = options.since ?? Date.now();
  const seen = new Set<string>();
  let last = '';
  let first = true;
  for (;;) {
    const s = await client.get<ServiceResource>(`/api/v1/services/${seg(name)}`);
    if (first) {
      for (const e of s.events) if (e.created_at === null || Date.parse(e.created_at) < since - 1000) seen.add(`${e.created_at}|${e.message}`);
      first = false;
    }
    const primary = s.deployments.find((d) => d.status === 'PRIMARY');
    const line = `${name}: ${primary?.rollout_state ?? s.status ?? 'unknown'} ${primary ? revisionOf(primary.task_definition) : ''} — ${countsLine(s)}${s.deployments.length > 1 ? ` (${s.deployments.length} deployments)` : ''}`;
    if (line !== last && !out.json) out.note(line);
    last = line;
    for (const e of [...s.events].reverse()) {
      const key = `${e.created_at}|${e.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (!out.json) out.note(out.paintErr('dim', `  event: ${e.message}`));
    }
    if (s.rollout?.state === 'stable') {
      if (!out.json) out.note(out.paintErr('green', `✓ ${name}: ${s.rollout.message}`));
      return s;
    }
    if (s.rollout?.state === 'failed' || s.status === 'MISSING') {
      if (out.json) out.printJson(s);
      out.note(out.paintErr('red', `✗ ${name}: the deployment failed: ${s.rollout?.message ?? 'ECS has no such service'}`));
      throw new ExitRequest(1);
    }
    if (Date.now() >= deadline) {
      if (out.json) out.printJson(s);
      out.note(
        out.paintErr(
          'red',
          `✗ ${name}: not stable after ${options.timeoutSeconds} s (${s.rollout?.message ?? countsLine(s)}). ECS goes on; follow it with: berth services show ${name}`,
        ),
      );
      throw new ExitRequest(1);
    }
    await sleep(options.pollSeconds * 1000);
  }
}

export function registerServices(program: Command): void {
  const services = program
    .command('services')
    .summary('deploy, roll back, scale and watch Services (Tasks with service: settings)')
    .description(
      'Services are Tasks with service: settings, run as ECS services (aws-ecs): desired_count copies always running, optionally behind a load balancer. ' +
        'berth apply deploys the ones it changes; these commands deploy, roll back, scale and show them one by one.',
    );
  services.addHelpText(
    'after',
    `
Examples:
  $ berth services ls
  $ berth services show web
  $ berth services deploy web            # waits until ECS reports the service stable
  $ berth services deploy web --dry-run  # what would change, nothing changed
  $ berth services rollback web
  $ berth services scale web 4
  $ berth services template web > web-lb.yaml`,
  );

  const ls = services.command('ls').alias('list').description('List Services with their health, counts and revision, as the monitor last saw them.');
  withCommonOptions(ls);
  ls.action(async (flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<{ count: number; results: ServiceResource[] }>('/api/v1/services');
    if (out.json) return out.printJson(page);
    if (page.results.length === 0) {
      out.note('No Services. Give a Task service: settings in berth.yaml (docs/services.md) and apply it.');
      return;
    }
    out.table(
      [
        { header: 'NAME' },
        { header: 'HEALTH' },
        { header: 'RUNNING', right: true },
        { header: 'DESIRED', right: true },
        { header: 'MIN', right: true },
        { header: 'REVISION' },
        { header: 'LAST EVENT' },
        { header: 'SEEN' },
      ],
      page.results.map((s) => [
        s.task.name,
        out.paint(HEALTH_COLOUR[s.health], s.health),
        orDash(s.running_count),
        orDash(s.desired_count),
        String(s.minimum_healthy_count),
        s.task_definition ? revisionOf(s.task_definition) : '-',
        s.events[0]?.message ?? '-',
        relativeTime(s.observed_at),
      ]),
    );
  });

  const show = services.command('show').description('Show one Service as ECS reports it now: health, counts, deployments, recent events, load balancer.').argument('<task>', 'name or uuid of the Service\'s Task');
  withCommonOptions(show);
  show.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const s = await client.get<ServiceResource>(`/api/v1/services/${seg(name)}`);
    if (out.json) return out.printJson(s);
    out.fields([
      ['Service', `${s.task.name}${s.name ? ` (ECS service ${s.name})` : ''}`],
      ['Run Environment', s.run_environment.name],
      ['Health', out.paint(HEALTH_COLOUR[s.health], s.health)],
      ['Counts', `${countsLine(s)}, minimum ${s.minimum_healthy_count}`],
      ['Revision', s.task_definition ? revisionOf(s.task_definition) : '-'],
      ['Deployed by Berth', s.deployed_task_definition ? `${revisionOf(s.deployed_task_definition)} ${relativeTime(s.deployed_at)}` : '-'],
      ['Previous', s.previous_task_definition ? revisionOf(s.previous_task_definition) : '-'],
      ['Rollout', s.rollout ? `${s.rollout.state}: ${s.rollout.message}` : '-'],
      ...(s.below_minimum_since ? ([['Below minimum since', relativeTime(s.below_minimum_since)]] as [string, string][]) : []),
      ...(s.load_balancer
        ? ([
            ['Load balancer', `${s.load_balancer.dns_name ?? '-'} (stack ${s.load_balancer.stack_name}: ${s.load_balancer.stack_status ?? 'not created'})`],
          ] as [string, string][])
        : []),
    ]);
    if (s.deployments.length > 0) {
      out.line();
      out.table(
        [{ header: 'DEPLOYMENT' }, { header: 'STATUS' }, { header: 'REVISION' }, { header: 'ROLLOUT' }, { header: 'RUNNING', right: true }, { header: 'PENDING', right: true }, { header: 'DESIRED', right: true }, { header: 'FAILED', right: true }],
        s.deployments.map((d) => [d.id, d.status, revisionOf(d.task_definition), d.rollout_state ?? '-', String(d.running_count), String(d.pending_count), String(d.desired_count), String(d.failed_tasks)]),
      );
    }
    if (s.events.length > 0) {
      out.line();
      out.line('Recent events:');
      for (const e of s.events) out.line(`  ${e.created_at ? relativeTime(e.created_at) : ''}  ${e.message}`);
    }
  });

  const deploy = services
    .command('deploy')
    .description('Deploy a Service: its load balancer stack, a new task definition revision if the Task changed, the ECS service, autoscaling; then wait until ECS reports it stable.')
    .argument('<task>', 'name or uuid of the Service\'s Task')
    .option('--dry-run', 'show what would change, change nothing');
  withWaitOptions(deploy);
  withCommonOptions(deploy);
  deploy.addHelpText(
    'after',
    `
Exit codes: 0 deployed and stable (or accepted, with --no-wait); 1 the deployment failed (the
reason and the last service events are printed), the wait timed out, or an error.

Examples:
  $ berth services deploy web
  $ berth services deploy web --dry-run
  $ berth services deploy web --no-wait --json`,
  );
  deploy.action(async (name: string, flags: WaitFlags & { dryRun?: boolean }) => {
    const { client, out } = contextFor(flags);
    const since = Date.now();
    const result = await client.post<DeployResult>(`/api/v1/services/${seg(name)}/deploy`, { dry_run: flags.dryRun === true });
    await finish(client, out, name, result, flags, flags.dryRun === true ? `Dry run: nothing was changed.` : null, since);
  });

  const rollback = services
    .command('rollback')
    .description('Deploy the revision before the one the Service runs now, and wait until it is stable.')
    .argument('<task>', 'name or uuid of the Service\'s Task');
  withWaitOptions(rollback);
  withCommonOptions(rollback);
  rollback.addHelpText('after', '\nThe next deploy (or berth apply of a changed Task) deploys the Task\'s own definition again.\n\nExamples:\n  $ berth services rollback web');
  rollback.action(async (name: string, flags: WaitFlags) => {
    const { client, out } = contextFor(flags);
    const since = Date.now();
    const result = await client.post<DeployResult>(`/api/v1/services/${seg(name)}/rollback`, {});
    await finish(client, out, name, result, flags, null, since);
  });

  const scale = services
    .command('scale')
    .description('Set the desired count of a Service and wait until it runs that many. The next deploy sets service.desired_count again: change berth.yaml to keep it.')
    .argument('<task>', 'name or uuid of the Service\'s Task')
    .argument('<count>', 'desired count (0–10000)', intArg(0, 10000));
  withWaitOptions(scale);
  withCommonOptions(scale);
  scale.addHelpText('after', '\nExamples:\n  $ berth services scale web 4\n  $ berth services scale web 0   # stop every copy, keep the service');
  scale.action(async (name: string, count: number, flags: WaitFlags) => {
    const { client, out } = contextFor(flags);
    const since = Date.now();
    const result = await client.post<DeployResult>(`/api/v1/services/${seg(name)}/scale`, { desired_count: count });
    await finish(client, out, name, result, flags, null, since);
  });

  const template = services
    .command('template')
    .description("Print a Service's load balancer CloudFormation template (infra/cloudformation/service-load-balancer.yaml) and the parameters Berth deploys it with, to review or deploy yourself.")
    .argument('<task>', 'name or uuid of the Service\'s Task')
    .option('--parameters', 'print only the parameters, as the AWS CLI takes them (ParameterKey=…,ParameterValue=…)');
  withCommonOptions(template);
  template.addHelpText(
    'after',
    `
Examples:
  $ berth services template web > web-lb.yaml
  $ aws cloudformation deploy --stack-name berth-web-lb --template-file web-lb.yaml \\
      --parameter-overrides $(berth services template web --parameters)`,
  );
  template.action(async (name: string, flags: CommonFlags & { parameters?: boolean }) => {
    const { client, out } = contextFor(flags);
    const t = await client.get<{ stack_name: string; template: string; parameters: Record<string, string> }>(`/api/v1/services/${seg(name)}/template`);
    if (out.json) return out.printJson(t);
    if (flags.parameters) {
      out.line(Object.entries(t.parameters).map(([k, v]) => `${k}=${v}`).join(' '));
      return;
    }
    process.stdout.write(t.template.endsWith('\n') ? t.template : `${t.template}\n`);
    out.note(`Stack name: ${t.stack_name}`);
    out.note(`Parameters: ${Object.entries(t.parameters).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  });
}

/** Prints what a deploy, rollback or scale did and, unless told not to, waits for stability. */
async function finish(client: ApiClient, out: Output, name: string, result: DeployResult, flags: WaitFlags, note: string | null, since: number): Promise<void> {
  if (!out.json) {
    printSteps(out, result.steps);
    if (note) out.note(note);
  }
  if (result.dry_run || flags.wait === false) {
    if (out.json) out.printJson(result);
    return;
  }
  const final = await waitForService(client, out, name, { timeoutSeconds: flags.timeout, pollSeconds: flags.pollInterval, since });
  if (out.json) out.printJson({ ...result, service: final });
}
