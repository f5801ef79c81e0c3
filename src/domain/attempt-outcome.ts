import type { ExecutionStatus, StopReason } from './execution-status.js';
import { exitFailure, isRetryable, lostFailure, signalFailure, timeoutFailure } from './failure.js';
import type { Failure } from './failure.js';
import { hasRetriesLeft, retryDelayMs } from './retry-policy.js';
import type { RetryPolicy } from './retry-policy.js';
import { finalStatusOf } from './wrapper-report.js';
import type { WrapperFinalStatus, WrapperReportRecord } from './wrapper-report.js';

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
  /** What a wrapper inside reported about this attempt, if there is one (only a final status counts). */
  wrapper_report?: Pick<WrapperReportRecord, 'status' | 'exit_code'> | null;
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
 * The failure a wrapper's final status stands for (null for a success). The wrapper watched the
 * wrapped command itself, so it can tell its own timeout and an outside SIGTERM from a failure.
 */
export function wrapperFailure(status: WrapperFinalStatus, exitCode: number | null): Failure | null {
  switch (status) {
    case 'SUCCEEDED':
      return null;
    case 'EXITED_AFTER_MARKED_DONE':
      return exitCode === null || exitCode === 0 ? null : wrapperExitFailure(exitCode);
    case 'FAILED':
      return wrapperExitFailure(exitCode);
    case 'TERMINATED_AFTER_TIME_OUT':
      return {
        type: 'TIMEOUT',
        code: 'WRAPPER_TIMEOUT',
        message: 'The wrapper ended the command after its own timeout (process_timeout_seconds of the wrapper).',
        fault: 'task',
        exit_code: exitCode,
      };
    case 'ABORTED':
      return {
        type: 'SIGNAL',
        code: 'ABORTED',
        message:
          'The wrapper received SIGTERM from outside Berth (for example the ECS task was stopped from the console, or its capacity was reclaimed) and ended the command.',
        fault: 'infrastructure',
        signal: 'SIGTERM',
        exit_code: exitCode,
      };
  }
}

const SIGNAL_NAMES: Record<number, string> = { 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

function wrapperExitFailure(exitCode: number | null): Failure {
  if (exitCode === null) {
    return { type: 'EXIT', code: 'NON_ZERO_EXIT', message: 'The wrapper reported that the command failed (without an exit code).', fault: 'task', exit_code: null };
  }
  if (exitCode < 0) {
    // Python reports a child ended by signal N as exit code -N.
    const signal = SIGNAL_NAMES[-exitCode] ?? `signal ${-exitCode}`;
    return { ...signalFailure(signal), exit_code: exitCode, message: `The wrapper reported: ${signalFailure(signal).message}` };
  }
  return { ...exitFailure(exitCode), message: `The wrapper reported: ${exitFailure(exitCode).message}` };
}

/** A wrapper's success: SUCCEEDED, or EXITED_AFTER_MARKED_DONE with exit code 0. */
function wrapperSucceeded(status: WrapperFinalStatus, exitCode: number | null): boolean {
  return status === 'SUCCEEDED' || (status === 'EXITED_AFTER_MARKED_DONE' && (exitCode === null || exitCode === 0));
}

/**
 * Decides what an ended attempt means for its execution: the final status, or a retry.
 * Pure: the same inputs always give the same outcome. This is the one place where the
 * executor's view and a wrapper's final report are combined (docs/protocol.md):
 *
 * - A stop a person asked for wins over how the process ended (STOPPED, never retried).
 * - A timeout (seen by the executor, or requested by the monitor) is TERMINATED_AFTER_TIME_OUT,
 *   retried only with `retry_on_timeout`.
 * - A lost attempt is ABANDONED and never retried: it may have done its work. With a wrapper's
 *   final report, the report says how it ended instead.
 * - The exit code is the executor's when it has one, else the wrapper's. A failure seen by either
 *   side wins: with both views the attempt SUCCEEDED only when both say so; the wrapper's failing
 *   status (FAILED, TERMINATED_AFTER_TIME_OUT, ABORTED) is used when it reported one, else the
 *   executor's. When the executor has no exit code at all (ECS gave none), the wrapper decides.
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
  const reported = finalStatusOf(execution.wrapper_report);
  const reportedExitCode = execution.wrapper_report?.exit_code ?? null;

  if (end.kind === 'lost' && reported === null) {
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
  } else {
    // Exited, or lost after the wrapper had reported how it ended.
    const exit =
      end.kind === 'exited' ? end : { exitCode: null, signal: null, timedOut: false, failure: null as Failure | null };
    const executorHasExit = exit.exitCode !== null || exit.signal !== null;
    const executorFailed = executorHasExit && (exit.signal !== null || exit.exitCode !== 0 || exit.failure !== null);
    const timedOut = exit.timedOut || execution.stop_reason === 'MAX_EXECUTION_TIME_EXCEEDED';
    exitCode = executorHasExit ? exit.exitCode : reported !== null ? reportedExitCode : exit.exitCode;
    /** The executor's own verdict on a failed end. */
    const executorFailure = (): Failure =>
      exit.failure ?? (exit.signal !== null ? signalFailure(exit.signal) : exitFailure(exit.exitCode ?? -1));

    if (execution.status === 'MARKED_DONE') {
      attemptStatus = 'EXITED_AFTER_MARKED_DONE';
    } else if (execution.stop_reason === 'MANUAL') {
      attemptStatus = 'STOPPED';
    } else if (timedOut) {
      attemptStatus = 'TERMINATED_AFTER_TIME_OUT';
      stopReason = 'MAX_EXECUTION_TIME_EXCEEDED';
      failure = timeoutFailure(timeoutSeconds ?? 0, exit.signal);
      timedOutAttempts += 1;
      retryable = policy.retry_on_timeout;
    } else if (reported !== null && !(wrapperSucceeded(reported, reportedExitCode) && executorFailed)) {
      // The wrapper's verdict: it failed (whatever the container's own exit code), or it
      // succeeded and the executor saw nothing wrong (or nothing at all).
      if (wrapperSucceeded(reported, reportedExitCode)) {
        attemptStatus = 'SUCCEEDED';
      } else if (reported === 'TERMINATED_AFTER_TIME_OUT') {
        attemptStatus = 'TERMINATED_AFTER_TIME_OUT';
        stopReason = 'MAX_EXECUTION_TIME_EXCEEDED';
        failure = wrapperFailure(reported, reportedExitCode);
        timedOutAttempts += 1;
        retryable = policy.retry_on_timeout;
      } else if (reported === 'ABORTED') {
        // Ended from outside Berth on purpose: neither a failed attempt nor one to retry.
        attemptStatus = 'ABORTED';
        failure = executorFailed && exit.failure ? exit.failure : wrapperFailure(reported, reportedExitCode);
      } else {
        attemptStatus = 'FAILED';
        // The backend's explanation when it saw the failure too (out of memory, say); not when
        // all it says is that it has no exit code.
        failure = executorFailed && exit.failure ? exit.failure : wrapperFailure(reported, reportedExitCode);
        failedAttempts += 1;
        retryable = failure !== null && isRetryable(failure);
      }
    } else if (executorFailed || !executorHasExit) {
      // The executor's verdict; the backend's own explanation (an essential sidecar exited, no
      // exit code was reported, out of memory) is the failure when it has one.
      attemptStatus = 'FAILED';
      failure = executorFailure();
      failedAttempts += 1;
      retryable = isRetryable(failure);
    } else {
      attemptStatus = 'SUCCEEDED';
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

/** How a run Berth did not start ended, from the wrapper's final report. */
export interface ReportedOutcome {
  status: ExecutionStatus;
  failure: Failure | null;
  exitCode: number | null;
  stopReason: StopReason | null;
}

/**
 * The final status of a reported execution (no executor: the wrapper's report is all Berth
 * knows). Berth's own decisions still come first: a marked-done run EXITED_AFTER_MARKED_DONE, a
 * requested stop is STOPPED (a timeout stop TERMINATED_AFTER_TIME_OUT); otherwise the wrapper's
 * status. Never a retry: Berth cannot start a run it did not start.
 */
export function decideReportedOutcome(
  execution: Pick<ExecutionSnapshot, 'status' | 'stop_reason'>,
  report: { status: WrapperFinalStatus; exit_code: number | null },
): ReportedOutcome {
  const base = { exitCode: report.exit_code, stopReason: execution.stop_reason };
  if (execution.status === 'MARKED_DONE') return { ...base, status: 'EXITED_AFTER_MARKED_DONE', failure: null };
  if (execution.status === 'STOPPING') return { ...base, status: statusAfterStopDelivered(execution.stop_reason), failure: null };
  if (wrapperSucceeded(report.status, report.exit_code)) return { ...base, status: 'SUCCEEDED', failure: null };
  const status: ExecutionStatus = report.status === 'EXITED_AFTER_MARKED_DONE' ? 'FAILED' : report.status;
  return {
    ...base,
    status,
    failure: wrapperFailure(report.status, report.exit_code),
    stopReason: status === 'TERMINATED_AFTER_TIME_OUT' ? 'MAX_EXECUTION_TIME_EXCEEDED' : execution.stop_reason,
  };
}

/**
 * The status of a run whose stop reached its wrapper (a 409 on a heartbeat) when Berth has no
 * executor to watch it end: STOPPED, or TERMINATED_AFTER_TIME_OUT for a stop after a timeout.
 */
export function statusAfterStopDelivered(stopReason: StopReason | null): ExecutionStatus {
  return stopReason === 'MAX_EXECUTION_TIME_EXCEEDED' ? 'TERMINATED_AFTER_TIME_OUT' : 'STOPPED';
}
