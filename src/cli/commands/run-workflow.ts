import type { Command } from 'commander';
import type { WorkflowExecution } from '../../domain/workflow.js';
import { contextFor, withCommonOptions } from '../common.js';
import type { CommonFlags } from '../common.js';
import { ExitRequest } from '../errors.js';
import type { Output } from '../output.js';
import { printWorkflowExecution, stateColour, waitForWorkflowExecution, workflowResultLine } from '../workflow-output.js';
import { parseEnvOption } from './run.js';

interface RunWorkflowFlags extends CommonFlags {
  wait?: boolean;
  env?: Record<string, string>;
}

/** Prints a Workflow Execution that is over and exits 0 if it succeeded, 1 otherwise. */
export function finishWaiting(out: Output, final: WorkflowExecution): void {
  if (out.json) out.printJson(final);
  else {
    printWorkflowExecution(out, final);
    out.note(out.paintErr(stateColour(final.status), workflowResultLine(final)));
  }
  if (final.status !== 'SUCCEEDED') throw new ExitRequest(1);
}

export function registerRunWorkflow(program: Command): void {
  const command = program
    .command('run-workflow')
    .summary('start a Workflow (and optionally wait for it)')
    .description(
      'Start a Workflow: its first task instances are queued at once, the others as their transitions fire. ' +
        'Prints the Workflow Execution uuid, or with --wait waits until it ends, prints its graph and exits 0 if it succeeded, 1 otherwise.',
    )
    .argument('<workflow>', 'name or uuid of the Workflow')
    .option('-w, --wait', 'wait until it ends; exit 0 if it SUCCEEDED, 1 otherwise')
    .option('-e, --env <NAME=VALUE>', 'set an environment variable for every instance of this run (repeatable)', parseEnvOption);
  withCommonOptions(command);
  command.addHelpText(
    'after',
    `
Exit codes: 0 started (or, with --wait, SUCCEEDED); 1 an error, or with --wait FAILED,
STOPPED or TERMINATED_AFTER_TIME_OUT; 130 you pressed Ctrl-C while waiting (the Workflow
Execution keeps running; stop it with berth workflow-executions stop).

With --json, stdout has only the Workflow Execution as the API returns it (the final one with --wait).

Examples:
  $ berth run-workflow nightly
  $ berth run-workflow nightly --wait
  $ berth run-workflow nightly --wait -e REPORT_DATE=2024-01-31`,
  );
  command.action(async (workflow: string, flags: RunWorkflowFlags) => {
    const { client, out, env } = contextFor(flags);
    const body: Record<string, unknown> = { workflow };
    if (flags.env && Object.keys(flags.env).length > 0) body.environment = flags.env;
    const created = await client.post<WorkflowExecution>('/api/v1/workflow_executions', body);
    if (!flags.wait) {
      if (out.json) return out.printJson(created);
      out.line(created.uuid);
      out.note(`Started ${created.workflow.name} (${created.status}). See it with: berth workflow-executions show ${created.uuid}`);
      return;
    }
    if (!out.json) {
      out.note(out.paintErr('dim', `Started ${created.workflow.name}: workflow execution ${created.uuid}. Waiting for it to end (Ctrl-C stops waiting, not the workflow).`));
    }
    finishWaiting(out, await waitForWorkflowExecution(client, out, env, created.uuid));
  });
}
