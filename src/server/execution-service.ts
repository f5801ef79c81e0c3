import { randomUUID } from 'node:crypto';
import { BerthError } from '../domain/errors.js';
import { ACTIVE_STATUSES, canTransition, isTerminal } from '../domain/execution-status.js';
import type { ExecutionStatus, StopReason } from '../domain/execution-status.js';
import type { LogPage, StartExecutionRequest, TaskExecution, UpdateExecutionRequest } from '../domain/task-execution.js';
import type { ExecutionPatch, ExecutionRecord, RunEnvironmentRecord, TaskRecord } from '../store/store.js';
import type { Principal } from './auth.js';
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
  constructor(private readonly ctx: ServerContext) {}

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
        return updated;
      }
      // The status changed under us (the monitor saw it finish, say): look again.
    }
    throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} kept changing while being stopped; try again.`);
  }

  /** A PATCH: a status change and/or progress fields. */
  async update(uuid: string, body: UpdateExecutionRequest, principal: Principal): Promise<ExecutionRecord> {
    if (body.status === 'STOPPING') {
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
    for (let round = 0; round < 5; round++) {
      const execution = await this.require(uuid);
      principal.assertMayReport(execution.run_environment_uuid);
      const now = this.ctx.clock.now();
      const patch: ExecutionPatch = { updated_at: now };
      if (body.success_count !== undefined) patch.success_count = body.success_count;
      if (body.error_count !== undefined) patch.error_count = body.error_count;
      if (body.skipped_count !== undefined) patch.skipped_count = body.skipped_count;
      if (body.expected_count !== undefined) patch.expected_count = body.expected_count;
      if (body.last_status_message !== undefined) patch.last_status_message = body.last_status_message;
      if (body.output_value !== undefined) patch.output_value = body.output_value;
      if (body.exit_code !== undefined) patch.exit_code = body.exit_code;
      patch.last_heartbeat_at = body.last_app_heartbeat_at ? Date.parse(body.last_app_heartbeat_at) : now;
      const target = body.status;
      if (target !== undefined && target !== execution.status) {
        if (!canTransition(execution.status, target)) {
          throw new BerthError(
            'INVALID_TRANSITION',
            `Execution ${uuid} is ${execution.status} and cannot become ${target}.`,
            { status: execution.status, requested: target },
          );
        }
        patch.status = target;
        if (target === 'RUNNING' && execution.started_at === null) patch.started_at = now;
        if (isTerminal(target) || target === 'MARKED_DONE') patch.finished_at = now;
      } else if (target === undefined && isTerminal(execution.status)) {
        throw new BerthError('INVALID_TRANSITION', `Execution ${uuid} already ended with status ${execution.status}.`, {
          status: execution.status,
        });
      }
      const updated = await this.ctx.store.updateExecution(uuid, patch, { statuses: [execution.status] });
      if (updated) {
        if (patch.status) this.ctx.wakeMonitor();
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
