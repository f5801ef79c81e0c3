import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { WORKFLOW_EXECUTION_STATUSES } from '../../domain/workflow.js';
import type { WorkflowExecution, WorkflowExecutionSummary } from '../../domain/workflow.js';
import { seg } from '../client.js';
import { contextFor, uuidArg, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { durationBetween, relativeTime } from '../output.js';
import { printWorkflowExecution, stateColour, waitForWorkflowExecution } from '../workflow-output.js';
import { finishWaiting } from './run-workflow.js';

interface ListFlags extends CommonFlags {
  workflow?: string;
  status?: string;
  limit: number;
  offset: number;
}

interface WaitFlags extends CommonFlags {
  wait?: boolean;
}

/** Validates `--status failed,stopped,in_progress` and returns it upper-cased. */
export function parseWorkflowStatusList(raw: string): string {
  const parts = raw
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (parts.length === 0) throw new InvalidArgumentError('give at least one status.');
  for (const part of parts) {
    if (part !== 'IN_PROGRESS' && !(WORKFLOW_EXECUTION_STATUSES as readonly string[]).includes(part)) {
      throw new InvalidArgumentError(`unknown status "${part}"; use ${WORKFLOW_EXECUTION_STATUSES.join(', ')} or IN_PROGRESS, comma-separated.`);
    }
  }
  return parts.join(',');
}

export function registerWorkflowExecutions(program: Command): void {
  const group = program
    .command('workflow-executions')
    .alias('wfx')
    .summary('list, show, stop and retry Workflow Executions')
    .description('List, show (with the graph and each node\'s state), stop and retry Workflow Executions (runs of Workflows).');
  group.addHelpText(
    'after',
    `
Examples:
  $ berth workflow-executions ls --workflow nightly
  $ berth workflow-executions show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f
  $ berth workflow-executions stop 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f
  $ berth workflow-executions retry 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --wait`,
  );

  const ls = group
    .command('ls')
    .alias('list')
    .description('List Workflow Executions, newest first.')
    .option('--workflow <workflow>', 'only executions of this Workflow (name or uuid)')
    .option('--status <statuses>', 'only these statuses, comma-separated (IN_PROGRESS = RUNNING or STOPPING)', parseWorkflowStatusList);
  withPaging(ls);
  withCommonOptions(ls);
  ls.addHelpText('after', `\nStatuses: ${WORKFLOW_EXECUTION_STATUSES.join(', ')}, IN_PROGRESS.\n\nExamples:\n  $ berth workflow-executions ls\n  $ berth workflow-executions ls --workflow nightly --status failed`);
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<WorkflowExecutionSummary>>('/api/v1/workflow_executions', {
      workflow: flags.workflow,
      status: flags.status,
      limit: flags.limit,
      offset: flags.offset,
    });
    out.listPage(page, flags.offset, 'workflow executions', [
      { header: 'UUID' },
      { header: 'WORKFLOW' },
      { header: 'STATUS', colour: stateColour },
      { header: 'REASON' },
      { header: 'ATTEMPT', right: true },
      { header: 'CREATED' },
      { header: 'DURATION', right: true },
    ], (w) => [
      w.uuid,
      w.workflow.name,
      w.status,
      w.run_reason,
      String(w.attempt),
      relativeTime(w.created_at),
      durationBetween(w.attempt_started_at, w.finished_at),
    ]);
  });

  const show = group
    .command('show')
    .description('Show one Workflow Execution: status, failure, times, and its graph with each node\'s state and execution.')
    .argument('<execution>', 'workflow execution uuid', uuidArg);
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth workflow-executions show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f\n  $ berth workflow-executions show 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --json');
  show.action(async (uuid: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const wfe = await client.get<WorkflowExecution>(`/api/v1/workflow_executions/${seg(uuid)}`);
    if (out.json) return out.printJson(wfe);
    printWorkflowExecution(out, wfe);
  });

  const stop = group
    .command('stop')
    .description('Stop a Workflow Execution: nothing more starts, and every execution in it that runs is stopped.')
    .argument('<execution>', 'workflow execution uuid', uuidArg)
    .option('-w, --wait', 'wait until every execution in it has ended');
  withCommonOptions(stop);
  stop.addHelpText('after', '\nExamples:\n  $ berth workflow-executions stop 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --wait');
  stop.action(async (uuid: string, flags: WaitFlags) => {
    const { client, out, env } = contextFor(flags);
    let wfe = await client.patch<WorkflowExecution>(`/api/v1/workflow_executions/${seg(uuid)}`, { status: 'STOPPING' });
    if (flags.wait && wfe.finished_at === null) {
      wfe = await waitForWorkflowExecution(client, out, env, uuid, `Stopped waiting. The stop request stands; see how it ends with: berth workflow-executions show ${uuid}`);
    }
    if (out.json) return out.printJson(wfe);
    out.line(`${wfe.workflow.name} ${uuid}: ${out.paint(stateColour(wfe.status), wfe.status)}`);
    if (wfe.finished_at === null) out.note(`Stop requested. Wait for it with: berth workflow-executions stop ${uuid} --wait`);
  });

  const retry = group
    .command('retry')
    .description(
      'Retry a Workflow Execution that FAILED, was STOPPED or timed out, from where it failed: instances that succeeded are kept, the others run again.',
    )
    .argument('<execution>', 'workflow execution uuid', uuidArg)
    .option('-w, --wait', 'wait until it ends; exit 0 if it SUCCEEDED, 1 otherwise');
  withCommonOptions(retry);
  retry.addHelpText('after', '\nExamples:\n  $ berth workflow-executions retry 0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f --wait');
  retry.action(async (uuid: string, flags: WaitFlags) => {
    const { client, out, env } = contextFor(flags);
    const wfe = await client.post<WorkflowExecution>(`/api/v1/workflow_executions/${seg(uuid)}/retry`, {});
    if (!flags.wait) {
      if (out.json) return out.printJson(wfe);
      out.line(`${wfe.workflow.name} ${uuid}: ${out.paint(stateColour(wfe.status), wfe.status)} (attempt ${wfe.attempt})`);
      return;
    }
    finishWaiting(out, await waitForWorkflowExecution(client, out, env, uuid));
  });
}
