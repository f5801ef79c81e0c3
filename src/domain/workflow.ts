/**
 * Workflows: Tasks chained by rules. Glossary:
 *
 * - workflow: a named DAG of task instances joined by transitions, stored as a versioned
 *   definition (this file's `WorkflowSpec`).
 * - task instance: one node: a Task by name, with overrides for this use of it (environment,
 *   cpu, memory, timeout), a start condition and a failure behaviour.
 * - transition: an edge `from → to` with a rule (`on:`) saying for which finished executions of
 *   `from` it fires.
 * - workflow execution: one run of a workflow; it creates ordinary Task Executions (run reason
 *   WORKFLOW) and watches them finish (see `workflow-state.ts` for what happens when).
 *
 * Everything here is pure: schemas, the checks a definition must pass before it is saved
 * (references, cycles, conditions that can never be met, expressions that do not parse), and the
 * rules' evaluation.
 */
import { z } from 'zod';
import { NotificationProfileRefs } from './notification-profile.js';
import { Environment, Name, Timestamp, Uuid } from './common.js';
import type { ValidationIssue } from './errors.js';
import { isTerminal } from './execution-status.js';
import { parseSchedule } from './schedule.js';
import { ScheduleMissedPolicy, ScheduleOverlapPolicy } from './task.js';
import type { ExecutionStatus, StopReason } from './execution-status.js';
import { closest, expressionHolds, expressionProblem } from './workflow-expression.js';
import type { EXPRESSION_FIELDS, ExpressionContext } from './workflow-expression.js';

// ---- start conditions and failure behaviours ----

export const StartCondition = z
  .union([
    z.enum(['all', 'any']),
    z.strictObject({
      count_at_least: z
        .number()
        .int({ message: 'count_at_least must be a whole number of transitions' })
        .min(1, { message: 'count_at_least must be at least 1' }),
    }),
    z.strictObject({
      ratio_at_least: z
        .number()
        .gt(0, { message: 'ratio_at_least must be more than 0 (use "any" to start on the first transition)' })
        .max(1, { message: 'ratio_at_least is a fraction of the incoming transitions: at most 1' }),
    }),
  ])
  .describe(
    'When the instance starts, from its incoming transitions: all, any, {count_at_least: N} or {ratio_at_least: 0.5}. Transitions from skipped instances are left out. (Default: all)',
  );
export type StartCondition = z.infer<typeof StartCondition>;

export const FAILURE_BEHAVIORS = ['fail_workflow', 'fail_if_unhandled', 'ignore'] as const;
export const FailureBehavior = z
  .enum(FAILURE_BEHAVIORS)
  .describe(
    'What a failure of this instance means for the Workflow Execution: fail_workflow (it fails, even if a transition handles the failure), fail_if_unhandled (it fails unless an outgoing transition fired), ignore. (Default: fail_if_unhandled)',
  );
export type FailureBehavior = z.infer<typeof FailureBehavior>;

const seconds = (what: string) =>
  z
    .number({ message: `${what} must be a number of seconds` })
    .positive({ message: `${what} must be more than 0 seconds` })
    .max(30 * 24 * 3600, { message: `${what} must be at most 30 days` });

/** One node of a Workflow. */
export const TaskInstanceSpec = z
  .strictObject({
    name: Name.optional().describe('Name of the instance, unique in the Workflow; transitions refer to it. (Default: the Task\'s name)'),
    task: Name.describe('Name of the Task it runs.'),
    description: z.string().max(2000).optional().describe('Free text for people.'),
    environment: Environment.default({}).describe('Environment variables added to (and overriding) the Task\'s for this instance.'),
    cpu: z.number().int().min(1).max(16384).optional().describe('CPU units (1024 = 1 vCPU) instead of the Task\'s.'),
    memory: z.number().int().min(1).max(122880).optional().describe('Memory in MiB instead of the Task\'s.'),
    timeout_seconds: seconds('timeout_seconds').optional().describe('Timeout of its execution instead of the Task\'s.'),
    start_condition: StartCondition.default('all'),
    failure_behavior: FailureBehavior.default('fail_if_unhandled'),
  })
  .transform((instance) => ({ ...instance, name: instance.name ?? instance.task }));
export type TaskInstanceSpec = z.infer<typeof TaskInstanceSpec>;

// ---- transitions ----

export const THRESHOLD_FIELDS = [
  'success_count',
  'error_count',
  'skipped_count',
  'expected_count',
  'exit_code',
  'duration_seconds',
  'attempt',
  'failed_attempts',
  'timed_out_attempts',
] as const;
export const THRESHOLD_OPERATORS = ['>', '>=', '<', '<=', '==', '!='] as const;

const ends = {
  from: Name.describe('Instance the transition leaves (its execution must have finished).'),
  to: Name.describe('Instance the transition leads to.'),
  description: z.string().max(2000).optional(),
};

export const SIMPLE_RULES = ['success', 'failure', 'timeout', 'always'] as const;

export const TransitionSpec = z
  .discriminatedUnion('on', [
    z.strictObject({
      ...ends,
      on: z
        .enum(SIMPLE_RULES)
        .describe(
          'success: it succeeded; failure: it ended without success (failed, timed out, stopped, abandoned); timeout: it timed out; always: it finished, however.',
        ),
    }),
    z.strictObject({
      ...ends,
      on: z.literal('exit_code').describe('Its exit code is one of exit_codes.'),
      exit_codes: z
        .array(z.number().int({ message: 'exit codes are whole numbers' }))
        .min(1, { message: 'exit_codes needs at least one exit code' })
        .describe('Exit codes that fire the transition.'),
    }),
    z.strictObject({
      ...ends,
      on: z.literal('threshold').describe('A count (or other number) of the finished execution passes a threshold.'),
      threshold: z.strictObject({
        field: z.enum(THRESHOLD_FIELDS).describe('Which number of the execution.'),
        operator: z.enum(THRESHOLD_OPERATORS),
        value: z.number(),
      }),
    }),
    z.strictObject({
      ...ends,
      on: z.literal('expression').describe('A boolean expression over the finished execution (docs/workflows.md).'),
      expression: z.string().min(1).max(2000).describe('e.g. exit_code in [0, 3] and error_count / expected_count < 0.1'),
    }),
  ])
  .describe('A transition from one instance to another, with the rule that fires it.');
export type TransitionSpec = z.infer<typeof TransitionSpec>;
export type TransitionRule = TransitionSpec['on'];

// ---- the workflow ----

export const WorkflowSpecObject = z.strictObject({
  name: Name,
  description: z.string().max(2000).optional().describe('Free text for people.'),
  timeout_seconds: seconds('timeout_seconds')
    .nullable()
    .default(null)
    .describe('Stop the whole Workflow Execution after this many seconds (TERMINATED_AFTER_TIME_OUT). (Default: none)'),
  task_instances: z
    .array(TaskInstanceSpec)
    .min(1, { message: 'a Workflow needs at least one task instance' })
    .describe('The nodes: each runs a Task (below).'),
  transitions: z.array(TransitionSpec).default([]).describe('The edges: each fires on a rule when its `from` instance finishes (below).'),
  schedule: z
    .string()
    .trim()
    .min(1, { message: 'schedule must not be empty (omit it for no schedule)' })
    .superRefine((text, ctx) => {
      const parsed = parseSchedule(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .optional()
    .describe(
      'Start a Workflow Execution (run reason SCHEDULED_START) at each fire time: the same syntax as a Task\'s schedule, e.g. "TZ=Europe/Paris 0 3 * * *", cron(0 12 ? * MON#1 *) or rate(1 hour) (docs/schedules.md). (Default: none)',
    ),
  schedule_overlap: ScheduleOverlapPolicy.optional().describe(
    'Scheduled starts while an earlier Workflow Execution is still in progress: skip the fire, or start another one anyway. (Default: skip)',
  ),
  schedule_missed: ScheduleMissedPolicy.optional().describe(
    'Fire times missed while no server was running (found more than 60 seconds late): skip them, or run once for all of them together. (Default: run_once)',
  ),
  notification_profiles: NotificationProfileRefs,
});

/** A Workflow definition as `berth.yaml` and `POST /api/v1/workflows/` take it. */
export const WorkflowSpec = WorkflowSpecObject.superRefine(
  (spec, ctx) => {
    for (const issue of checkWorkflowGraph(spec)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  },
  // The graph is checked once every field is valid (fix the fields first).
  { when: (payload) => payload.issues.length === 0 },
);
export type WorkflowSpec = z.infer<typeof WorkflowSpec>;
export type WorkflowSpecInput = z.input<typeof WorkflowSpec>;

/** An issue with its path as a list (zod's form), before it is formatted. */
export interface GraphIssue {
  path: (string | number)[];
  message: string;
}

/** A transition's rule in words: `success`, `exit_code in [3, 4]`, `error_count > 10`, `expression: …`. */
export function describeRule(t: TransitionSpec): string {
  switch (t.on) {
    case 'exit_code':
      return `exit_code in [${t.exit_codes.join(', ')}]`;
    case 'threshold':
      return `${t.threshold.field} ${t.threshold.operator} ${t.threshold.value}`;
    case 'expression':
      return `expression: ${t.expression}`;
    default:
      return t.on;
  }
}

/** A start condition in words: `all`, `any`, `count_at_least 2`, `ratio_at_least 0.5`. */
export function describeCondition(c: StartCondition): string {
  if (typeof c === 'string') return c;
  return 'count_at_least' in c ? `count_at_least ${c.count_at_least}` : `ratio_at_least ${c.ratio_at_least}`;
}

/**
 * Instance names in an order where every transition goes forward, or the first cycle found (as
 * instance names, first repeated at the end: `a → b → a`). Transitions naming unknown instances
 * are ignored.
 */
export function topologicalOrder(
  spec: Pick<WorkflowSpec, 'task_instances' | 'transitions'>,
): { order: string[]; cycle: null } | { order: null; cycle: { names: string[]; transition: number } } {
  const names = spec.task_instances.map((i) => i.name);
  const known = new Set(names);
  const outgoing = new Map<string, { to: string; index: number }[]>(names.map((n) => [n, []]));
  spec.transitions.forEach((t, index) => {
    if (known.has(t.from) && known.has(t.to)) outgoing.get(t.from)!.push({ to: t.to, index });
  });
  const state = new Map<string, 'visiting' | 'done'>();
  const postorder: string[] = [];
  const stack: string[] = [];
  let cycle: { names: string[]; transition: number } | null = null;
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const edge of outgoing.get(name) ?? []) {
      if (cycle) return;
      const s = state.get(edge.to);
      if (s === 'visiting') {
        cycle = { names: [...stack.slice(stack.indexOf(edge.to)), edge.to], transition: edge.index };
        return;
      }
      if (s === undefined) visit(edge.to);
    }
    stack.pop();
    state.set(name, 'done');
    postorder.push(name);
  };
  for (const name of names) {
    if (cycle) break;
    if (!state.has(name)) visit(name);
  }
  if (cycle) return { order: null, cycle };
  return { order: postorder.reverse(), cycle: null };
}

/**
 * The rules a definition must satisfy beyond field types, each with a message that says how to
 * fix it: unique instance names, transitions between existing instances, no duplicate
 * transitions, no cycles (the message names the cycle), start conditions that can be met, and
 * expressions that parse.
 */
export function checkWorkflowGraph(spec: Pick<WorkflowSpec, 'task_instances' | 'transitions'>): GraphIssue[] {
  const issues: GraphIssue[] = [];
  const first = new Map<string, number>();
  spec.task_instances.forEach((instance, index) => {
    const earlier = first.get(instance.name);
    if (earlier !== undefined) {
      issues.push({
        path: ['task_instances', index, 'name'],
        message: `duplicate instance name "${instance.name}" (also task_instances[${earlier}]); give each instance of the same Task its own name`,
      });
    } else first.set(instance.name, index);
  });
  const names = [...first.keys()];
  const unknown = (name: string) => {
    const hint = closest(name, names);
    return `no task instance named "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; instances are ${names.join(', ')}`;
  };
  const incoming = new Map<string, number>(names.map((n) => [n, 0]));
  const seen = new Map<string, number>();
  spec.transitions.forEach((t, index) => {
    let ok = true;
    if (!first.has(t.from)) {
      issues.push({ path: ['transitions', index, 'from'], message: unknown(t.from) });
      ok = false;
    }
    if (!first.has(t.to)) {
      issues.push({ path: ['transitions', index, 'to'], message: unknown(t.to) });
      ok = false;
    }
    if (ok) incoming.set(t.to, (incoming.get(t.to) ?? 0) + 1);
    const key = JSON.stringify({ ...t, description: undefined });
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      issues.push({
        path: ['transitions', index],
        message: `the same transition as transitions[${earlier}] (${t.from} → ${t.to} on ${describeRule(t)}); remove one, it would count twice`,
      });
    } else seen.set(key, index);
    if (t.on === 'expression') {
      const problem = expressionProblem(t.expression);
      if (problem) issues.push({ path: ['transitions', index, 'expression'], message: problem.message });
    }
  });
  spec.task_instances.forEach((instance, index) => {
    if (first.get(instance.name) !== index) return;
    const c = instance.start_condition;
    const n = incoming.get(instance.name) ?? 0;
    if (typeof c === 'object' && 'count_at_least' in c && c.count_at_least > n) {
      issues.push({
        path: ['task_instances', index, 'start_condition', 'count_at_least'],
        message: `count_at_least ${c.count_at_least} can never be met: "${instance.name}" has ${n} incoming transition${n === 1 ? '' : 's'}; lower it or add transitions`,
      });
    }
  });
  const sorted = topologicalOrder(spec);
  if (sorted.cycle) {
    issues.push({
      path: ['transitions', sorted.cycle.transition],
      message: `the transitions form a cycle: ${sorted.cycle.names.join(' → ')}; a Workflow must not loop back, so remove or redirect one of these transitions`,
    });
  }
  return issues;
}

/** Formats graph issues like zod's (`transitions[2].to`). */
export function graphIssuesToValidation(issues: readonly GraphIssue[]): ValidationIssue[] {
  return issues.map((i) => ({
    path: i.path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), ''),
    message: i.message,
    code: 'custom',
  }));
}

// ---- what a finished execution looks like to the rules ----

/** The facts of one Task Execution the rules and the state function read. */
export interface ExecutionFacts {
  uuid: string;
  status: ExecutionStatus;
  exit_code: number | null;
  success_count: number | null;
  error_count: number | null;
  skipped_count: number | null;
  expected_count: number | null;
  attempt: number;
  failed_attempts: number;
  timed_out_attempts: number;
  started_at: number | null;
  finished_at: number | null;
  stop_reason: StopReason | null;
  last_status_message: string | null;
  output_value: unknown;
}

/** Statuses a Workflow counts as success. Marking an execution done is a person saying it is. */
const SUCCESS: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>(['SUCCEEDED', 'MARKED_DONE', 'EXITED_AFTER_MARKED_DONE']);

/** Over, for a Workflow: terminal, or marked done (Berth no longer waits for it). */
export function executionFinished(status: ExecutionStatus): boolean {
  return isTerminal(status) || status === 'MARKED_DONE';
}

export function executionSucceeded(status: ExecutionStatus): boolean {
  return SUCCESS.has(status);
}

/** The fields an expression reads, for one finished execution. */
export function expressionContext(e: ExecutionFacts): ExpressionContext {
  const succeeded = executionSucceeded(e.status);
  return {
    status: e.status,
    succeeded,
    failed: !succeeded,
    timed_out: e.status === 'TERMINATED_AFTER_TIME_OUT',
    exit_code: e.exit_code,
    success_count: e.success_count,
    error_count: e.error_count,
    skipped_count: e.skipped_count,
    expected_count: e.expected_count,
    attempt: e.attempt,
    failed_attempts: e.failed_attempts,
    timed_out_attempts: e.timed_out_attempts,
    duration_seconds: e.started_at !== null && e.finished_at !== null ? (e.finished_at - e.started_at) / 1000 : null,
    stop_reason: e.stop_reason,
    last_status_message: e.last_status_message,
    output_value: e.output_value,
  } satisfies Record<keyof typeof EXPRESSION_FIELDS, unknown>;
}

function thresholdHolds(value: unknown, operator: (typeof THRESHOLD_OPERATORS)[number], limit: number): boolean {
  if (typeof value !== 'number') return false;
  switch (operator) {
    case '>':
      return value > limit;
    case '>=':
      return value >= limit;
    case '<':
      return value < limit;
    case '<=':
      return value <= limit;
    case '==':
      return value === limit;
    case '!=':
      return value !== limit;
  }
}

/**
 * Whether a transition fires for the finished execution of its `from` instance. A number the
 * rule needs that the execution does not have (no exit code, no error count) does not fire it.
 */
export function ruleFires(t: TransitionSpec, e: ExecutionFacts): boolean {
  switch (t.on) {
    case 'success':
      return executionSucceeded(e.status);
    case 'failure':
      return !executionSucceeded(e.status);
    case 'timeout':
      return e.status === 'TERMINATED_AFTER_TIME_OUT';
    case 'always':
      return true;
    case 'exit_code':
      return e.exit_code !== null && t.exit_codes.includes(e.exit_code);
    case 'threshold':
      return thresholdHolds(expressionContext(e)[t.threshold.field], t.threshold.operator, t.threshold.value);
    case 'expression':
      return expressionHolds(t.expression, expressionContext(e));
  }
}

/** Overrides of a Task's settings for one execution (a Workflow's task instance sets them). */
export const TaskOverrides = z.strictObject({
  cpu: z.number().int().optional(),
  memory: z.number().int().optional(),
  timeout_seconds: z.number().positive().optional(),
});
export type TaskOverrides = z.infer<typeof TaskOverrides>;

/** The overrides an instance sets, or null when it sets none. */
export function instanceOverrides(instance: TaskInstanceSpec): TaskOverrides | null {
  const out: TaskOverrides = {};
  if (instance.cpu !== undefined) out.cpu = instance.cpu;
  if (instance.memory !== undefined) out.memory = instance.memory;
  if (instance.timeout_seconds !== undefined) out.timeout_seconds = instance.timeout_seconds;
  return Object.keys(out).length > 0 ? out : null;
}

/** A Task's spec with an execution's overrides laid over it. */
export function withTaskOverrides<T extends { cpu?: number | undefined; memory?: number | undefined; timeout_seconds: number | null }>(
  spec: T,
  overrides: TaskOverrides | null | undefined,
): T {
  if (!overrides) return spec;
  return {
    ...spec,
    ...(overrides.cpu !== undefined ? { cpu: overrides.cpu } : {}),
    ...(overrides.memory !== undefined ? { memory: overrides.memory } : {}),
    ...(overrides.timeout_seconds !== undefined ? { timeout_seconds: overrides.timeout_seconds } : {}),
  };
}

// ---- API resources ----

export const WORKFLOW_EXECUTION_STATUSES = ['RUNNING', 'STOPPING', 'SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED'] as const;
export const WorkflowExecutionStatus = z
  .enum(WORKFLOW_EXECUTION_STATUSES)
  .describe(
    'RUNNING; STOPPING (a stop or the Workflow timeout is ending its executions); SUCCEEDED; FAILED (an instance failure counted against it, or an instance could not start); TERMINATED_AFTER_TIME_OUT; STOPPED.',
  );
export type WorkflowExecutionStatus = z.infer<typeof WorkflowExecutionStatus>;

export const WorkflowStopReason = z.enum(['MANUAL', 'MAX_EXECUTION_TIME_EXCEEDED']);
export type WorkflowStopReason = z.infer<typeof WorkflowStopReason>;

export const WORKFLOW_RUN_REASONS = ['EXPLICIT_START', 'SCHEDULED_START'] as const;
export const WorkflowRunReason = z.enum(WORKFLOW_RUN_REASONS);
export type WorkflowRunReason = z.infer<typeof WorkflowRunReason>;

export const WorkflowFailure = z
  .object({
    code: z.enum(['INSTANCE_FAILED', 'INSTANCE_START_FAILED', 'TIMEOUT', 'STOPPED']),
    message: z.string(),
    instances: z.array(z.string()).describe('The instances the failure is about.'),
  })
  .describe('Why the Workflow Execution did not succeed.');
export type WorkflowFailure = z.infer<typeof WorkflowFailure>;

/** A Workflow as the API returns it. */
export const Workflow = WorkflowSpecObject.extend({
  uuid: Uuid,
  version: z.number().int().positive().describe('Goes up by one each time the definition changes.'),
  description: z.string().nullable(),
  task_instances: z.array(
    z.object({
      name: Name,
      task: Name,
      description: z.string().nullable(),
      environment: Environment,
      cpu: z.number().int().nullable(),
      memory: z.number().int().nullable(),
      timeout_seconds: z.number().nullable(),
      start_condition: StartCondition,
      failure_behavior: FailureBehavior,
    }),
  ),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Workflow = z.infer<typeof Workflow>;

export const NODE_STATES = ['WAITING', 'READY', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'NOT_STARTED'] as const;
export const NodeState = z
  .enum(NODE_STATES)
  .describe(
    'WAITING (its start condition is not decided yet), READY (about to start), RUNNING (its execution is queued, starting, running or stopping), SUCCEEDED, FAILED (ended without success, or could not start), SKIPPED (its start condition can no longer be met), NOT_STARTED (the Workflow Execution ended first).',
  );
export type NodeState = z.infer<typeof NodeState>;

export const EDGE_STATES = ['PENDING', 'FIRED', 'NOT_FIRED', 'VOID'] as const;
export const EdgeState = z
  .enum(EDGE_STATES)
  .describe('PENDING (its source has not finished), FIRED, NOT_FIRED (its source finished and the rule did not match), VOID (its source was skipped).');
export type EdgeState = z.infer<typeof EdgeState>;

const NodeExecution = z.object({
  uuid: Uuid,
  status: z.string(),
  run_number: z.number().int().describe('1 for the first run of the instance; retries of the Workflow Execution add runs.'),
  exit_code: z.number().int().nullable(),
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
});

export const WorkflowNode = z.object({
  name: Name,
  task: z.object({ name: Name, uuid: Uuid.nullable() }),
  state: NodeState,
  start_condition: StartCondition,
  failure_behavior: FailureBehavior,
  fails_workflow: z.boolean().describe('Its failure counts against the Workflow Execution.'),
  incoming: z
    .object({ fired: z.number().int(), not_fired: z.number().int(), pending: z.number().int(), void: z.number().int() })
    .describe('Its incoming transitions by state.'),
  execution: NodeExecution.nullable().describe('The execution of its current run, if it has one.'),
  start_failure: z.string().nullable().describe('Why its execution could not be created, if it could not.'),
  runs: z.array(NodeExecution).describe('Every run of the instance in this Workflow Execution, oldest first.'),
});
export type WorkflowNode = z.infer<typeof WorkflowNode>;

export const WorkflowEdge = z.object({
  index: z.number().int().describe('Position in the definition\'s transitions.'),
  from: Name,
  to: Name,
  on: z.string(),
  rule: z.string().describe('The rule in words, e.g. "exit_code in [3]".'),
  state: EdgeState,
});
export type WorkflowEdge = z.infer<typeof WorkflowEdge>;

export const WorkflowExecutionSummary = z.object({
  uuid: Uuid,
  workflow: z.object({ uuid: Uuid, name: Name }),
  workflow_version: z.number().int(),
  status: WorkflowExecutionStatus,
  run_reason: WorkflowRunReason,
  stop_reason: WorkflowStopReason.nullable(),
  failure: WorkflowFailure.nullable(),
  attempt: z.number().int().describe('1, plus one per retry.'),
  environment: Environment.describe('Environment variables given when it was started, added to every instance\'s.'),
  created_at: Timestamp,
  updated_at: Timestamp,
  started_at: Timestamp,
  attempt_started_at: Timestamp.describe('When the current attempt started (the Workflow timeout counts from here).'),
  finished_at: Timestamp.nullable(),
  stop_requested_at: Timestamp.nullable(),
});
export type WorkflowExecutionSummary = z.infer<typeof WorkflowExecutionSummary>;

/** A Workflow Execution with its graph: nodes with their live state, and edges. */
export const WorkflowExecution = WorkflowExecutionSummary.extend({
  nodes: z.array(WorkflowNode).describe('Task instances in an order where every transition goes forward.'),
  edges: z.array(WorkflowEdge),
});
export type WorkflowExecution = z.infer<typeof WorkflowExecution>;

/** Body of `POST /api/v1/workflow_executions/`. */
export const StartWorkflowRequest = z.strictObject({
  workflow: z.string().min(1).describe('Name or uuid of the Workflow.'),
  environment: Environment.optional().describe('Environment variables added to every instance\'s execution (over the instance\'s own).'),
});
export type StartWorkflowRequest = z.infer<typeof StartWorkflowRequest>;

/** Body of `PATCH /api/v1/workflow_executions/{uuid}/`: `{"status": "STOPPING"}` stops it. */
export const UpdateWorkflowExecutionRequest = z.strictObject({
  status: z.literal('STOPPING', { message: 'only {"status": "STOPPING"} (a stop request) can be sent' }),
});
