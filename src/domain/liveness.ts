/**
 * Liveness rules for executions and schedules, as pure functions: when an execution's heartbeat
 * is missing, when a launched execution has failed to start, and which scheduled run of a
 * passive Task is overdue. The server's liveness pass (`src/server/liveness.ts`) asks the store
 * for candidates and applies these rules; `docs/liveness.md` explains them to users.
 *
 * Glossary:
 * - last sign of life: the latest of an execution's last heartbeat, its start and its creation.
 * - heartbeat timeout: `heartbeat_interval_seconds` + the effective `max_heartbeat_lateness_seconds`;
 *   a RUNNING execution silent for longer is ABANDONED (stop reason MISSING_HEARTBEAT).
 * - start deadline: how long an execution may stay MANUALLY_STARTED (launched, not yet seen
 *   running) before it FAILED (stop reason FAILED_TO_START).
 * - expected run: a fire time of a passive Task's schedule; it is missed when no execution of the
 *   Task was created between shortly before it and `max_schedule_lateness_seconds` after it.
 */
import type { AttemptEnd, AttemptOutcome, ExecutionSnapshot } from './attempt-outcome.js';
import { isRetryable } from './failure.js';
import type { Failure } from './failure.js';
import { hasRetriesLeft, retryDelayMs } from './retry-policy.js';
import type { RetryPolicy } from './retry-policy.js';
import { previousFireTime } from './schedule.js';
import type { Schedule } from './schedule.js';

/** Least heartbeat lateness when a Task sets an interval but no lateness (seconds). */
export const MIN_DEFAULT_HEARTBEAT_LATENESS_SECONDS = 60;

/**
 * Start deadline by executor kind when a Task sets none (seconds). A local process starts in
 * milliseconds; a minute leaves room for a loaded host and slow secret files. A Fargate task
 * pulls its image and waits for capacity and a network interface: ten minutes.
 */
export const DEFAULT_START_DEADLINE_SECONDS: Readonly<Record<string, number>> = Object.freeze({ local: 60, 'aws-ecs': 600 });
/** For executor kinds not in the table. */
export const FALLBACK_START_DEADLINE_SECONDS = 600;

/** How long after an expected run Berth waits for it when a Task sets nothing (seconds). */
export const DEFAULT_SCHEDULE_LATENESS_SECONDS = 600;

/** The Task fields these rules read. Old stored specs may lack the newer ones. */
export interface LivenessSettings {
  heartbeat_interval_seconds?: number | null | undefined;
  max_heartbeat_lateness_seconds?: number | null | undefined;
  start_deadline_seconds?: number | null | undefined;
  max_schedule_lateness_seconds?: number | null | undefined;
}

/** The effective heartbeat lateness (seconds), or null when the Task has no heartbeat check. */
export function heartbeatLatenessSeconds(task: LivenessSettings): number | null {
  const interval = task.heartbeat_interval_seconds ?? null;
  if (interval === null) return null;
  return task.max_heartbeat_lateness_seconds ?? Math.max(interval, MIN_DEFAULT_HEARTBEAT_LATENESS_SECONDS);
}

/** Longest silence allowed (ms): interval + lateness; null when heartbeats are not checked. */
export function heartbeatTimeoutMs(task: LivenessSettings): number | null {
  const lateness = heartbeatLatenessSeconds(task);
  if (lateness === null) return null;
  return (task.heartbeat_interval_seconds! + lateness) * 1000;
}

/** The Task's start deadline (seconds) for executions on `executorKind` (null: not launched by Berth). */
export function startDeadlineSeconds(task: LivenessSettings, executorKind: string | null): number {
  return task.start_deadline_seconds ?? DEFAULT_START_DEADLINE_SECONDS[executorKind ?? ''] ?? FALLBACK_START_DEADLINE_SECONDS;
}

export function scheduleLatenessSeconds(task: LivenessSettings): number {
  return task.max_schedule_lateness_seconds ?? DEFAULT_SCHEDULE_LATENESS_SECONDS;
}

/** The latest of the three times that show an execution was alive. */
export function lastSignOfLife(execution: { last_heartbeat_at: number | null; started_at: number | null; created_at: number }): number {
  return Math.max(execution.last_heartbeat_at ?? 0, execution.started_at ?? 0, execution.created_at);
}

const iso = (ms: number) => new Date(ms).toISOString();

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export interface MissingHeartbeatFacts {
  /** Last sign of life (epoch ms). */
  lastSeenAt: number;
  /** Whether the execution had ever sent a heartbeat (else it went silent right after it started). */
  everHeartbeat: boolean;
  now: number;
  intervalSeconds: number;
  latenessSeconds: number;
  /** Berth started it and will stop the process (or ECS task); false for a run a wrapper reported. */
  launchedByBerth: boolean;
  /** A stop had been requested before the heartbeats stopped. */
  stopWasRequested?: boolean;
}

/** The failure of an execution whose heartbeats stopped, saying what to check. */
export function missingHeartbeatFailure(f: MissingHeartbeatFacts): Failure {
  const heard = f.everHeartbeat ? `The last heartbeat arrived at ${iso(f.lastSeenAt)}` : `No heartbeat arrived since it started at ${iso(f.lastSeenAt)}`;
  const expected = `the Task expects one every ${f.intervalSeconds} s, at most ${f.latenessSeconds} s late`;
  const what = f.stopWasRequested
    ? 'A stop had been requested and the wrapper never reported how the run ended.'
    : f.launchedByBerth
      ? 'Berth stopped the process (or ECS task) so that nothing keeps running unwatched.'
      : 'Berth no longer waits for it; if the process still runs, its next report is refused (409) and the wrapper ends it.';
  return {
    type: 'MISSING_HEARTBEAT',
    code: 'MISSING_HEARTBEAT',
    message:
      `${heard} (${duration(f.now - f.lastSeenAt)} ago); ${expected}. ${what} ` +
      'Check that the process is alive and that its wrapper can reach Berth (network, PROC_WRAPPER_API_BASE_URL, API key); ' +
      'if it is only slow to report, raise max_heartbeat_lateness_seconds or heartbeat_interval_seconds.',
    fault: 'infrastructure',
  };
}

export interface StartDeadlineFacts {
  deadlineSeconds: number;
  /** Executor kind that was asked to start it; null when no executor did (a wrapper was to report it). */
  executorKind: string | null;
  /** The executor had a handle (it accepted the start) when the deadline passed. */
  accepted: boolean;
}

const START_HINTS: Record<string, string> = {
  local:
    'The local process did not come up: check the host\'s load and free memory, and the server log around the launch.',
  'aws-ecs':
    'The ECS task stayed PROVISIONING or PENDING: it may be pulling a large image (check the image name and that the execution role can pull it), ' +
    'waiting for Fargate capacity, or for a network interface (check that the subnets have free IP addresses and a route to the registry). ' +
    'The ECS console shows the task\'s stopped reason.',
};

/** The failure of an execution that was not seen RUNNING within its start deadline. */
export function startDeadlineFailure(f: StartDeadlineFacts): Failure {
  const hint =
    f.executorKind === null
      ? 'Nothing reported it RUNNING: if a wrapper runs it, check that the wrapper starts and can reach Berth (PROC_WRAPPER_API_BASE_URL, API key, PROC_WRAPPER_TASK_EXECUTION_UUID).'
      : !f.accepted
        ? `The "${f.executorKind}" executor never confirmed the start; check the server log for errors around the launch.`
        : (START_HINTS[f.executorKind] ?? `The "${f.executorKind}" executor did not report it running.`);
  return {
    type: 'START_FAILED',
    code: 'START_DEADLINE_EXCEEDED',
    message:
      `It was not seen running within its start deadline of ${f.deadlineSeconds} s, so Berth ${f.executorKind === null ? 'gave up on it' : 'stopped it'}. ${hint} ` +
      'If starting legitimately takes longer, raise start_deadline_seconds.',
    fault: 'infrastructure',
  };
}

export interface ExpectedRunQuery {
  schedule: Schedule;
  now: number;
  latenessSeconds: number;
  /** Runs are expected only after this (when the Task, with this schedule, was last written). */
  watchedSince: number;
  /** Creation time of the Task's latest execution, if any (the anchor of a `rate(...)`). */
  lastRunAt: number | null;
}

export interface ExpectedRun {
  /** When the run was due. */
  expectedAt: number;
  /** A run created in `[windowStart, windowEnd]` counts as this one. */
  windowStart: number;
  windowEnd: number;
}

/** How much earlier than its fire time a run may arrive and still count for it (clock skew). */
const EARLY_MS = 60_000;

/**
 * The latest expected run whose lateness window has fully passed at `now`, or null when there
 * is none to check yet. A cron form expects runs at its fire times; a `rate(...)` expects one
 * every period after the latest run (or after `watchedSince` when there was none), since
 * Berth cannot know the phase of an outside scheduler's rate.
 *
 * Only the latest due run is returned: after a long outage of Berth, one missed run is checked,
 * not every one of the outage.
 */
export function dueExpectedRun(q: ExpectedRunQuery): ExpectedRun | null {
  const lateness = q.latenessSeconds * 1000;
  const cutoff = q.now - lateness;
  let expectedAt: number | null;
  let windowStart: number;
  if (q.schedule.kind === 'rate') {
    const anchor = Math.max(q.watchedSince, q.lastRunAt ?? Number.NEGATIVE_INFINITY);
    const first = anchor + q.schedule.periodMs;
    if (first > cutoff) return null;
    expectedAt = previousFireTime(q.schedule, cutoff, anchor);
    windowStart = anchor + 1;
  } else {
    expectedAt = previousFireTime(q.schedule, cutoff);
    if (expectedAt === null) return null;
    const before = previousFireTime(q.schedule, expectedAt - 1);
    // Early by at most a minute, and never into the previous run's share of time.
    const early = before === null ? EARLY_MS : Math.min(EARLY_MS, Math.floor((expectedAt - before) / 2));
    windowStart = expectedAt - early;
  }
  if (expectedAt === null || expectedAt <= q.watchedSince) return null;
  return { expectedAt, windowStart, windowEnd: expectedAt + lateness };
}

/** The message of a missed scheduled run event. */
export function missedRunMessage(taskName: string, schedule: string, expectedAt: number, latenessSeconds: number): string {
  return (
    `Task "${taskName}" was expected to run at ${iso(expectedAt)} (schedule "${schedule}") and no run was reported within ` +
    `${latenessSeconds} s. Check the scheduler that starts it (cron, EventBridge, …) and that its wrapper can reach Berth; ` +
    'if runs are legitimately later, raise max_schedule_lateness_seconds.'
  );
}

/** What `decideLivenessOutcome` needs of the execution: its snapshot and the failure recorded when the stop was decided. */
export type LivenessSnapshot = ExecutionSnapshot & { failure: Failure | null };

/**
 * The outcome of an attempt Berth was stopping for liveness (stop reason MISSING_HEARTBEAT or
 * FAILED_TO_START): that reason decides, however the process then ended, as a person's stop
 * does for STOPPED. Null for any other attempt: `decideAttemptOutcome` decides those.
 *
 * - MISSING_HEARTBEAT: ABANDONED, never retried (it may have done its work).
 * - FAILED_TO_START: FAILED, retried by the Task's retry policy (a slow start is often
 *   transient: capacity, a slow image pull). The executor's own start failure, when it has one
 *   (the image could not be pulled), is more precise than the deadline and replaces it.
 */
export function decideLivenessOutcome(execution: LivenessSnapshot, end: AttemptEnd, policy: RetryPolicy, now: number): AttemptOutcome | null {
  if (execution.status === 'MARKED_DONE') return null;
  const exitCode = end.kind === 'exited' ? end.exitCode : null;
  if (execution.stop_reason === 'MISSING_HEARTBEAT') {
    return {
      attemptStatus: 'ABANDONED',
      failure: execution.failure ?? { type: 'MISSING_HEARTBEAT', code: 'MISSING_HEARTBEAT', message: 'Its heartbeats stopped.', fault: 'infrastructure' },
      exitCode,
      stopReason: 'MISSING_HEARTBEAT',
      failedAttempts: execution.failed_attempts,
      timedOutAttempts: execution.timed_out_attempts,
      retry: null,
    };
  }
  if (execution.stop_reason !== 'FAILED_TO_START') return null;
  const executorSaid =
    end.kind === 'start_failed' ? end.failure : end.kind === 'exited' && end.failure?.type === 'START_FAILED' ? end.failure : null;
  const failure: Failure = executorSaid ??
    execution.failure ?? {
      type: 'START_FAILED',
      code: 'START_DEADLINE_EXCEEDED',
      message: 'It was not seen running within its start deadline.',
      fault: 'infrastructure',
    };
  const retry =
    isRetryable(failure) && hasRetriesLeft(policy, execution.attempt) ? { launchAfter: now + retryDelayMs(policy, execution.attempt) } : null;
  return {
    attemptStatus: 'FAILED',
    failure,
    exitCode,
    stopReason: retry ? null : 'FAILED_TO_START',
    failedAttempts: execution.failed_attempts + 1,
    timedOutAttempts: execution.timed_out_attempts,
    retry,
  };
}
