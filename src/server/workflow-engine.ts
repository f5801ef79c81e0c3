import { BerthError, coerceError } from '../domain/errors.js';
import type { RunReason } from '../domain/execution-status.js';
import type { StartExecutionRequest } from '../domain/task-execution.js';
import { instanceOverrides } from '../domain/workflow.js';
import type { ExecutionFacts, TaskInstanceSpec, WorkflowExecutionStatus } from '../domain/workflow.js';
import { evaluateWorkflow } from '../domain/workflow-state.js';
import type { RunFacts, WorkflowEvaluation } from '../domain/workflow-state.js';
import type { ExecutionRecord, Store } from '../store/store.js';
import type { WorkflowExecutionPatch, WorkflowExecutionRecord, WorkflowRunRecord } from '../store/workflow-store.js';
import { Principal } from './auth.js';
import type { ServerContext } from './context.js';
import { ExecutionService } from './execution-service.js';
import { Loop, LoopRunner } from './loop.js';

/** Workflow executions read per page of a pass. */
const PAGE_SIZE = 200;
/** Passes start at most this often however many executions end at once (ms). */
const MIN_PASS_GAP_MS = 20;

/** Who starts and stops the executions of a Workflow: Berth itself. */
const WORKFLOW_ENGINE = new Principal('admin', null);

/** Thrown inside a transaction to roll it back when another writer changed the row first. */
class ChangedMeanwhile extends Error {}

export function executionFacts(e: ExecutionRecord): ExecutionFacts {
  return {
    uuid: e.uuid,
    status: e.status,
    exit_code: e.exit_code,
    success_count: e.success_count,
    error_count: e.error_count,
    skipped_count: e.skipped_count,
    expected_count: e.expected_count,
    attempt: e.attempt,
    failed_attempts: e.failed_attempts,
    timed_out_attempts: e.timed_out_attempts,
    started_at: e.started_at,
    finished_at: e.finished_at,
    stop_reason: e.stop_reason,
    last_status_message: e.last_status_message,
    output_value: e.output_value,
  };
}

/** Runs by instance name, as the state function reads them. */
export function runsByInstance(runs: readonly WorkflowRunRecord[]): Map<string, RunFacts[]> {
  const out = new Map<string, RunFacts[]>();
  for (const run of runs) {
    const list = out.get(run.instance_name) ?? [];
    list.push({
      run_number: run.run_number,
      workflow_attempt: run.workflow_attempt,
      execution: run.execution ? executionFacts(run.execution) : null,
    });
    out.set(run.instance_name, list);
  }
  return out;
}

/** The state function applied to what the store holds. */
export function evaluateStored(wfe: WorkflowExecutionRecord, runs: readonly WorkflowRunRecord[], now: number): WorkflowEvaluation {
  return evaluateWorkflow(
    wfe.spec,
    {
      status: wfe.status,
      stop_reason: wfe.stop_reason,
      attempt: wfe.attempt,
      attempt_started_at: wfe.attempt_started_at,
      start_failures: wfe.start_failures,
    },
    runsByInstance(runs),
    now,
  );
}

const FINAL: ReadonlySet<WorkflowExecutionStatus> = new Set(['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'STOPPED']);

function needsWrite(wfe: WorkflowExecutionRecord, step: WorkflowEvaluation): boolean {
  return step.start.length > 0 || step.status !== wfe.status || (step.finished && wfe.finished_at === null);
}

/**
 * The workflow engine: advances every RUNNING or STOPPING Workflow Execution. It runs as a loop
 * on every server (woken when a Task Execution ends, and on its interval for timeouts and for
 * executions that ended elsewhere) and is called directly when a Workflow Execution is started,
 * stopped or retried.
 *
 * Exactly once, with many servers: a Workflow Execution is advanced inside one transaction that
 * holds its row lock (PostgreSQL; SQLite transactions are serial) and ends with a
 * compare-and-set on its `revision`. The Task Executions it starts and their links to the
 * instance are created in that same transaction, and the link's primary key (workflow
 * execution, instance, run number) refuses a second start of the same run. So a crash at any
 * point either left nothing or left all of it, and a restarted server simply evaluates again.
 */
export class WorkflowEngine extends LoopRunner {
  protected readonly loop: Loop;

  constructor(
    private readonly ctx: ServerContext,
    private readonly executions: ExecutionService,
    options: { intervalMs: number },
  ) {
    super();
    this.loop = new Loop('workflow engine', options.intervalMs, () => this.pass(), ctx.log, Math.min(MIN_PASS_GAP_MS, options.intervalMs));
  }

  private async pass(): Promise<boolean> {
    let after: string | undefined;
    for (;;) {
      const page = await this.ctx.store.workflows.listActiveWorkflowExecutions(PAGE_SIZE, after);
      if (page.length === 0) break;
      after = page[page.length - 1]!.uuid;
      const runs = await this.ctx.store.workflows.listRuns(page.map((w) => w.uuid));
      const now = this.ctx.clock.now();
      for (const wfe of page) {
        try {
          const step = evaluateStored(wfe, runs.get(wfe.uuid) ?? [], now);
          if (needsWrite(wfe, step)) await this.advance(wfe.uuid);
          else if (step.stop.length > 0) await this.sendStops(wfe.uuid, step.stop);
        } catch (thrown) {
          this.ctx.log.error('workflow engine could not advance a workflow execution', { workflow_execution: wfe.uuid, error: coerceError(thrown) });
        }
      }
      if (page.length < PAGE_SIZE) break;
    }
    return false;
  }

  /**
   * Advances one Workflow Execution now: starts the instances that are due, records instances
   * that could not start, moves its status, and asks its running executions to stop when it is
   * STOPPING. Returns the record as it is afterwards, or null when another server is advancing
   * it at this moment (it will look again). Throws only for database errors.
   */
  async advance(uuid: string): Promise<WorkflowExecutionRecord | null> {
    let outcome: { wfe: WorkflowExecutionRecord | null; stop: string[]; started: number } | null;
    try {
      outcome = await this.ctx.store.transaction((tx) => this.advanceIn(tx, uuid));
    } catch (error) {
      if (error instanceof ChangedMeanwhile) {
        this.wake();
        return null;
      }
      throw error;
    }
    if (!outcome) {
      // Another server (or this one's loop) holds it: make sure it is looked at again soon.
      this.wake();
      return null;
    }
    if (outcome.started > 0) this.ctx.wakeLauncher();
    if (outcome.stop.length > 0) await this.sendStops(uuid, outcome.stop);
    return outcome.wfe;
  }

  private async advanceIn(tx: Store, uuid: string) {
    if (!(await tx.workflows.lockWorkflowExecution(uuid, { skipLocked: true }))) return null;
    const wfe = await tx.workflows.getWorkflowExecution(uuid);
    if (!wfe || FINAL.has(wfe.status)) return { wfe, stop: [], started: 0 };
    const now = this.ctx.clock.now();
    const startFailures = { ...wfe.start_failures };
    let started = 0;
    let runs = (await tx.workflows.listRuns([uuid])).get(uuid) ?? [];
    let step = evaluateStored(wfe, runs, now);
    // Starting may fail for an instance (its Task was disabled, say): that instance is then
    // FAILED, which may make its failure handlers due at once, so evaluate again.
    for (let round = 0; step.start.length > 0 && round <= wfe.spec.task_instances.length; round++) {
      for (const name of step.start) {
        const instance = wfe.spec.task_instances.find((i) => i.name === name)!;
        const runNumber = Math.max(0, ...runs.filter((r) => r.instance_name === name).map((r) => r.run_number)) + 1;
        try {
          await this.startInstance(tx, wfe, instance, runNumber, now);
          started++;
        } catch (error) {
          if (!(error instanceof BerthError)) throw error;
          this.ctx.log.warn('workflow instance could not start', { workflow_execution: uuid, instance: name, reason: error.message });
          startFailures[name] = error.message;
        }
      }
      runs = (await tx.workflows.listRuns([uuid])).get(uuid) ?? [];
      step = evaluateStored({ ...wfe, start_failures: startFailures }, runs, now);
    }
    const patch: WorkflowExecutionPatch = {};
    if (JSON.stringify(startFailures) !== JSON.stringify(wfe.start_failures)) patch.start_failures = startFailures;
    if (step.status !== wfe.status) {
      patch.status = step.status;
      patch.stop_reason = step.stop_reason;
      if (step.status === 'STOPPING' && wfe.stop_requested_at === null) patch.stop_requested_at = now;
      if (FINAL.has(step.status)) patch.failure = step.failure;
    }
    if (step.finished && wfe.finished_at === null) patch.finished_at = now;
    if (started === 0 && Object.keys(patch).length === 0) return { wfe, stop: step.stop, started };
    patch.updated_at = now;
    const updated = await tx.workflows.updateWorkflowExecution(uuid, wfe.revision, patch);
    if (!updated) throw new ChangedMeanwhile();
    if (patch.status) {
      this.ctx.log.info('workflow execution status changed', { workflow_execution: uuid, from: wfe.status, to: patch.status, reason: step.failure?.message });
    }
    return { wfe: updated, stop: step.stop, started };
  }

  /**
   * Creates the Task Execution of one run of an instance through the ordinary start path (run
   * reason WORKFLOW) and links it to the instance, in the caller's transaction.
   */
  private async startInstance(tx: Store, wfe: WorkflowExecutionRecord, instance: TaskInstanceSpec, runNumber: number, now: number): Promise<void> {
    // The same start path as the API's, bound to this transaction; the launcher is woken after commit.
    const service = new ExecutionService({ ...this.ctx, store: tx, wakeLauncher: () => undefined });
    // API clients may ask only for EXPLICIT_* run reasons; the start path itself takes any.
    const request: Omit<StartExecutionRequest, 'run_reason'> & { run_reason: RunReason } = {
      task: { name: instance.task },
      environment: {
        ...instance.environment,
        ...wfe.environment,
        BERTH_WORKFLOW_EXECUTION_UUID: wfe.uuid,
        BERTH_WORKFLOW_INSTANCE: instance.name,
      },
      run_reason: 'WORKFLOW',
    };
    const { execution } = await service.startWithContext(request as StartExecutionRequest, WORKFLOW_ENGINE);
    await tx.workflows.createRun({
      workflow_execution_uuid: wfe.uuid,
      instance_name: instance.name,
      run_number: runNumber,
      workflow_attempt: wfe.attempt,
      task_execution_uuid: execution.uuid,
      created_at: now,
    });
    const overrides = instanceOverrides(instance);
    if (overrides) await tx.updateExecution(execution.uuid, { task_overrides: overrides, updated_at: now });
    this.ctx.log.info('workflow instance started', {
      workflow_execution: wfe.uuid,
      instance: instance.name,
      run: runNumber,
      execution: execution.uuid,
    });
  }

  /** Asks executions of a stopping Workflow Execution to stop; those that ended meanwhile are fine. */
  private async sendStops(workflowExecution: string, uuids: readonly string[]): Promise<void> {
    for (const uuid of uuids) {
      try {
        await this.executions.requestStop(uuid, WORKFLOW_ENGINE, 'MANUAL');
      } catch (thrown) {
        if (thrown instanceof BerthError && (thrown.code === 'INVALID_TRANSITION' || thrown.code === 'TASK_EXECUTION_NOT_FOUND')) continue;
        this.ctx.log.warn('could not stop an execution of a stopping workflow execution', {
          workflow_execution: workflowExecution,
          execution: uuid,
          error: coerceError(thrown),
        });
      }
    }
  }
}
