import type { ExecutionStatus, StopReason } from './execution-status.js';
import { exitFailure, isRetryable, lostFailure, signalFailure, timeoutFailure } from './failure.js';
import type { Failure } from './failure.js';
import { hasRetriesLeft, retryDelayMs } from './retry-policy.js';
import type { RetryPolicy } from './retry-policy.js';

/** How one attempt ended, as the executor saw it. */
export type AttemptEnd =
  | {
      kind: 'exited';
      exitCode: number | null;
      signal: string | null;
      /** The executor enforced the timeout itself. */
      timedOut: boolean;
      /**
       * The backend's own explanation: a START_FAILED failure when the process never really ran
       * (the program does not exist, the image could not be pulled); any other failure when it
       * ran but ended in a way its exit code does not tell (an essential sidecar exited).
       */
      failure: Failure | null;
    }
  | { kind: 'lost'; message: string }
  | { kind: 'start_failed'; failure: Failure };

/** What the execution looked like when the attempt ended. */
export interface ExecutionSnapshot {
  status: ExecutionStatus;
  stop_reason: StopReason | null;
  attempt: number;
  failed_attempts: number;
  timed_out_attempts: number;
}

export interface AttemptOutcome {
  /** Status of the attempt that ended. */
  attemptStatus: ExecutionStatus;
  failure: Failure | null;
  exitCode: number | null;
  stopReason: StopReason | null;
  failedAttempts: number;
  timedOutAttempts: number;
  /** Set when another attempt follows: the execution goes back to QUEUED until `launchAfter`. */
  retry: { launchAfter: number } | null;
}

/**
 * Decides what an ended attempt means for its execution: the final status, or a retry.
 * Pure: the same inputs always give the same outcome.
 *
 * - A stop a person asked for wins over how the process ended (STOPPED, never retried).
 * - A timeout (seen by the executor, or requested by the monitor) is TERMINATED_AFTER_TIME_OUT,
 *   retried only with `retry_on_timeout`.
 * - A lost attempt is ABANDONED and never retried: it may have done its work.
 */
export function decideAttemptOutcome(
  execution: ExecutionSnapshot,
  end: AttemptEnd,
  policy: RetryPolicy,
  timeoutSeconds: number | null,
  now: number,
): AttemptOutcome {
  let attemptStatus: ExecutionStatus;
  let failure: Failure | null = null;
  let stopReason: StopReason | null = execution.stop_reason;
  let exitCode: number | null = null;
  let failedAttempts = execution.failed_attempts;
  let timedOutAttempts = execution.timed_out_attempts;
  let retryable = false;

  if (end.kind === 'lost') {
    attemptStatus = execution.status === 'MARKED_DONE' ? 'EXITED_AFTER_MARKED_DONE' : 'ABANDONED';
    failure = attemptStatus === 'ABANDONED' ? lostFailure(end.message) : null;
    if (attemptStatus === 'ABANDONED') stopReason = 'EXECUTOR_LOST';
  } else if (end.kind === 'start_failed' || (end.kind === 'exited' && end.failure?.type === 'START_FAILED')) {
    failure = end.kind === 'start_failed' ? end.failure : end.failure;
    attemptStatus = execution.stop_reason === 'MANUAL' ? 'STOPPED' : 'FAILED';
    if (attemptStatus === 'FAILED') {
      stopReason = 'FAILED_TO_START';
      failedAttempts += 1;
      retryable = failure !== null && isRetryable(failure);
    }
  } else if (end.kind === 'exited' && end.failure && execution.stop_reason === null && execution.status !== 'MARKED_DONE' && !end.timedOut) {
    // The backend explains the end itself (an essential sidecar exited, the task was stopped
    // outside Berth, no exit code was reported): that explanation is the failure.
    exitCode = end.exitCode;
    attemptStatus = 'FAILED';
    failure = end.failure;
    failedAttempts += 1;
    retryable = isRetryable(failure);
  } else {
    exitCode = end.exitCode;
    const timedOut = end.timedOut || execution.stop_reason === 'MAX_EXECUTION_TIME_EXCEEDED';
    if (execution.status === 'MARKED_DONE') {
      attemptStatus = 'EXITED_AFTER_MARKED_DONE';
    } else if (execution.stop_reason === 'MANUAL') {
      attemptStatus = 'STOPPED';
    } else if (timedOut) {
      attemptStatus = 'TERMINATED_AFTER_TIME_OUT';
      stopReason = 'MAX_EXECUTION_TIME_EXCEEDED';
      failure = timeoutFailure(timeoutSeconds ?? 0, end.signal);
      timedOutAttempts += 1;
      retryable = policy.retry_on_timeout;
    } else if (end.exitCode === 0 && end.signal === null) {
      attemptStatus = 'SUCCEEDED';
    } else {
      attemptStatus = 'FAILED';
      failure = end.signal !== null ? signalFailure(end.signal) : exitFailure(end.exitCode ?? -1);
      failedAttempts += 1;
      retryable = isRetryable(failure);
    }
  }

  const retry =
    retryable && hasRetriesLeft(policy, execution.attempt)
      ? { launchAfter: now + retryDelayMs(policy, execution.attempt) }
      : null;
  return {
    attemptStatus,
    failure,
    exitCode,
    // A retried attempt's stop reason belongs to that attempt, not to the execution.
    stopReason: retry ? null : stopReason,
    failedAttempts,
    timedOutAttempts,
    retry,
  };
}
