/**
 * The state-transition function of a Workflow Execution: given its definition, its stored state
 * and the executions of its instances, what to start now, which instances are skipped, what to
 * stop, and the Workflow Execution's status. Pure: the engine on the server calls it inside a
 * transaction and writes what it says; the API calls it to show the live graph.
 *
 * Semantics (docs/workflows.md says the same for users):
 *
 * - An instance's *current run* is its newest execution in this attempt of the Workflow
 *   Execution. A retry starts a new attempt: runs of earlier attempts are kept only if they
 *   succeeded (and, defensively, while they still run); every other instance is evaluated again.
 * - A transition is PENDING until its source finishes; then FIRED or NOT_FIRED by its rule.
 *   A transition whose source was SKIPPED is VOID: it is left out of the target's start
 *   condition, as if it were not there. A target whose incoming transitions are all VOID is
 *   skipped too, so skipping propagates down a branch that was not taken, while a join after
 *   two exclusive branches ("B on success, C on failure, then D") waits only for the branch
 *   that ran.
 * - Start conditions count the non-void incoming transitions: `all` starts when every one fired
 *   (and is skipped as soon as one did not); `any` starts on the first that fires (skipped when
 *   none can); `count_at_least N` when N fired (skipped when fewer than N can); `ratio_at_least
 *   R` when fired/non-void ≥ R even if every pending one ends up not firing, and is skipped
 *   once R cannot be reached even if every pending one fires. Instances without incoming
 *   transitions start at once; independent branches run in parallel.
 * - A failed instance counts against the Workflow Execution with `fail_workflow`, with
 *   `fail_if_unhandled` when none of its outgoing transitions fired, never with `ignore`. An
 *   instance that could not be started at all (its Task is missing or disabled) always counts.
 *   A failure does not stop other branches: the Workflow Execution ends when nothing runs and
 *   nothing more can start, FAILED if any failure counted, else SUCCEEDED.
 * - A stop request and the Workflow timeout end it early: it becomes STOPPING, its running
 *   executions are stopped, nothing new starts, and once none runs it is STOPPED or
 *   TERMINATED_AFTER_TIME_OUT.
 */
import type { EdgeState, ExecutionFacts, NodeState, WorkflowExecutionStatus, WorkflowFailure, WorkflowSpec, WorkflowStopReason } from './workflow.js';
import { executionFinished, executionSucceeded, ruleFires, topologicalOrder } from './workflow.js';
import type { StartCondition } from './workflow.js';

/** One run of an instance: the link between the Workflow Execution and a Task Execution. */
export interface RunFacts {
  run_number: number;
  /** The attempt of the Workflow Execution that started it. */
  workflow_attempt: number;
  /** Null when the Task Execution no longer exists (its Task was deleted). */
  execution: ExecutionFacts | null;
}

/** What the store holds about the Workflow Execution itself. */
export interface WorkflowExecutionFacts {
  status: WorkflowExecutionStatus;
  stop_reason: WorkflowStopReason | null;
  attempt: number;
  /** When the current attempt started: the Workflow timeout counts from here. */
  attempt_started_at: number;
  /** Instances whose execution could not be created in this attempt, with why. */
  start_failures: Readonly<Record<string, string>>;
}

export interface ConditionCounts {
  fired: number;
  not_fired: number;
  pending: number;
  void: number;
}

export interface NodeEvaluation {
  name: string;
  state: NodeState;
  /** The run that decides its state, if it has one. */
  run: RunFacts | null;
  /** Its failure counts against the Workflow Execution. */
  fails_workflow: boolean;
  incoming: ConditionCounts;
  start_failure: string | null;
}

export interface EdgeEvaluation {
  index: number;
  from: string;
  to: string;
  state: EdgeState;
}

export interface WorkflowEvaluation {
  /** The status the Workflow Execution should have now. */
  status: WorkflowExecutionStatus;
  stop_reason: WorkflowStopReason | null;
  /** Why it did not succeed (once it is final), else null. */
  failure: WorkflowFailure | null;
  /** Instances to start now, in topological order (only while RUNNING). */
  start: string[];
  /** Task Executions to ask to stop (while STOPPING): running ones not already stopping. */
  stop: string[];
  /** Its status is final and none of its executions runs: it is over. */
  finished: boolean;
  /** Every instance, in topological order. */
  nodes: NodeEvaluation[];
  /** Every transition, in definition order. */
  edges: EdgeEvaluation[];
}

/**
 * What a start condition says for the counts of an instance's incoming transitions: start it,
 * skip it (it can no longer be met), or wait. An instance with no incoming transitions starts.
 */
export function decideStart(condition: StartCondition, c: ConditionCounts): 'start' | 'skip' | 'wait' {
  if (c.fired + c.not_fired + c.pending + c.void === 0) return 'start';
  const live = c.fired + c.not_fired + c.pending;
  if (live === 0) return 'skip';
  const need =
    condition === 'all'
      ? live
      : condition === 'any'
        ? 1
        : 'count_at_least' in condition
          ? condition.count_at_least
          : // Least whole number of fired transitions that reaches the ratio (with a margin for
            // binary fractions: 0.3 × 10 must need 3, not 4).
            Math.max(1, Math.ceil(condition.ratio_at_least * live - 1e-9));
  if (c.fired >= need) return 'start';
  if (c.fired + c.pending < need) return 'skip';
  return 'wait';
}

/** The Task Execution statuses a stop request still has to reach. */
function needsStop(e: ExecutionFacts): boolean {
  return !executionFinished(e.status) && e.status !== 'STOPPING';
}

/** Facts of a run whose execution vanished: it counts as lost. */
function lostFacts(run: RunFacts, status: 'ABANDONED' | 'FAILED'): ExecutionFacts {
  return {
    uuid: '00000000-0000-0000-0000-000000000000',
    status,
    exit_code: null,
    success_count: null,
    error_count: null,
    skipped_count: null,
    expected_count: null,
    attempt: run.run_number,
    failed_attempts: 0,
    timed_out_attempts: 0,
    started_at: null,
    finished_at: null,
    stop_reason: null,
    last_status_message: null,
    output_value: null,
  };
}

/** The run that decides an instance's state in the current attempt (see the module comment). */
export function currentRun(runs: readonly RunFacts[], attempt: number): RunFacts | null {
  let latest: RunFacts | null = null;
  for (const run of runs) if (!latest || run.run_number > latest.run_number) latest = run;
  if (!latest) return null;
  if (latest.workflow_attempt === attempt) return latest;
  if (latest.execution === null) return null;
  if (!executionFinished(latest.execution.status) || executionSucceeded(latest.execution.status)) return latest;
  return null;
}

function statusWord(e: ExecutionFacts): string {
  return e.exit_code !== null && e.status === 'FAILED' ? `FAILED (exit code ${e.exit_code})` : e.status;
}

/**
 * Evaluates a Workflow Execution (see the module comment for the rules). `runs` maps instance
 * names to their runs, in any order; instances missing from it have not run.
 *
 * @example
 *   const step = evaluateWorkflow(spec, facts, runsByInstance, Date.now());
 *   for (const name of step.start) startInstance(name);
 */
export function evaluateWorkflow(
  spec: Pick<WorkflowSpec, 'task_instances' | 'transitions' | 'timeout_seconds'>,
  wfe: WorkflowExecutionFacts,
  runs: ReadonlyMap<string, readonly RunFacts[]>,
  now: number,
): WorkflowEvaluation {
  const sorted = topologicalOrder(spec);
  if (!sorted.order) throw new Error(`workflow definition has a cycle (${sorted.cycle.names.join(' → ')}); it should have been refused`);
  const instances = new Map(spec.task_instances.map((i) => [i.name, i]));
  const edgeStates: EdgeState[] = spec.transitions.map(() => 'PENDING');
  const incomingOf = new Map<string, number[]>();
  const outgoingOf = new Map<string, number[]>();
  spec.transitions.forEach((t, index) => {
    incomingOf.set(t.to, [...(incomingOf.get(t.to) ?? []), index]);
    outgoingOf.set(t.from, [...(outgoingOf.get(t.from) ?? []), index]);
  });

  let status = wfe.status;
  let stopReason = wfe.stop_reason;
  const timeoutMs = spec.timeout_seconds === null ? null : spec.timeout_seconds * 1000;
  const timedOut = status === 'RUNNING' && timeoutMs !== null && now >= wfe.attempt_started_at + timeoutMs;
  // Whether new executions may still start in this evaluation.
  const open = status === 'RUNNING' && !timedOut;
  // Ended early (a stop, the timeout): instances that did not run were cut off, not skipped.
  const interrupted = timedOut || status === 'STOPPING' || status === 'STOPPED' || status === 'TERMINATED_AFTER_TIME_OUT';

  const nodes: NodeEvaluation[] = [];
  for (const name of sorted.order) {
    const instance = instances.get(name)!;
    const incoming: ConditionCounts = { fired: 0, not_fired: 0, pending: 0, void: 0 };
    for (const index of incomingOf.get(name) ?? []) {
      const s = edgeStates[index]!;
      if (s === 'FIRED') incoming.fired++;
      else if (s === 'NOT_FIRED') incoming.not_fired++;
      else if (s === 'VOID') incoming.void++;
      else incoming.pending++;
    }
    const outgoing = outgoingOf.get(name) ?? [];
    const startFailure = wfe.start_failures[name] ?? null;
    const run = currentRun(runs.get(name) ?? [], wfe.attempt);
    const node: NodeEvaluation = { name, state: 'WAITING', run, fails_workflow: false, incoming, start_failure: startFailure };
    nodes.push(node);

    const finish = (facts: ExecutionFacts) => {
      const succeeded = executionSucceeded(facts.status);
      let anyFired = false;
      for (const index of outgoing) {
        const fired = ruleFires(spec.transitions[index]!, facts);
        edgeStates[index] = fired ? 'FIRED' : 'NOT_FIRED';
        anyFired ||= fired;
      }
      node.state = succeeded ? 'SUCCEEDED' : 'FAILED';
      if (!succeeded) {
        node.fails_workflow =
          instance.failure_behavior === 'fail_workflow' || (instance.failure_behavior === 'fail_if_unhandled' && !anyFired);
      }
    };

    if (run) {
      const facts = run.execution ?? lostFacts(run, 'ABANDONED');
      if (executionFinished(facts.status)) finish(facts);
      else node.state = 'RUNNING';
      continue;
    }
    if (startFailure !== null) {
      finish(lostFacts({ run_number: 0, workflow_attempt: wfe.attempt, execution: null }, 'FAILED'));
      node.fails_workflow = true;
      continue;
    }
    const decision = decideStart(instance.start_condition, incoming);
    if (interrupted) {
      // Its outgoing transitions stay PENDING, so what follows is NOT_STARTED too.
      node.state = 'NOT_STARTED';
    } else if (decision === 'skip') {
      node.state = 'SKIPPED';
      for (const index of outgoing) edgeStates[index] = 'VOID';
    } else if (!open) {
      node.state = 'NOT_STARTED';
    } else {
      node.state = decision === 'start' ? 'READY' : 'WAITING';
    }
  }

  const running = nodes.filter((n) => n.state === 'RUNNING');
  const ready = nodes.filter((n) => n.state === 'READY');
  let failure: WorkflowFailure | null = null;
  let start: string[] = [];
  let stop: string[] = [];
  let finished = false;

  const finalOf = (reason: WorkflowStopReason | null): WorkflowExecutionStatus =>
    reason === 'MAX_EXECUTION_TIME_EXCEEDED' ? 'TERMINATED_AFTER_TIME_OUT' : 'STOPPED';
  const stopFailure = (reason: WorkflowStopReason | null): WorkflowFailure =>
    reason === 'MAX_EXECUTION_TIME_EXCEEDED'
      ? {
          code: 'TIMEOUT',
          message: `It ran longer than its timeout_seconds (${spec.timeout_seconds}); its running executions were stopped.`,
          instances: [],
        }
      : { code: 'STOPPED', message: 'It was stopped on request; its running executions were stopped.', instances: [] };

  if (status === 'RUNNING' && timedOut) {
    stopReason = 'MAX_EXECUTION_TIME_EXCEEDED';
    status = 'STOPPING';
  }
  if (status === 'RUNNING') {
    if (ready.length > 0 || running.length > 0) {
      start = ready.map((n) => n.name);
    } else {
      const failing = nodes.filter((n) => n.fails_workflow);
      finished = true;
      if (failing.length === 0) status = 'SUCCEEDED';
      else {
        status = 'FAILED';
        const notStarted = failing.filter((n) => n.start_failure !== null);
        const parts = failing.map((n) => {
          if (n.start_failure !== null) return `"${n.name}" could not start: ${n.start_failure}`;
          const facts = n.run?.execution;
          const how = facts ? statusWord(facts) : 'lost (its execution was deleted)';
          const behaviour = instances.get(n.name)!.failure_behavior;
          return behaviour === 'fail_workflow'
            ? `"${n.name}" ended ${how} (failure_behavior: fail_workflow)`
            : `"${n.name}" ended ${how} and no transition handled it (failure_behavior: fail_if_unhandled)`;
        });
        failure = {
          code: notStarted.length > 0 ? 'INSTANCE_START_FAILED' : 'INSTANCE_FAILED',
          message: `${parts.join('; ')}.`,
          instances: failing.map((n) => n.name),
        };
      }
    }
  }
  if (status === 'STOPPING') {
    stop = running.flatMap((n) => (n.run?.execution && needsStop(n.run.execution) ? [n.run.execution.uuid] : []));
    if (running.length === 0) {
      status = finalOf(stopReason);
      finished = true;
      failure = stopFailure(stopReason);
    }
  } else if (status !== 'RUNNING' && running.length === 0) {
    // Final already (stored); nothing runs.
    finished = true;
  }

  const edges: EdgeEvaluation[] = spec.transitions.map((t, index) => ({ index, from: t.from, to: t.to, state: edgeStates[index]! }));
  return { status, stop_reason: stopReason, failure, start, stop, finished, nodes, edges };
}
