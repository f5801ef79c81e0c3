import { randomUUID } from 'node:crypto';
import { coerceError } from '../domain/errors.js';
import type { EventType } from '../domain/event.js';
import type { ExecutionStatus } from '../domain/execution-status.js';
import type { Failure } from '../domain/failure.js';
import {
  DEFAULT_START_DEADLINE_SECONDS,
  dueExpectedRun,
  FALLBACK_START_DEADLINE_SECONDS,
  heartbeatLatenessSeconds,
  heartbeatTimeoutMs,
  lastSignOfLife,
  missedRunMessage,
  missingHeartbeatFailure,
  scheduleLatenessSeconds,
  startDeadlineFailure,
  startDeadlineSeconds,
} from '../domain/liveness.js';
import { parseSchedule } from '../domain/schedule.js';
import type { AttemptRecord, ExecutionPatch, ExecutionRecord, Store, TaskCutoff, TaskRecord } from '../store/store.js';
import type { ServerContext } from './context.js';
import { Loop, LoopRunner } from './loop.js';

export interface LivenessOptions {
  /** Milliseconds between passes. */
  intervalMs: number;
}

/** In progress: the statuses the pass looks at. */
const IN_PROGRESS: readonly ExecutionStatus[] = ['MANUALLY_STARTED', 'RUNNING', 'STOPPING'];
/** Statuses whose heartbeats are checked (MANUALLY_STARTED has the start deadline instead). */
const HEARTBEAT_STATUSES: readonly ExecutionStatus[] = ['RUNNING', 'STOPPING'];
/** Most overdue executions handled per kind per pass; more wait for the next pass. */
const BATCH = 200;
/** The shortest default start deadline: the store query's cutoff when a Task sets none (the exact one depends on the executor). */
const SHORTEST_DEFAULT_DEADLINE_S = Math.min(FALLBACK_START_DEADLINE_SECONDS, ...Object.values(DEFAULT_START_DEADLINE_SECONDS));

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Berth launched it and a monitor watches it through an executor (so stopping it goes through
 * the monitor's stop path); otherwise a wrapper reported it and only its reports say it lives.
 */
function watchedByExecutor(e: ExecutionRecord): boolean {
  return e.executor_kind !== null && (e.owner_instance !== null || e.executor_handle !== null);
}

/**
 * The attempts of an execution Berth ends itself (no executor to finish it): the current one,
 * when there is one, recorded as ended now, like the attempt finisher does for launched ones.
 */
function endedAttempts(e: ExecutionRecord, status: ExecutionStatus, failure: Failure, now: number): AttemptRecord[] | undefined {
  if (e.attempt < 1) return undefined;
  return [
    ...e.attempts.filter((a) => a.number !== e.attempt),
    { number: e.attempt, status, started_at: e.started_at, finished_at: now, exit_code: null, failure, executor_handle: e.executor_handle },
  ];
}

/**
 * The liveness pass: missing heartbeats, start deadlines and missed scheduled runs of passive
 * Tasks (rules in `domain/liveness.ts`, user docs in `docs/liveness.md`).
 *
 * Any server may run it, all at once: every decision is a compare-and-set on the execution's
 * status, made in one transaction with its event, so exactly one server records it; a missed run
 * is an event whose unique key is the Task and the expected time. Executions Berth launched are
 * moved to STOPPING with the liveness stop reason and their owner's monitor stops them (and
 * resends the stop until the process or ECS task is gone); the attempt finisher then records
 * ABANDONED or FAILED (`decideLivenessOutcome`). Executions a wrapper reported are ended at once.
 *
 * Cost per pass: one read of which Tasks have executions in progress (an index), those Tasks,
 * one query for silent and one for unstarted executions (per-Task cutoffs, so only overdue rows
 * come back), and the scheduled passive Tasks with at most two indexed reads each when one of
 * their runs falls due.
 */
export class LivenessChecker extends LoopRunner {
  protected readonly loop: Loop;
  /** Per Task: the expected run already decided (missed or arrived), so each is looked at once. */
  private readonly decidedRuns = new Map<string, number>();
  /** Tasks whose stored schedule no longer parses, logged once each. */
  private readonly badSchedules = new Set<string>();

  constructor(
    private readonly ctx: ServerContext,
    options: LivenessOptions,
  ) {
    super();
    this.loop = new Loop('liveness', options.intervalMs, () => this.pass(), ctx.log);
  }

  /** One pass. Problems with one execution or Task are logged and do not stop the others. */
  async pass(): Promise<boolean> {
    const now = this.ctx.clock.now();
    await this.checkExecutions(now);
    await this.checkSchedules(now);
    return false;
  }

  private async checkExecutions(now: number): Promise<void> {
    const store = this.ctx.store;
    const taskUuids = await store.listTaskUuidsWithExecutionsIn(IN_PROGRESS);
    if (taskUuids.length === 0) return;
    const tasks = await store.getTasks(taskUuids);
    const kinds = new Map<string, string | null>();
    for (const envUuid of new Set([...tasks.values()].map((t) => t.run_environment_uuid))) {
      kinds.set(envUuid, (await store.getRunEnvironment(envUuid))?.kind ?? null);
    }
    const silent: TaskCutoff[] = [];
    const unstarted: TaskCutoff[] = [];
    for (const task of tasks.values()) {
      const timeout = heartbeatTimeoutMs(task.spec);
      if (timeout !== null) silent.push({ task_uuid: task.uuid, before: now - timeout });
      // The deadline of the Task's executor; `startOverdue` checks each execution's own again.
      const kind = kinds.get(task.run_environment_uuid) ?? null;
      const deadline = task.spec.start_deadline_seconds ?? (kind ? startDeadlineSeconds(task.spec, kind) : SHORTEST_DEFAULT_DEADLINE_S);
      unstarted.push({ task_uuid: task.uuid, before: now - deadline * 1000 });
    }
    if (silent.length > 0) {
      for (const execution of await store.listSilentExecutions(silent, HEARTBEAT_STATUSES, BATCH)) {
        await this.guarded(execution, () => this.heartbeatMissing(execution, tasks.get(execution.task_uuid)!, now));
      }
    }
    for (const execution of await store.listUnstartedExecutions(unstarted, BATCH)) {
      await this.guarded(execution, () => this.startOverdue(execution, tasks.get(execution.task_uuid)!, now));
    }
  }

  private async guarded(execution: ExecutionRecord, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (thrown) {
      this.ctx.log.error('liveness check failed for an execution', { execution: execution.uuid, error: coerceError(thrown) });
    }
  }

  private async heartbeatMissing(e: ExecutionRecord, task: TaskRecord, now: number): Promise<void> {
    const launched = watchedByExecutor(e);
    // The monitor is already stopping it, and resends the stop until the process is gone.
    if (launched && e.status === 'STOPPING') return;
    const lastSeenAt = lastSignOfLife(e);
    const intervalSeconds = task.spec.heartbeat_interval_seconds!;
    const latenessSeconds = heartbeatLatenessSeconds(task.spec)!;
    const failure = missingHeartbeatFailure({
      lastSeenAt,
      everHeartbeat: e.last_heartbeat_at !== null && e.last_heartbeat_at >= (e.started_at ?? 0),
      now,
      intervalSeconds,
      latenessSeconds,
      launchedByBerth: launched,
      stopWasRequested: e.status === 'STOPPING',
    });
    const patch: ExecutionPatch = launched
      ? { status: 'STOPPING', stop_reason: 'MISSING_HEARTBEAT', failure, stop_requested_at: now, stop_sent_at: null, updated_at: now }
      : { status: 'ABANDONED', stop_reason: 'MISSING_HEARTBEAT', failure, finished_at: now, updated_at: now, attempts: endedAttempts(e, 'ABANDONED', failure, now) };
    const won = await this.decide(e, patch, task, 'MISSING_HEARTBEAT', failure.message, {
      last_seen_at: iso(lastSeenAt),
      silent_seconds: Math.round((now - lastSeenAt) / 1000),
      heartbeat_interval_seconds: intervalSeconds,
      max_heartbeat_lateness_seconds: latenessSeconds,
      status_before: e.status,
      launched_by_berth: launched,
    });
    if (!won) return;
    this.ctx.log.warn(launched ? 'heartbeat missing; stopping the execution' : 'heartbeat missing; execution abandoned', {
      execution: e.uuid,
      task: task.name,
      last_seen_at: iso(lastSeenAt),
    });
    if (launched) this.ctx.wakeMonitor();
    // An execution ended here (not launched by Berth) may let a Workflow move on.
    else this.ctx.wakeWorkflows?.();
  }

  private async startOverdue(e: ExecutionRecord & { launched_at: number | null }, task: TaskRecord, now: number): Promise<void> {
    const launched = watchedByExecutor(e);
    const deadlineSeconds = startDeadlineSeconds(task.spec, launched ? e.executor_kind : null);
    const since = e.launched_at ?? e.created_at;
    // The store's cutoff is the shortest default; this executor's may be longer.
    if (since + deadlineSeconds * 1000 >= now) return;
    const failure = startDeadlineFailure({
      deadlineSeconds,
      executorKind: launched ? e.executor_kind : null,
      accepted: e.executor_handle !== null,
    });
    const patch: ExecutionPatch = launched
      ? { status: 'STOPPING', stop_reason: 'FAILED_TO_START', failure, stop_requested_at: now, stop_sent_at: null, updated_at: now }
      : { status: 'FAILED', stop_reason: 'FAILED_TO_START', failure, finished_at: now, updated_at: now, attempts: endedAttempts(e, 'FAILED', failure, now) };
    const won = await this.decide(e, patch, task, 'FAILED_TO_START', failure.message, {
      launched_at: iso(since),
      start_deadline_seconds: deadlineSeconds,
      executor_kind: e.executor_kind,
      executor_accepted: e.executor_handle !== null,
    });
    if (!won) return;
    this.ctx.log.warn('execution not running within its start deadline', {
      execution: e.uuid,
      task: task.name,
      start_deadline_seconds: deadlineSeconds,
    });
    if (launched) this.ctx.wakeMonitor();
    // An execution ended here (not launched by Berth) may let a Workflow move on.
    else this.ctx.wakeWorkflows?.();
  }

  /** The compare-and-set on the status and the event, in one transaction: both or neither. */
  private decide(
    e: ExecutionRecord,
    patch: ExecutionPatch,
    task: TaskRecord,
    type: EventType,
    message: string,
    details: Record<string, unknown>,
  ): Promise<boolean> {
    return this.ctx.store.transaction(async (tx: Store) => {
      const won = await tx.updateExecutionIf(e.uuid, patch, { statuses: [e.status] });
      if (won) {
        await tx.recordEvent({
          uuid: randomUUID(),
          type,
          severity: 'error',
          message: `Execution ${e.uuid} of Task "${task.name}": ${message}`,
          task_uuid: task.uuid,
          task_name: task.name,
          execution_uuid: e.uuid,
          details: { ...details, attempt: e.attempt },
          dedupe_key: `${type}:${e.uuid}:${e.attempt}`,
          created_at: patch.updated_at ?? this.ctx.clock.now(),
        });
      }
      return won;
    });
  }

  private async checkSchedules(now: number): Promise<void> {
    const tasks = await this.ctx.store.listScheduledPassiveTasks();
    const seen = new Set<string>();
    for (const task of tasks) {
      seen.add(task.uuid);
      try {
        await this.checkSchedule(task, now);
      } catch (thrown) {
        this.ctx.log.error('missed-run check failed for a Task', { task: task.name, error: coerceError(thrown) });
      }
    }
    for (const uuid of this.decidedRuns.keys()) if (!seen.has(uuid)) this.decidedRuns.delete(uuid);
  }

  private async checkSchedule(task: TaskRecord, now: number): Promise<void> {
    const expression = task.spec.schedule!;
    const parsed = parseSchedule(expression);
    if (!parsed.ok) {
      // Stored before schedules were validated: say so once, check the others.
      if (!this.badSchedules.has(task.uuid)) {
        this.badSchedules.add(task.uuid);
        this.ctx.log.warn('Task has an invalid schedule; missed runs are not checked until it is fixed', { task: task.name, error: parsed.error });
      }
      return;
    }
    const latenessSeconds = scheduleLatenessSeconds(task.spec);
    const lastRunAt = parsed.schedule.kind === 'rate' ? await this.ctx.store.latestExecutionCreatedAt(task.uuid) : null;
    const due = dueExpectedRun({ schedule: parsed.schedule, now, latenessSeconds, watchedSince: task.updated_at, lastRunAt });
    if (!due || this.decidedRuns.get(task.uuid) === due.expectedAt) return;
    const arrived = await this.ctx.store.hasExecutionCreatedBetween(task.uuid, due.windowStart, due.windowEnd);
    if (!arrived) {
      const recorded = await this.ctx.store.recordEvent({
        uuid: randomUUID(),
        type: 'MISSED_SCHEDULED_RUN',
        severity: 'error',
        message: missedRunMessage(task.name, expression, due.expectedAt, latenessSeconds),
        task_uuid: task.uuid,
        task_name: task.name,
        execution_uuid: null,
        details: {
          expected_at: iso(due.expectedAt),
          deadline: iso(due.windowEnd),
          schedule: expression,
          max_schedule_lateness_seconds: latenessSeconds,
        },
        dedupe_key: `MISSED_SCHEDULED_RUN:${task.uuid}:${iso(due.expectedAt)}`,
        created_at: now,
      });
      if (recorded) this.ctx.log.warn('scheduled run missed', { task: task.name, expected_at: iso(due.expectedAt) });
    }
    this.decidedRuns.set(task.uuid, due.expectedAt);
  }
}
