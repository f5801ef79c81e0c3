/**
 * How the CLI shows Workflows and Workflow Executions (shared by `workflows`, `run-workflow` and
 * `workflow-executions`): the graph as text, each node with its state and execution, each
 * transition under its source; and waiting for a Workflow Execution to end.
 */
import { describeCondition, describeRule } from '../domain/workflow.js';
import type { Workflow, WorkflowExecution, WorkflowNode } from '../domain/workflow.js';
import type { ApiClient } from './client.js';
import { seg } from './client.js';
import { sleep } from './common.js';
import { EXIT } from './errors.js';
import { durationBetween, orDash, statusColour, timeWithRelative } from './output.js';
import type { Colour, Output } from './output.js';
import { Progress } from './progress.js';

/** Colour of a node's or an edge's state. */
export function stateColour(state: string): Colour | null {
  switch (state) {
    case 'SUCCEEDED':
    case 'FIRED':
      return 'green';
    case 'FAILED':
      return 'red';
    case 'RUNNING':
    case 'READY':
      return 'cyan';
    case 'SKIPPED':
    case 'NOT_STARTED':
    case 'NOT_FIRED':
    case 'VOID':
      return 'dim';
    default:
      return statusColour(state);
  }
}

function nodeDetail(node: WorkflowNode): string {
  const parts = [`Task ${node.task.name}`];
  const e = node.execution;
  if (e) {
    let text = `${e.uuid} ${e.status}`;
    if (e.exit_code !== null) text += ` exit ${e.exit_code}`;
    if (e.started_at) text += ` ${e.finished_at ? 'in' : 'for'} ${durationBetween(e.started_at, e.finished_at)}`;
    if (node.runs.length > 1) text += ` (run ${e.run_number} of ${node.runs.length})`;
    parts.push(text);
  }
  if (node.start_failure) parts.push(`could not start: ${node.start_failure}`);
  const incoming = node.incoming.fired + node.incoming.not_fired + node.incoming.pending + node.incoming.void;
  if (incoming > 0 && (node.state === 'WAITING' || node.state === 'SKIPPED' || node.state === 'NOT_STARTED')) {
    const counts = [`${node.incoming.fired} fired`];
    if (node.incoming.not_fired) counts.push(`${node.incoming.not_fired} not fired`);
    if (node.incoming.pending) counts.push(`${node.incoming.pending} pending`);
    if (node.incoming.void) counts.push(`${node.incoming.void} void`);
    parts.push(`start: ${describeCondition(node.start_condition)} (${counts.join(', ')})`);
  }
  if (node.fails_workflow) parts.push('fails the workflow');
  return parts.join(' · ');
}

/**
 * The graph as lines: each instance in an order where every transition goes forward, with its
 * state and execution, then its outgoing transitions with their rule and state:
 *
 *     extract  SUCCEEDED  Task extract · 0b6f… SUCCEEDED exit 0 in 1.2 s
 *       ├─ success → load  FIRED
 *       └─ failure → alert  NOT_FIRED
 */
export function renderGraph(wfe: Pick<WorkflowExecution, 'nodes' | 'edges'>, paint: (colour: Colour | null, text: string) => string = (_c, t) => t): string[] {
  const nameWidth = Math.max(...wfe.nodes.map((n) => n.name.length));
  const stateWidth = Math.max(...wfe.nodes.map((n) => n.state.length));
  const lines: string[] = [];
  for (const node of wfe.nodes) {
    const state = paint(stateColour(node.state), node.state.padEnd(stateWidth));
    lines.push(`${paint('bold', node.name.padEnd(nameWidth))}  ${state}  ${nodeDetail(node)}`);
    const outgoing = wfe.edges.filter((e) => e.from === node.name);
    outgoing.forEach((edge, i) => {
      const branch = i === outgoing.length - 1 ? '└─' : '├─';
      lines.push(`  ${branch} ${edge.rule} → ${edge.to}  ${paint(stateColour(edge.state), edge.state)}`);
    });
  }
  return lines;
}

/** `nightly SUCCEEDED in 12 s`, `nightly FAILED: "load" ended FAILED (exit code 3) …` */
export function workflowResultLine(wfe: WorkflowExecution): string {
  if (wfe.status === 'SUCCEEDED') return `${wfe.workflow.name} SUCCEEDED in ${durationBetween(wfe.attempt_started_at, wfe.finished_at)}`;
  return `${wfe.workflow.name} ${wfe.status}${wfe.failure ? `: ${wfe.failure.message}` : ''}`;
}

/** The readable form of one Workflow Execution: its fields, then its graph. */
export function printWorkflowExecution(out: Output, wfe: WorkflowExecution): void {
  const fields: [string, string][] = [
    ['Workflow Execution', wfe.uuid],
    ['Workflow', `${wfe.workflow.name} (version ${wfe.workflow_version})`],
    ['Status', out.paint(stateColour(wfe.status), wfe.status)],
    ['Run reason', wfe.run_reason],
    ['Attempt', String(wfe.attempt)],
  ];
  if (wfe.stop_reason) fields.push(['Stop reason', wfe.stop_reason]);
  if (wfe.failure) fields.push(['Failure', `${wfe.failure.message}\n(${wfe.failure.code})`]);
  fields.push(
    ['Started', timeWithRelative(wfe.started_at)],
    ...(wfe.attempt > 1 ? ([['Attempt started', timeWithRelative(wfe.attempt_started_at)]] as [string, string][]) : []),
    ['Finished', timeWithRelative(wfe.finished_at)],
    ['Duration', durationBetween(wfe.attempt_started_at, wfe.finished_at)],
  );
  if (Object.keys(wfe.environment).length > 0) {
    fields.push([
      'Environment',
      Object.entries(wfe.environment)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    ]);
  }
  out.fields(fields);
  out.line();
  out.line(out.paint('bold', 'Graph'));
  out.lines(renderGraph(wfe, (colour, text) => out.paint(colour, text)).map((l) => `  ${l}`));
}

/** The readable form of a Workflow definition. */
export function printWorkflow(out: Output, w: Workflow): void {
  out.fields([
    ['Workflow', w.name],
    ['UUID', w.uuid],
    ['Version', String(w.version)],
    ['Description', orDash(w.description)],
    ['Timeout', w.timeout_seconds === null ? '-' : `${w.timeout_seconds} s`],
    ['Updated', timeWithRelative(w.updated_at)],
  ]);
  out.line();
  out.line(out.paint('bold', 'Task instances'));
  out.table(
    [{ header: 'NAME' }, { header: 'TASK' }, { header: 'START' }, { header: 'ON FAILURE' }, { header: 'OVERRIDES' }],
    w.task_instances.map((i) => {
      const overrides: string[] = [];
      if (i.cpu !== null) overrides.push(`cpu ${i.cpu}`);
      if (i.memory !== null) overrides.push(`memory ${i.memory}`);
      if (i.timeout_seconds !== null) overrides.push(`timeout ${i.timeout_seconds} s`);
      const env = Object.keys(i.environment);
      if (env.length > 0) overrides.push(`env ${env.join(',')}`);
      return [i.name, i.task, describeCondition(i.start_condition), i.failure_behavior, overrides.join(', ') || '-'];
    }),
  );
  if (w.transitions.length > 0) {
    out.line();
    out.line(out.paint('bold', 'Transitions'));
    out.table(
      [{ header: 'FROM' }, { header: 'TO' }, { header: 'ON' }],
      w.transitions.map((t) => [t.from, t.to, describeRule(t)]),
    );
  }
}

/** Status line while waiting: `nightly RUNNING · 12 s · 2 running, 3 done`. */
function progressText(wfe: WorkflowExecution): string {
  const running = wfe.nodes.filter((n) => n.state === 'RUNNING' || n.state === 'READY').length;
  const done = wfe.nodes.filter((n) => ['SUCCEEDED', 'FAILED', 'SKIPPED'].includes(n.state)).length;
  return `${wfe.workflow.name} ${wfe.status} · ${durationBetween(wfe.attempt_started_at, null)} · ${running} running, ${done} of ${wfe.nodes.length} done`;
}

/**
 * Polls a Workflow Execution until it is over (its status is final and none of its executions
 * runs). Ctrl-C stops waiting, not the Workflow Execution.
 */
export async function waitForWorkflowExecution(
  client: ApiClient,
  out: Output,
  env: NodeJS.ProcessEnv,
  uuid: string,
  interruptMessage = `Stopped waiting. Workflow Execution ${uuid} keeps running; stop it with: berth workflow-executions stop ${uuid}`,
): Promise<WorkflowExecution> {
  const progress = new Progress(process.stderr, env);
  const interrupted = () => {
    progress.stop();
    out.note(interruptMessage);
    process.exit(EXIT.INTERRUPTED);
  };
  process.once('SIGINT', interrupted);
  const began = Date.now();
  try {
    for (;;) {
      const wfe = await client.get<WorkflowExecution>(`/api/v1/workflow_executions/${seg(uuid)}`);
      if (wfe.finished_at !== null) return wfe;
      progress.update(progressText(wfe));
      await sleep(Date.now() - began < 60_000 ? 300 : 1000);
    }
  } finally {
    progress.stop();
    process.off('SIGINT', interrupted);
  }
}
