import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { formatIssues } from '../domain/common.js';
import { checkEcsTask } from '../domain/ecs-task.js';
import { BerthError } from '../domain/errors.js';
import type { ValidationIssue } from '../domain/errors.js';
import type { RunEnvironmentSpec } from '../domain/run-environment.js';
import type { TaskSpec } from '../domain/task.js';
import { describeRule, withTaskOverrides, WorkflowSpec } from '../domain/workflow.js';
import type {
  Workflow,
  WorkflowExecution,
  WorkflowExecutionStatus,
  WorkflowExecutionSummary,
  WorkflowNode,
  WorkflowRunReason,
} from '../domain/workflow.js';
import { isUniqueViolation } from '../store/sql-store.js';
import type { Store } from '../store/store.js';
import type { WorkflowExecutionRecord, WorkflowRecord, WorkflowRunRecord } from '../store/workflow-store.js';
import type { ServerContext } from './context.js';
import { iso } from './representations.js';
import { evaluateStored } from './workflow-engine.js';
import type { WorkflowEngine } from './workflow-engine.js';

/** One change `berth apply` made (or would make) to a Workflow. */
export interface WorkflowChange {
  kind: 'workflow';
  name: string;
  action: 'create' | 'update' | 'unchanged';
  fields: { field: string; before: unknown; after: unknown }[];
}

/** What a Workflow's instances need to know about a Task to check the definition. */
export interface TaskForCheck {
  spec: TaskSpec;
  /** Its Run Environment, when known (to check size overrides of aws-ecs Tasks). */
  env: RunEnvironmentSpec | null;
}

const RETRYABLE: ReadonlySet<WorkflowExecutionStatus> = new Set(['FAILED', 'STOPPED', 'TERMINATED_AFTER_TIME_OUT']);

function invalid(code: 'VALIDATION_FAILED' | 'CONFIG_INVALID', issues: ValidationIssue[]): BerthError {
  const first = issues[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new BerthError(code, `Invalid ${code === 'CONFIG_INVALID' ? 'configuration' : 'Workflow'}: ${summary}${more}`, { issues });
}

function diffFields(before: Record<string, unknown> | null, after: Record<string, unknown>) {
  const out: { field: string; before: unknown; after: unknown }[] = [];
  for (const field of [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort()) {
    const a = before?.[field];
    const b = after[field];
    if (!isDeepStrictEqual(a, b)) out.push({ field, before: a ?? null, after: b ?? null });
  }
  return out;
}

/**
 * Workflows and their executions: save definitions (checked against the Tasks they name), start,
 * stop and retry executions, and show them with their live graph. Advancing executions is the
 * engine's job; this service calls it right after a change so answers show the effect.
 */
export class WorkflowService {
  constructor(
    private readonly ctx: ServerContext,
    private readonly engine: WorkflowEngine,
  ) {}

  /**
   * Issues of a valid definition against the Tasks it names: each must exist (`lookup` finds
   * it), must not be passive, and an aws-ecs Task's cpu/memory overrides must be a Fargate size.
   */
  async taskIssues(spec: WorkflowSpec, lookup: (name: string) => Promise<TaskForCheck | null>, prefix: (string | number)[] = []): Promise<ValidationIssue[]> {
    const issues: ValidationIssue[] = [];
    const at = (index: number, field: string) =>
      [...prefix, 'task_instances', index, field].reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
    for (const [index, instance] of spec.task_instances.entries()) {
      const task = await lookup(instance.task);
      if (!task) {
        issues.push({
          path: at(index, 'task'),
          message: `no Task named "${instance.task}"; create it first (berth apply, or define it under tasks: in the same file) or fix the name`,
          code: 'custom',
        });
        continue;
      }
      if (task.spec.passive) {
        issues.push({
          path: at(index, 'task'),
          message: `Task "${instance.task}" is passive (monitor-only): Berth never starts it, so a Workflow cannot run it`,
          code: 'custom',
        });
      }
      if (task.env?.kind === 'aws-ecs' && (instance.cpu !== undefined || instance.memory !== undefined)) {
        const sized = withTaskOverrides(task.spec, { cpu: instance.cpu, memory: instance.memory });
        for (const issue of checkEcsTask(sized, task.env)) {
          if (issue.path === 'cpu' || issue.path === 'memory') issues.push({ ...issue, path: at(index, issue.path) });
        }
      }
    }
    return issues;
  }

  private storeLookup(store: Store) {
    return async (name: string): Promise<TaskForCheck | null> => {
      const task = await store.getTask(name);
      if (!task) return null;
      const env = await store.getRunEnvironment(task.run_environment_uuid);
      return { spec: task.spec, env: env?.spec ?? null };
    };
  }

  /** Creates or replaces the Workflow with the definition's name. */
  async upsert(input: unknown): Promise<{ record: WorkflowRecord; created: boolean }> {
    const parsed = WorkflowSpec.safeParse(input);
    if (!parsed.success) throw invalid('VALIDATION_FAILED', formatIssues(parsed.error));
    const issues = await this.taskIssues(parsed.data, this.storeLookup(this.ctx.store));
    if (issues.length > 0) throw invalid('VALIDATION_FAILED', issues);
    try {
      const { record, created } = await this.ctx.store.workflows.upsertWorkflow(parsed.data, this.ctx.clock.now());
      this.ctx.wakeScheduler?.();
      return { record, created };
    } catch (error) {
      if (isUniqueViolation(error)) throw new BerthError('NAME_TAKEN', `Workflow "${parsed.data.name}" was created concurrently; retry.`);
      throw error;
    }
  }

  /**
   * The Workflows of a `berth.yaml`, inside `apply`'s transaction: checked against the Tasks of
   * the same document first, then the stored ones. Throws CONFIG_INVALID with every issue.
   */
  async apply(store: Store, specs: readonly WorkflowSpec[], documentTasks: ReadonlyMap<string, TaskForCheck>, dryRun: boolean): Promise<WorkflowChange[]> {
    const storeLookup = this.storeLookup(store);
    const lookup = async (name: string) => documentTasks.get(name) ?? storeLookup(name);
    const issues: ValidationIssue[] = [];
    for (const [index, spec] of specs.entries()) issues.push(...(await this.taskIssues(spec, lookup, ['workflows', index])));
    if (issues.length > 0) throw invalid('CONFIG_INVALID', issues);
    const changes: WorkflowChange[] = [];
    const now = this.ctx.clock.now();
    for (const spec of specs) {
      const existing = await store.workflows.getWorkflow(spec.name);
      const after = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
      const fields = diffFields(existing ? (existing.spec as unknown as Record<string, unknown>) : null, after);
      const action = !existing ? 'create' : fields.length > 0 ? 'update' : 'unchanged';
      changes.push({ kind: 'workflow', name: spec.name, action, fields: action === 'create' ? [] : fields });
      if (!dryRun && action !== 'unchanged') await store.workflows.upsertWorkflow(spec, now);
    }
    return changes;
  }

  async require(ref: string): Promise<WorkflowRecord> {
    const workflow = await this.ctx.store.workflows.getWorkflow(ref);
    if (!workflow) {
      throw new BerthError('WORKFLOW_NOT_FOUND', `No Workflow named or with uuid "${ref}". List them with \`berth workflows ls\`.`);
    }
    return workflow;
  }

  /** Deletes a Workflow and its execution history (its Task Executions stay). Refused while one runs. */
  async delete(ref: string): Promise<void> {
    const workflow = await this.require(ref);
    await this.ctx.store.transaction(async (tx) => {
      const active = await tx.workflows.countActiveWorkflowExecutions(workflow.uuid);
      if (active > 0) {
        throw new BerthError(
          'WORKFLOW_HAS_ACTIVE_EXECUTIONS',
          `Workflow "${workflow.name}" has ${active} execution(s) running or stopping; stop them first (berth workflow-executions ls --workflow ${workflow.name}).`,
        );
      }
      await tx.workflows.deleteWorkflow(workflow.uuid);
    });
  }

  /**
   * Starts a Workflow: creates a RUNNING Workflow Execution of its current definition and starts
   * the instances without incoming transitions. The entry point for people (EXPLICIT_START) and
   * for schedules (SCHEDULED_START).
   *
   * @example await workflows.startWorkflow('nightly', { runReason: 'SCHEDULED_START' })
   */
  async startWorkflow(ref: string, options: { runReason: WorkflowRunReason; environment?: Record<string, string> }): Promise<WorkflowExecutionRecord> {
    const workflow = await this.require(ref);
    const created = await this.createStartedExecution(this.ctx.store, workflow, options);
    return this.advanceStarted(created);
  }

  /**
   * The first half of `startWorkflow`: the RUNNING Workflow Execution, created through `store` (the
   * scheduler's transaction, so the fire and the execution commit together). Call
   * `advanceStarted` once it is committed.
   */
  async createStartedExecution(
    store: Store,
    workflow: WorkflowRecord,
    options: { runReason: WorkflowRunReason; environment?: Record<string, string> },
  ): Promise<WorkflowExecutionRecord> {
    const now = this.ctx.clock.now();
    const created = await store.workflows.createWorkflowExecution({
      uuid: randomUUID(),
      workflow_uuid: workflow.uuid,
      workflow_version: workflow.version,
      spec: workflow.spec,
      status: 'RUNNING',
      run_reason: options.runReason,
      environment: options.environment ?? {},
      attempt: 1,
      created_at: now,
      started_at: now,
      attempt_started_at: now,
    });
    this.ctx.log.info('workflow execution started', { workflow: workflow.name, workflow_execution: created.uuid, run_reason: options.runReason });
    return created;
  }

  /** The second half of `startWorkflow`: starts the instances without incoming transitions. */
  async advanceStarted(created: WorkflowExecutionRecord): Promise<WorkflowExecutionRecord> {
    return (await this.engine.advance(created.uuid)) ?? created;
  }

  async requireExecution(uuid: string): Promise<WorkflowExecutionRecord> {
    const wfe = await this.ctx.store.workflows.getWorkflowExecution(uuid);
    if (!wfe) {
      throw new BerthError(
        'WORKFLOW_EXECUTION_NOT_FOUND',
        `No Workflow Execution with uuid "${uuid}". List them with \`berth workflow-executions ls\`.`,
      );
    }
    return wfe;
  }

  /**
   * Stops a Workflow Execution: nothing more starts, every execution in it that still runs is
   * asked to stop, and once none runs it is STOPPED. Stopping one that is STOPPING changes nothing.
   */
  async stop(uuid: string): Promise<WorkflowExecutionRecord> {
    for (let round = 0; round < 5; round++) {
      const wfe = await this.requireExecution(uuid);
      if (wfe.status === 'STOPPING') return wfe;
      if (wfe.status !== 'RUNNING') {
        throw new BerthError('WORKFLOW_EXECUTION_NOT_RUNNING', `Workflow Execution ${uuid} already ended with status ${wfe.status}; there is nothing to stop.`, {
          status: wfe.status,
        });
      }
      const now = this.ctx.clock.now();
      const updated = await this.ctx.store.workflows.updateWorkflowExecution(uuid, wfe.revision, {
        status: 'STOPPING',
        stop_reason: 'MANUAL',
        stop_requested_at: now,
        updated_at: now,
      });
      if (updated) {
        this.ctx.log.info('workflow execution stop requested', { workflow_execution: uuid });
        return (await this.engine.advance(uuid)) ?? updated;
      }
      // The engine advanced it meanwhile: look again.
    }
    throw new BerthError('WORKFLOW_EXECUTION_NOT_RUNNING', `Workflow Execution ${uuid} kept changing while being stopped; try again.`);
  }

  /**
   * Retries a Workflow Execution that ended FAILED, STOPPED or TERMINATED_AFTER_TIME_OUT: a new
   * attempt of the same definition that keeps the instances that succeeded and runs the others
   * again (failed, stopped, skipped, never started) as their start conditions allow.
   */
  async retry(uuid: string): Promise<WorkflowExecutionRecord> {
    for (let round = 0; round < 5; round++) {
      const wfe = await this.requireExecution(uuid);
      if (!RETRYABLE.has(wfe.status) || wfe.finished_at === null) {
        throw new BerthError(
          'WORKFLOW_EXECUTION_NOT_RETRYABLE',
          wfe.status === 'SUCCEEDED'
            ? `Workflow Execution ${uuid} succeeded; there is nothing to retry (start the Workflow again instead).`
            : `Workflow Execution ${uuid} is ${wfe.status}; retry it once it has ended.`,
          { status: wfe.status },
        );
      }
      const now = this.ctx.clock.now();
      const updated = await this.ctx.store.workflows.updateWorkflowExecution(uuid, wfe.revision, {
        status: 'RUNNING',
        attempt: wfe.attempt + 1,
        attempt_started_at: now,
        stop_reason: null,
        failure: null,
        start_failures: {},
        finished_at: null,
        stop_requested_at: null,
        updated_at: now,
      });
      if (updated) {
        this.ctx.log.info('workflow execution retried', { workflow_execution: uuid, attempt: updated.attempt });
        return (await this.engine.advance(uuid)) ?? updated;
      }
    }
    throw new BerthError('WORKFLOW_EXECUTION_NOT_RETRYABLE', `Workflow Execution ${uuid} kept changing while being retried; try again.`);
  }

  // ---- resources ----

  workflowResource(w: WorkflowRecord): Workflow {
    const s = w.spec;
    return {
      uuid: w.uuid,
      name: w.name,
      version: w.version,
      description: s.description ?? null,
      timeout_seconds: s.timeout_seconds,
      task_instances: s.task_instances.map((i) => ({
        name: i.name,
        task: i.task,
        description: i.description ?? null,
        environment: i.environment,
        cpu: i.cpu ?? null,
        memory: i.memory ?? null,
        timeout_seconds: i.timeout_seconds ?? null,
        start_condition: i.start_condition,
        failure_behavior: i.failure_behavior,
      })),
      transitions: s.transitions,
      ...(s.notification_profiles !== undefined ? { notification_profiles: s.notification_profiles } : {}),
      created_at: iso(w.created_at),
      updated_at: iso(w.updated_at),
    };
  }

  private summary(e: WorkflowExecutionRecord, workflow: { uuid: string; name: string }): WorkflowExecutionSummary {
    return {
      uuid: e.uuid,
      workflow,
      workflow_version: e.workflow_version,
      status: e.status,
      run_reason: e.run_reason,
      stop_reason: e.stop_reason,
      failure: e.failure,
      attempt: e.attempt,
      environment: e.environment,
      created_at: iso(e.created_at),
      updated_at: iso(e.updated_at),
      started_at: iso(e.started_at),
      attempt_started_at: iso(e.attempt_started_at),
      finished_at: iso(e.finished_at),
      stop_requested_at: iso(e.stop_requested_at),
    };
  }

  private async workflowRefs(executions: readonly WorkflowExecutionRecord[]) {
    const workflows = await this.ctx.store.workflows.getWorkflows(executions.map((e) => e.workflow_uuid));
    return (e: WorkflowExecutionRecord) => {
      const w = workflows.get(e.workflow_uuid);
      return w ? { uuid: w.uuid, name: w.name } : { uuid: e.workflow_uuid, name: e.spec.name };
    };
  }

  async summaries(executions: readonly WorkflowExecutionRecord[]): Promise<WorkflowExecutionSummary[]> {
    const ref = await this.workflowRefs(executions);
    return executions.map((e) => this.summary(e, ref(e)));
  }

  /** A Workflow Execution with its graph: every node's live state and every edge's. */
  async executionResource(e: WorkflowExecutionRecord): Promise<WorkflowExecution> {
    const ref = await this.workflowRefs([e]);
    const runs: WorkflowRunRecord[] = (await this.ctx.store.workflows.listRuns([e.uuid])).get(e.uuid) ?? [];
    const step = evaluateStored(e, runs, this.ctx.clock.now());
    const taskUuids = new Map<string, string | null>();
    for (const name of new Set(e.spec.task_instances.map((i) => i.task))) taskUuids.set(name, (await this.ctx.store.getTask(name))?.uuid ?? null);
    const instances = new Map(e.spec.task_instances.map((i) => [i.name, i]));
    const runView = (r: WorkflowRunRecord) => ({
      uuid: r.task_execution_uuid,
      status: r.execution?.status ?? 'DELETED',
      run_number: r.run_number,
      exit_code: r.execution?.exit_code ?? null,
      started_at: iso(r.execution?.started_at ?? null),
      finished_at: iso(r.execution?.finished_at ?? null),
    });
    const nodes: WorkflowNode[] = step.nodes.map((n) => {
      const instance = instances.get(n.name)!;
      const own = runs.filter((r) => r.instance_name === n.name);
      const current = n.run ? own.find((r) => r.run_number === n.run!.run_number) : undefined;
      return {
        name: n.name,
        task: { name: instance.task, uuid: taskUuids.get(instance.task) ?? null },
        state: n.state,
        start_condition: instance.start_condition,
        failure_behavior: instance.failure_behavior,
        fails_workflow: n.fails_workflow,
        incoming: n.incoming,
        execution: current ? runView(current) : null,
        start_failure: n.start_failure,
        runs: own.map(runView),
      };
    });
    return {
      ...this.summary(e, ref(e)),
      nodes,
      edges: step.edges.map((edge) => {
        const t = e.spec.transitions[edge.index]!;
        return { index: edge.index, from: edge.from, to: edge.to, on: t.on, rule: describeRule(t), state: edge.state };
      }),
    };
  }
}
