import { randomUUID } from 'node:crypto';
import { decideReportedOutcome, statusAfterStopDelivered } from '../domain/attempt-outcome.js';
import { BerthError } from '../domain/errors.js';
import { ACTIVE_STATUSES, STOP_REASONS, canTransition, isTerminal } from '../domain/execution-status.js';
import type { ExecutionStatus, StopReason } from '../domain/execution-status.js';
import type {
  LogPage,
  ReportExecutionRequest,
  ReportedTask,
  StartExecutionRequest,
  TaskExecution,
  UpdateExecutionRequest,
} from '../domain/task-execution.js';
import { capLogTail, finalStatusOf, isWrapperFinalStatus, parseWireTime, wrapperInfoOf } from '../domain/wrapper-report.js';
import type { WrapperFinalStatus, WrapperReportRecord } from '../domain/wrapper-report.js';
import type { AttemptRecord, ExecutionPatch, ExecutionRecord, RunEnvironmentRecord, TaskRecord } from '../store/store.js';
import type { Principal } from './auth.js';
import { CatalogService } from './catalog-service.js';
import type { ServerContext } from './context.js';
import { executionResource } from './representations.js';

/** Statuses a client (a person, a wrapper) may ask for in a PATCH; Berth sets the others. */
const CLIENT_TARGETS: ReadonlySet<ExecutionStatus> = new Set<ExecutionStatus>([
  'RUNNING',
  'STOPPING',
  'MARKED_DONE',
  'SUCCEEDED',
  'FAILED',
  'TERMINATED_AFTER_TIME_OUT',
  'STOPPED',
  'ABORTED',
  'EXITED_AFTER_MARKED_DONE',
]);

/**
 * What the API does with Task Executions: start one, stop one, take a status report, and show
 * them. Launching and watching belong to the launcher and monitor loops.
 */
export class ExecutionService {
  private readonly catalog: CatalogService;

  constructor(private readonly ctx: ServerContext) {
    this.catalog = new CatalogService(ctx);
  }

  /** Creates a QUEUED execution of the Task and wakes the launcher. */
  async start(request: StartExecutionRequest, principal: Principal): Promise<ExecutionRecord> {
    return (await this.startWithContext(request, principal)).execution;
  }

  /** Like `start`, also returning the Task and Run Environment it loaded (to build the response). */
  async startWithContext(
    request: StartExecutionRequest,
    principal: Principal,
  ): Promise<{ execution: ExecutionRecord; task: TaskRecord; env: RunEnvironmentRecord }> {
    const ref = typeof request.task === 'string' ? request.task : 'uuid' in request.task ? request.task.uuid : request.task.name;
    const task = await this.ctx.store.getTask(ref);
    if (!task) throw new BerthError('TASK_NOT_FOUND', `No Task named or with uuid "${ref}". List them with \`berth tasks ls\`.`);
    principal.assertMayReport(task.run_environment_uuid);
    if (task.spec.passive) {
      throw new BerthError('TASK_IS_PASSIVE', `Task "${task.name}" is passive: Berth does not start it, it only receives its reports.`);
    }
    if (!task.spec.enabled) {
      throw new BerthError('TASK_DISABLED', `Task "${task.name}" is disabled; set enabled: true to start it.`);
    }
    const env = await this.requireRunEnvironment(task.run_environment_uuid);
    if (!this.ctx.executors.has(env.kind)) {
      throw new BerthError(
        'EXECUTOR_DISABLED',
        `This server does not run "${env.kind}" Tasks${env.kind === 'local' ? ' (BERTH_LOCAL_EXECUTOR is off)' : ''}; start Task "${task.name}" through a server that does.`,
      );
    }
    const now = this.ctx.clock.now();
    const created = await this.ctx.store.transaction(async (tx) => {
      const limit = task.spec.max_concurrency;
      if (limit !== null && task.spec.on_concurrency_limit === 'reject') {
        await tx.lockTask(task.uuid);
        const inProgress = await tx.countExecutions(task.uuid, ['QUEUED', ...ACTIVE_STATUSES]);
        if (inProgress >= limit) {
          throw new BerthError(
            'MAX_CONCURRENCY_REACHED',
            `Task "${task.name}" already has ${inProgress} execution(s) in progress (max_concurrency ${limit}, on_concurrency_limit: reject). Wait for one to finish, or set on_concurrency_limit: queue.`,
            { max_concurrency: limit, in_progress: inProgress },
          );
        }
      }
      return tx.createExecution({
        uuid: randomUUID(),
        task_uuid: task.uuid,
        run_environment_uuid: env.uuid,
        status: 'QUEUED',
        run_reason: request.run_reason ?? 'EXPLICIT_START',
        max_attempts: 1 + task.spec.max_retries,
        environment_overrides: request.environment ?? {},
        input_value: request.input_value ?? null,
        created_at: now,
        executor_kind: env.kind,
      });
    });
    this.ctx.log.debug('execution queued', { execution: created.uuid, task: task.name });
    this.ctx.wakeLauncher();
    return { execution: created, task, env };
  }

  /**
   * A wrapper reports a run it started itself (`POST` with `status`): creates a RUNNING execution
   * with run reason REPORTED and no executor (Berth does not watch the process; the wrapper's
   * heartbeats and final report do). Finds the Task by uuid or name, or creates it passive when
   * the wrapper asks and the key may. 409 MAX_CONCURRENCY_REACHED when the Task is at its
   * `max_concurrency` (the wrapper waits and retries).
   */
  async report(
    request: ReportExecutionRequest,
    principal: Principal,
  ): Promise<{ execution: ExecutionRecord; task: TaskRecord; env: RunEnvironmentRecord }> {
    const info = wrapperInfoOf(request);
    const task = await this.reportedTask(typeof request.task === 'string' ? { name: request.task } : request.task, request, principal);
    principal.assertMayReport(task.run_environment_uuid);
    if (!task.spec.enabled) {
      throw new BerthError(
        'TASK_DISABLED',
        `Task "${task.name}" is disabled, so Berth refuses runs of it (the wrapper retries, then gives up). Set enabled: true to allow them.`,
      );
    }
    const env = await this.requireRunEnvironment(task.run_environment_uuid);
    const now = this.ctx.clock.now();
    const startedAt = request.started_at === undefined ? now : (parseWireTime(request.started_at) ?? now);
    const execution = await this.ctx.store.transaction(async (tx) => {
      const limit = task.spec.max_concurrency;
      if (limit !== null && request.status === 'RUNNING') {
        await tx.lockTask(task.uuid);
        // Reported runs hold slots like launched ones (the launcher counts them too).
        const inProgress = await tx.countExecutions(task.uuid, ACTIVE_STATUSES);
        if (inProgress >= limit) {
          throw new BerthError(
            'MAX_CONCURRENCY_REACHED',
            `Task "${task.name}" already has ${inProgress} execution(s) in progress (max_concurrency ${limit}). The wrapper waits and retries; raise max_concurrency to allow more at once.`,
            { max_concurrency: limit, in_progress: inProgress },
          );
        }
      }
      const created = await tx.createExecution({
        uuid: randomUUID(),
        task_uuid: task.uuid,
        run_environment_uuid: env.uuid,
        status: 'RUNNING',
        run_reason: 'REPORTED',
        max_attempts: 1,
        environment_overrides: {},
        input_value: request.input_value ?? null,
        created_at: now,
        started_at: startedAt,
        owner_instance: null,
        executor_kind: null,
        attempt: 1,
        wrapper: info,
      });
      const report: WrapperReportRecord = {
        status: request.status,
        exit_code: null,
        failed_attempts: null,
        timed_out_attempts: null,
        finished_at: request.status === 'ABORTED' ? now : null,
        received_at: now,
      };
      const patch: ExecutionPatch = { last_heartbeat_at: now, wrapper_report: report, updated_at: now };
      if (request.status === 'ABORTED') {
        // The wrapper will not run its command (its own configuration is invalid): record why.
        const failure = {
          type: 'START_FAILED' as const,
          code: 'WRAPPER_NOT_STARTED',
          message: "The wrapper did not run its command: its configuration is invalid (the wrapper's log says what is wrong).",
          fault: 'config' as const,
        };
        Object.assign(patch, {
          status: 'ABORTED',
          finished_at: now,
          failure,
          stop_reason: knownStopReason(request.stop_reason) ?? 'FAILED_TO_START',
          attempts: [{ number: 1, status: 'ABORTED', started_at: startedAt, finished_at: now, exit_code: null, failure, executor_handle: null }],
        } satisfies ExecutionPatch);
      }
      return (await tx.updateExecution(created.uuid, patch)) ?? created;
    });
    this.ctx.log.info('wrapper reported a run', { execution: execution.uuid, task: task.name, status: execution.status });
    return { execution, task, env };
  }

  /** The Task of a report: found by uuid or name, or created passive when the wrapper asks and may. */
  private async reportedTask(
    ref: Partial<ReportedTask> & { name?: string },
    body: ReportExecutionRequest,
    principal: Principal,
  ): Promise<TaskRecord> {
    const found = (ref.uuid ? await this.ctx.store.getTask(ref.uuid) : null) ?? (ref.name ? await this.ctx.store.getTask(ref.name) : null);
    if (found) return found;
    const label = ref.name ?? ref.uuid ?? '';
    if (ref.was_auto_created !== true) {
      throw new BerthError(
        'TASK_NOT_FOUND',
        `No Task named or with uuid "${label}". Create it first (berth apply, or POST /api/v1/tasks/), or let the wrapper create it as a passive Task: set PROC_WRAPPER_AUTO_CREATE_TASK=TRUE and PROC_WRAPPER_AUTO_CREATE_TASK_RUN_ENVIRONMENT_NAME, with an API key that may create Tasks (admin, developer, or reporter made with --may-create-passive-tasks).`,
      );
    }
    if (!ref.name) {
      throw new BerthError(
        'TASK_NOT_FOUND',
        `No Task with uuid "${label}", and Berth creates Tasks from a wrapper's report by name only: give the wrapper the Task's name (PROC_WRAPPER_TASK_NAME) instead of a uuid.`,
      );
    }
    if (!principal.mayCreatePassiveTasks) {
      throw new BerthError(
        'INSUFFICIENT_SCOPE',
        `Task "${ref.name}" does not exist, and ${principal.label} may not create Tasks. Create the Task (berth apply), or give the wrapper a key that may: berth keys create NAME --scope reporter --run-environment ENV --may-create-passive-tasks.`,
        { scope: principal.scope },
      );
    }
    const env = await this.autoCreateRunEnvironment(ref.name, ref.run_environment ?? null, principal);
    principal.assertMayCreatePassiveTaskIn(env);
    const heartbeat = ref.heartbeat_interval_seconds ?? body.heartbeat_interval_seconds ?? null;
    const version = [body.wrapper_family, body.wrapper_version].filter(Boolean).join(' ');
    const { record, created } = await this.catalog.createPassiveTask(
      {
        name: ref.name,
        description: `Created from a wrapper's report${version ? ` (${version})` : ''}.`,
        max_concurrency: ref.max_concurrency ?? null,
        ...(heartbeat !== null && heartbeat > 0 ? { heartbeat_interval_seconds: Math.ceil(heartbeat) } : {}),
      },
      env,
    );
    if (created) this.ctx.log.info('passive Task created from a wrapper report', { task: record.name, run_environment: env.name, by: principal.label });
    return record;
  }

  /** Where a wrapper's new Task goes: the Run Environment it names, else a reporter key's own. */
  private async autoCreateRunEnvironment(
    taskName: string,
    ref: { name?: string | undefined; uuid?: string | undefined } | null,
    principal: Principal,
  ): Promise<RunEnvironmentRecord> {
    const wanted = ref?.uuid ?? ref?.name;
    if (wanted) {
      const env =
        (ref?.uuid ? await this.ctx.store.getRunEnvironment(ref.uuid) : null) ??
        (ref?.name ? await this.ctx.store.getRunEnvironment(ref.name) : null);
      if (env) return env;
      throw new BerthError(
        'RUN_ENVIRONMENT_NOT_FOUND',
        `Task "${taskName}" does not exist and the wrapper asked to create it in Run Environment "${wanted}", which does not exist. Create that Run Environment (berth apply), or point PROC_WRAPPER_AUTO_CREATE_TASK_RUN_ENVIRONMENT_NAME at one that exists (berth run-environments ls).`,
      );
    }
    const own = principal.scope === 'reporter' ? principal.key?.run_environment_uuid : null;
    const env = own ? await this.ctx.store.getRunEnvironment(own) : null;
    if (env) return env;
    throw new BerthError(
      'RUN_ENVIRONMENT_NOT_FOUND',
      `Task "${taskName}" does not exist and the wrapper asked to create it, but named no Run Environment to create it in. Set PROC_WRAPPER_AUTO_CREATE_TASK_RUN_ENVIRONMENT_NAME (or _UUID) in the wrapper's environment.`,
    );
  }

  /**
   * Requests a stop. A queued execution is cancelled at once (STOPPED); a launched one moves to
   * STOPPING and its owner's monitor ends the process. Stopping a STOPPING one changes nothing.
   */
  async requestStop(uuid: string, principal: Principal, reason: StopReason = 'MANUAL'): Promise<ExecutionRecord> {
    for (let round = 0; round < 5; round++) {
      const execution = await this.require(uuid);
      principal.assertMayReport(execution.run_environment_uuid);
      const now = this.ctx.clock.now();
      if (execution.status === 'STOPPING') return execution;
      if (isTerminal(execution.status) || execution.status === 'MARKED_DONE') {
        throw new BerthError(
          'INVALID_TRANSITION',
          `Execution ${uuid} already ended with status ${execution.status}; there is nothing to stop.`,
          { status: execution.status },
        );
      }
      const patch: ExecutionPatch =
        execution.status === 'QUEUED'
          ? { status: 'STOPPED', stop_reason: reason, stop_requested_at: now, finished_at: now, updated_at: now }
          : { status: 'STOPPING', stop_reason: reason, stop_requested_at: now, stop_sent_at: null, updated_at: now };
      const updated = await this.ctx.store.updateExecution(uuid, patch, { statuses: [execution.status] });
      if (updated) {
        this.ctx.log.info('stop requested', { execution: uuid, from: execution.status, reason });
        this.ctx.wakeMonitor();
        if (isTerminal(updated.status)) this.ctx.wakeWorkflows?.();
        return updated;
      }
      // The status changed under us (the monitor saw it finish, say): look again.
    }
    throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} kept changing while being stopped; try again.`);
  }

  /**
   * A PATCH: a status change and/or progress fields, from a person or a wrapper
   * (docs/protocol.md). The rules:
   * - STOPPING requests a stop (so does STOPPED of an execution Berth launched: its monitor ends
   *   the process and records STOPPED).
   * - A heartbeat (RUNNING) of a STOPPING execution is how the stop reaches the wrapper: 409
   *   STOP_REQUESTED. Without an executor it is STOPPED (or TERMINATED_AFTER_TIME_OUT) at once;
   *   with one, the monitor records that when it sees the process end, so nothing is left
   *   running unwatched.
   * - A wrapper's final status ends a reported execution at once (`decideReportedOutcome`). For
   *   one Berth launched it is recorded in `wrapper_report`; the monitor ends the attempt when
   *   the executor sees it end, combining both views (`decideAttemptOutcome`).
   * - Progress (counts, message, pid, tails, …) is stored with any of these; `last_heartbeat_at`
   *   is the time Berth received it.
   */
  async update(uuid: string, body: UpdateExecutionRequest, principal: Principal): Promise<ExecutionRecord> {
    let stop = body.status === 'STOPPING';
    if (body.status === 'STOPPED') {
      const current = await this.require(uuid);
      stop = current.executor_kind !== null && !isTerminal(current.status);
    }
    if (stop) {
      // Progress first: a stop may end the execution at once (a queued one), after which
      // progress fields could no longer be recorded.
      const rest = { ...body, status: undefined };
      const current = await this.require(uuid);
      if (Object.values(rest).some((v) => v !== undefined) && !isTerminal(current.status)) {
        await this.update(uuid, rest, principal);
      }
      return this.requestStop(uuid, principal);
    }
    if (body.status !== undefined && !CLIENT_TARGETS.has(body.status)) {
      throw new BerthError(
        'INVALID_TRANSITION',
        `A client cannot set status ${body.status}; Berth sets it itself. Clients may report RUNNING, request STOPPING, set MARKED_DONE, or report a final status.`,
        { requested: body.status },
      );
    }
    const final: WrapperFinalStatus | null = isWrapperFinalStatus(body.status) ? body.status : null;
    for (let round = 0; round < 5; round++) {
      const execution = await this.require(uuid);
      principal.assertMayReport(execution.run_environment_uuid);
      const now = this.ctx.clock.now();
      // Berth launched it (an executor watches the process) or a wrapper reported it (nothing does).
      const launched = execution.executor_kind !== null;
      const patch = progressPatch(execution, body, final, now);
      const guard = { statuses: [execution.status] };

      if (isTerminal(execution.status)) {
        // A wrapper's final report that arrives after the execution ended (a stop, say): keep
        // what it says about the run; the status stays.
        if (final !== null && finalStatusOf(execution.wrapper_report) === null) {
          if (execution.exit_code !== null) delete patch.exit_code;
          const updated = await this.ctx.store.updateExecution(uuid, patch, guard);
          if (updated) return updated;
          continue;
        }
        if (body.status === 'RUNNING' && execution.stop_requested_at !== null) throw stopRequested(execution, execution.status);
        throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} already ended with status ${execution.status}.`, {
          status: execution.status,
        });
      }

      if (execution.status === 'STOPPING' && body.status === 'RUNNING') {
        if (!launched) {
          // No executor will see it end: the wrapper ends its command on this 409, so it is over.
          patch.status = statusAfterStopDelivered(execution.stop_reason);
          patch.finished_at = now;
          patch.attempts = withAttempt(execution, { status: patch.status, finished_at: now, exit_code: patch.exit_code ?? execution.exit_code, failure: null });
        }
        if (!(await this.ctx.store.updateExecutionIf(uuid, patch, guard))) continue;
        if (launched) this.ctx.wakeMonitor();
        throw stopRequested(execution, patch.status ?? execution.status);
      }

      if (final !== null) {
        if (execution.status === 'QUEUED') {
          throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} is QUEUED: it has not started, so it cannot have ended with ${final}.`, {
            status: execution.status,
            requested: final,
          });
        }
        if (!launched) {
          const outcome = decideReportedOutcome(execution, { status: final, exit_code: patch.wrapper_report?.exit_code ?? null });
          if (!canTransition(execution.status, outcome.status)) {
            throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} is ${execution.status} and cannot become ${outcome.status}.`, {
              status: execution.status,
              requested: final,
            });
          }
          const finishedAt = patch.wrapper_report?.finished_at ?? now;
          Object.assign(patch, {
            status: outcome.status,
            failure: outcome.failure,
            exit_code: outcome.exitCode,
            stop_reason: outcome.stopReason,
            finished_at: finishedAt,
            attempts: withAttempt(execution, { status: outcome.status, finished_at: finishedAt, exit_code: outcome.exitCode, failure: outcome.failure }),
          } satisfies ExecutionPatch);
        }
        // Launched: the report is in `wrapper_report`; the monitor ends the attempt when the
        // executor sees the process end.
      } else if (body.status !== undefined && body.status !== execution.status) {
        const target = body.status;
        if (!(target === 'RUNNING' && execution.status === 'MARKED_DONE')) {
          // (A heartbeat of a marked-done run is progress only: the process may keep running.)
          if (!canTransition(execution.status, target)) {
            throw new BerthError(
              'INVALID_TRANSITION',
              `Execution ${uuid} is ${execution.status} and cannot become ${target}.`,
              { status: execution.status, requested: target },
            );
          }
          patch.status = target;
          if (target === 'RUNNING' && execution.started_at === null) {
            patch.started_at = body.started_at === undefined ? now : (parseWireTime(body.started_at) ?? now);
          }
          if (isTerminal(target) || target === 'MARKED_DONE') patch.finished_at = now;
        }
      }
      const updated = await this.ctx.store.updateExecution(uuid, patch, guard);
      if (updated) {
        if (patch.status || final !== null) this.ctx.wakeMonitor();
        // A run that ended here (a wrapper's report) may let a Workflow move on.
        if (isTerminal(updated.status)) this.ctx.wakeWorkflows?.();
        return updated;
      }
    }
    throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} kept changing during the update; try again.`);
  }

  /**
   * A page of an attempt's logs (the current attempt unless `attempt` is given). `complete` is
   * true when that attempt's logs are all returned and nothing more will be appended.
   */
  async readLogs(
    uuid: string,
    options: { cursor?: string | undefined; attempt?: number | undefined; limit: number },
  ): Promise<LogPage> {
    const execution = await this.require(uuid);
    if (execution.executor_kind === null) {
      throw new BerthError(
        'LOGS_UNAVAILABLE',
        `Execution ${uuid} was reported by a wrapper: Berth did not start it and cannot read its output. The wrapper sends the last lines when the run ends (debug_log_tail, error_log_tail: berth executions show ${uuid}).`,
      );
    }
    const attempt = options.attempt ?? execution.attempt;
    const handle =
      attempt === execution.attempt
        ? execution.executor_handle
        : (execution.attempts.find((a) => a.number === attempt)?.executor_handle ?? null);
    if (execution.attempt === 0 && isTerminal(execution.status)) {
      // Cancelled before it was ever launched: there are no logs and there never will be.
      return { entries: [], next_cursor: options.cursor ?? '', attempt: 0, complete: true };
    }
    if (attempt > execution.attempt || attempt < 1) {
      throw new BerthError(
        'LOGS_UNAVAILABLE',
        execution.attempt === 0
          ? `Execution ${uuid} has not started yet (status ${execution.status}); there are no logs.`
          : `Execution ${uuid} has attempts 1 to ${execution.attempt}; there is no attempt ${attempt}.`,
      );
    }
    if (!handle) {
      if (isTerminal(execution.status) || execution.status === 'QUEUED') {
        return { entries: [], next_cursor: options.cursor ?? '', attempt, complete: true };
      }
      throw new BerthError('LOGS_UNAVAILABLE', `Attempt ${attempt} of execution ${uuid} is still starting; try again in a moment.`);
    }
    const executor = this.ctx.executors.get(execution.executor_kind ?? '');
    if (!executor) {
      throw new BerthError('LOGS_UNAVAILABLE', `This server has no "${execution.executor_kind}" executor to read the logs with.`);
    }
    const page = await executor.readLogs(handle, { cursor: options.cursor, limit: options.limit });
    const attemptOver = attempt < execution.attempt || isTerminal(execution.status) || execution.status === 'QUEUED';
    return { entries: page.entries, next_cursor: page.nextCursor, attempt, complete: page.complete && attemptOver };
  }

  async require(uuid: string): Promise<ExecutionRecord> {
    const execution = await this.ctx.store.getExecution(uuid);
    if (!execution) {
      throw new BerthError('TASK_EXECUTION_NOT_FOUND', `No Task Execution with uuid "${uuid}". List them with \`berth executions ls\`.`);
    }
    return execution;
  }

  private async requireRunEnvironment(uuid: string): Promise<RunEnvironmentRecord> {
    const env = await this.ctx.store.getRunEnvironment(uuid);
    if (!env) throw new BerthError('RUN_ENVIRONMENT_NOT_FOUND', `Run Environment ${uuid} no longer exists.`);
    return env;
  }

  /** API resources for many executions, loading their Tasks and Run Environments in bulk. */
  async toResources(executions: readonly ExecutionRecord[]): Promise<TaskExecution[]> {
    const tasks = await this.ctx.store.getTasks(executions.map((e) => e.task_uuid));
    const envs = new Map<string, { uuid: string; name: string }>();
    for (const uuid of new Set(executions.map((e) => e.run_environment_uuid))) {
      const env = await this.ctx.store.getRunEnvironment(uuid);
      envs.set(uuid, env ? { uuid: env.uuid, name: env.name } : { uuid, name: 'deleted' });
    }
    return executions.map((e) => {
      const task: Pick<TaskRecord, 'uuid' | 'name'> = tasks.get(e.task_uuid) ?? { uuid: e.task_uuid, name: 'deleted' };
      return executionResource(e, task, envs.get(e.run_environment_uuid)!, (kind, handle) => this.describeHandle(kind, handle));
    });
  }

  /** The resource of one execution whose Task and Run Environment are at hand. */
  resourceWith(execution: ExecutionRecord, task: { uuid: string; name: string }, env: { uuid: string; name: string }): TaskExecution {
    return executionResource(execution, task, env, (kind, handle) => this.describeHandle(kind, handle));
  }

  async toResource(execution: ExecutionRecord): Promise<TaskExecution> {
    const [resource] = await this.toResources([execution]);
    return resource!;
  }

  private describeHandle(kind: string, handle: Record<string, unknown>): Record<string, unknown> {
    const executor = this.ctx.executors.get(kind);
    const described = executor ? executor.describe(handle) : {};
    return typeof handle.host === 'string' ? { host: handle.host, ...described } : described;
  }

  /** Statuses that count as "in progress" for filters like `status=active`. */
  static readonly IN_PROGRESS: readonly ExecutionStatus[] = ['QUEUED', ...ACTIVE_STATUSES];
}

/** A stop reason Berth knows, or null. */
function knownStopReason(text: string | undefined): StopReason | null {
  return (STOP_REASONS as readonly string[]).includes(text ?? '') ? (text as StopReason) : null;
}

/** The 409 that tells a wrapper to end its command; `status` is the execution's status now. */
function stopRequested(execution: ExecutionRecord, status: ExecutionStatus): BerthError {
  return new BerthError(
    'STOP_REQUESTED',
    `A stop of execution ${execution.uuid} was requested (${execution.stop_reason ?? 'MANUAL'}): end the command.`,
    { status, stop_reason: execution.stop_reason },
  );
}

/** The execution's attempts with the current one (number `attempt`, at least 1) ended as given. */
function withAttempt(
  execution: ExecutionRecord,
  end: Pick<AttemptRecord, 'status' | 'finished_at' | 'exit_code' | 'failure'>,
): AttemptRecord[] {
  const number = Math.max(1, execution.attempt);
  return [
    ...execution.attempts.filter((a) => a.number !== number),
    { number, started_at: execution.started_at, executor_handle: execution.executor_handle, ...end },
  ];
}

/**
 * The fields every PATCH stores: progress, the wrapper's info, and its own account of the run
 * (`wrapper_report`). For a reported execution the wrapper's exit code and attempt counts are
 * the execution's own; for one Berth launched they stay in `wrapper_report` (Berth counts its
 * own attempts and takes the exit code from the executor when it has one).
 */
function progressPatch(
  execution: ExecutionRecord,
  body: UpdateExecutionRequest,
  final: WrapperFinalStatus | null,
  now: number,
): ExecutionPatch {
  const patch: ExecutionPatch = { updated_at: now, last_heartbeat_at: now };
  if (body.success_count !== undefined) patch.success_count = body.success_count;
  if (body.error_count !== undefined) patch.error_count = body.error_count;
  if (body.skipped_count !== undefined) patch.skipped_count = body.skipped_count;
  if (body.expected_count !== undefined) patch.expected_count = body.expected_count;
  if (body.last_status_message !== undefined) patch.last_status_message = body.last_status_message;
  if (body.output_value !== undefined) patch.output_value = body.output_value;
  if (body.last_app_heartbeat_at !== undefined) {
    patch.last_app_heartbeat_at = body.last_app_heartbeat_at === null ? null : parseWireTime(body.last_app_heartbeat_at);
  }
  if (body.pid !== undefined) patch.pid = body.pid;
  if (body.other_runtime_metadata !== undefined) patch.other_runtime_metadata = body.other_runtime_metadata;
  if (body.debug_log_tail !== undefined) patch.debug_log_tail = body.debug_log_tail === null ? null : capLogTail(body.debug_log_tail);
  if (body.error_log_tail !== undefined) patch.error_log_tail = body.error_log_tail === null ? null : capLogTail(body.error_log_tail);
  const info = wrapperInfoOf(body);
  if (info) patch.wrapper = { ...(execution.wrapper ?? {}), ...info };

  const reportsRun =
    body.status === 'RUNNING' ||
    final !== null ||
    body.exit_code !== undefined ||
    body.failed_attempts !== undefined ||
    body.timed_out_attempts !== undefined;
  if (reportsRun) {
    const previous = execution.wrapper_report;
    const keep = <T>(value: T | undefined, before: T | null | undefined): T | null => (value === undefined ? (before ?? null) : value);
    patch.wrapper_report = {
      // A final status is final: a late heartbeat does not undo it.
      status: final ?? finalStatusOf(previous) ?? 'RUNNING',
      exit_code: keep(body.exit_code, previous?.exit_code),
      failed_attempts: keep(body.failed_attempts, previous?.failed_attempts),
      timed_out_attempts: keep(body.timed_out_attempts, previous?.timed_out_attempts),
      finished_at: final !== null ? (body.finished_at === undefined ? now : (parseWireTime(body.finished_at) ?? now)) : (previous?.finished_at ?? null),
      received_at: now,
    };
  }
  if (execution.executor_kind === null) {
    if (body.exit_code !== undefined) patch.exit_code = body.exit_code;
    if (typeof body.failed_attempts === 'number') patch.failed_attempts = body.failed_attempts;
    if (typeof body.timed_out_attempts === 'number') patch.timed_out_attempts = body.timed_out_attempts;
  }
  return patch;
}
