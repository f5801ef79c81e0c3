import { describe, expect, it } from 'vitest';
import { decideAttemptOutcome, decideReportedOutcome, statusAfterStopDelivered } from './attempt-outcome.js';
import type { ExecutionSnapshot } from './attempt-outcome.js';
import type { RetryPolicy } from './retry-policy.js';
import { retryDelayMs, hasRetriesLeft } from './retry-policy.js';

const NOW = 1_000_000;
const noRetry: RetryPolicy = { max_retries: 0, retry_delay_seconds: 10, retry_backoff_multiplier: 1, max_retry_delay_seconds: null, retry_on_timeout: false };
const running = (over: Partial<ExecutionSnapshot> = {}): ExecutionSnapshot => ({
  status: 'RUNNING',
  stop_reason: null,
  attempt: 1,
  failed_attempts: 0,
  timed_out_attempts: 0,
  ...over,
});
const exited = (exitCode: number | null, signal: string | null = null, timedOut = false) =>
  ({ kind: 'exited', exitCode, signal, timedOut, failure: null }) as const;

describe('decideAttemptOutcome', () => {
  it('exit 0 succeeds', () => {
    const o = decideAttemptOutcome(running(), exited(0), noRetry, null, NOW);
    expect(o).toMatchObject({ attemptStatus: 'SUCCEEDED', failure: null, exitCode: 0, retry: null });
  });

  it('a non-zero exit fails with a readable reason and counts the failed attempt', () => {
    const o = decideAttemptOutcome(running(), exited(3), noRetry, null, NOW);
    expect(o.attemptStatus).toBe('FAILED');
    expect(o.failure).toMatchObject({ type: 'EXIT', exit_code: 3, fault: 'task' });
    expect(o.failure?.message).toContain('exited with code 3');
    expect(o.failedAttempts).toBe(1);
  });

  it('exit 137 is explained as a kill, often out of memory', () => {
    const o = decideAttemptOutcome(running(), exited(137), noRetry, null, NOW);
    expect(o.failure?.code).toBe('OOM_KILLED');
    expect(o.failure?.message).toMatch(/memory/);
  });

  it('a signal it did not get from Berth fails with the signal', () => {
    const o = decideAttemptOutcome(running(), exited(null, 'SIGSEGV'), noRetry, null, NOW);
    expect(o.failure).toMatchObject({ type: 'SIGNAL', signal: 'SIGSEGV' });
  });

  it('a timeout (seen by the executor or requested by the monitor) is TERMINATED_AFTER_TIME_OUT', () => {
    const byExecutor = decideAttemptOutcome(running(), exited(null, 'SIGTERM', true), noRetry, 5, NOW);
    expect(byExecutor).toMatchObject({ attemptStatus: 'TERMINATED_AFTER_TIME_OUT', stopReason: 'MAX_EXECUTION_TIME_EXCEEDED', timedOutAttempts: 1 });
    expect(byExecutor.failure?.message).toContain('5 s');
    const byMonitor = decideAttemptOutcome(
      running({ status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' }),
      exited(null, 'SIGKILL'),
      noRetry,
      5,
      NOW,
    );
    expect(byMonitor.attemptStatus).toBe('TERMINATED_AFTER_TIME_OUT');
    expect(byMonitor.failure?.message).toMatch(/ignored SIGTERM/);
  });

  it('a stop a person asked for wins over how the process ended, and is never retried', () => {
    const policy = { ...noRetry, max_retries: 5 };
    const o = decideAttemptOutcome(running({ status: 'STOPPING', stop_reason: 'MANUAL' }), exited(null, 'SIGTERM'), policy, null, NOW);
    expect(o).toMatchObject({ attemptStatus: 'STOPPED', stopReason: 'MANUAL', retry: null, failure: null });
  });

  it('retries failures while attempts remain, with the configured delay and backoff', () => {
    const policy: RetryPolicy = { ...noRetry, max_retries: 2, retry_delay_seconds: 10, retry_backoff_multiplier: 3 };
    const first = decideAttemptOutcome(running({ attempt: 1 }), exited(1), policy, null, NOW);
    expect(first.retry).toEqual({ launchAfter: NOW + 10_000 });
    expect(first.stopReason).toBeNull();
    const second = decideAttemptOutcome(running({ attempt: 2, failed_attempts: 1 }), exited(1), policy, null, NOW);
    expect(second.retry).toEqual({ launchAfter: NOW + 30_000 });
    expect(second.failedAttempts).toBe(2);
    const third = decideAttemptOutcome(running({ attempt: 3, failed_attempts: 2 }), exited(1), policy, null, NOW);
    expect(third.retry).toBeNull();
    expect(third.attemptStatus).toBe('FAILED');
  });

  it('retries timeouts only when retry_on_timeout is set', () => {
    const policy: RetryPolicy = { ...noRetry, max_retries: 1 };
    expect(decideAttemptOutcome(running(), exited(null, 'SIGTERM', true), policy, 1, NOW).retry).toBeNull();
    expect(decideAttemptOutcome(running(), exited(null, 'SIGTERM', true), { ...policy, retry_on_timeout: true }, 1, NOW).retry).not.toBeNull();
  });

  it('never retries a lost attempt (it may have done its work) and marks it ABANDONED', () => {
    const o = decideAttemptOutcome(running(), { kind: 'lost', message: 'runner gone' }, { ...noRetry, max_retries: 3 }, null, NOW);
    expect(o).toMatchObject({ attemptStatus: 'ABANDONED', stopReason: 'EXECUTOR_LOST', retry: null });
    expect(o.failure).toMatchObject({ type: 'LOST', message: 'runner gone', fault: 'infrastructure' });
  });

  it('does not retry configuration failures at start, but does retry infrastructure ones', () => {
    const policy = { ...noRetry, max_retries: 3 };
    const config = decideAttemptOutcome(
      running({ status: 'MANUALLY_STARTED' }),
      { kind: 'start_failed', failure: { type: 'START_FAILED', code: 'SECRET_UNRESOLVED', message: 'x', fault: 'config' } },
      policy,
      null,
      NOW,
    );
    expect(config).toMatchObject({ attemptStatus: 'FAILED', stopReason: 'FAILED_TO_START', retry: null });
    const infra = decideAttemptOutcome(
      running({ status: 'MANUALLY_STARTED' }),
      { kind: 'start_failed', failure: { type: 'START_FAILED', code: 'CAPACITY', message: 'x', fault: 'infrastructure' } },
      policy,
      null,
      NOW,
    );
    expect(infra.retry).not.toBeNull();
  });

  it("fails with the backend's explanation when the exit code does not tell the story", () => {
    const sidecar = { type: 'EXIT' as const, code: 'ESSENTIAL_CONTAINER_EXITED', message: 'Essential container proxy exited with code 1.', fault: 'task' as const };
    const o = decideAttemptOutcome(running(), { kind: 'exited', exitCode: 0, signal: null, timedOut: false, failure: sidecar }, noRetry, null, NOW);
    expect(o).toMatchObject({ attemptStatus: 'FAILED', failure: sidecar, exitCode: 0, failedAttempts: 1 });
    // A stop Berth asked for still wins.
    const stopped = decideAttemptOutcome(
      running({ status: 'STOPPING', stop_reason: 'MANUAL' }),
      { kind: 'exited', exitCode: 143, signal: null, timedOut: false, failure: sidecar },
      noRetry,
      null,
      NOW,
    );
    expect(stopped.attemptStatus).toBe('STOPPED');
  });

  it('a process that exits after being marked done is EXITED_AFTER_MARKED_DONE', () => {
    const o = decideAttemptOutcome(running({ status: 'MARKED_DONE' }), exited(1), noRetry, null, NOW);
    expect(o.attemptStatus).toBe('EXITED_AFTER_MARKED_DONE');
  });
});

describe('retry policy', () => {
  it('caps the delay and counts attempts', () => {
    const policy: RetryPolicy = { max_retries: 5, retry_delay_seconds: 1, retry_backoff_multiplier: 10, max_retry_delay_seconds: 50, retry_on_timeout: false };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(policy, n))).toEqual([1000, 10_000, 50_000, 50_000]);
    expect(hasRetriesLeft(policy, 5)).toBe(true);
    expect(hasRetriesLeft(policy, 6)).toBe(false);
  });
});

describe('decideAttemptOutcome with a wrapper report (docs/protocol.md)', () => {
  const reported = (status: string, exit_code: number | null, over: Partial<ExecutionSnapshot> = {}) =>
    running({ wrapper_report: { status: status as ExecutionSnapshot['status'], exit_code }, ...over });
  const noExitCode = { type: 'EXIT' as const, code: 'NO_EXIT_CODE', message: 'ECS stopped the task without an exit code.', fault: 'infrastructure' as const };
  const ecsWithoutExitCode = { kind: 'exited', exitCode: null, signal: null, timedOut: false, failure: noExitCode } as const;

  it('uses the wrapper\'s status and exit code when the executor has no exit code (ECS gave none)', () => {
    expect(decideAttemptOutcome(reported('SUCCEEDED', 0), ecsWithoutExitCode, noRetry, null, NOW)).toMatchObject({
      attemptStatus: 'SUCCEEDED',
      exitCode: 0,
      failure: null,
    });
    const failed = decideAttemptOutcome(reported('FAILED', 3), ecsWithoutExitCode, noRetry, null, NOW);
    expect(failed).toMatchObject({ attemptStatus: 'FAILED', exitCode: 3, failedAttempts: 1 });
    expect(failed.failure?.message).toContain('exited with code 3');
    // Without a report the same observation is a failure with ECS's explanation.
    expect(decideAttemptOutcome(running(), ecsWithoutExitCode, noRetry, null, NOW)).toMatchObject({ attemptStatus: 'FAILED', failure: noExitCode });
  });

  it("keeps the executor's exit code when it has one, and a failure seen by either side wins", () => {
    // The wrapper said it succeeded, but the process exited 2: the executor's view wins.
    const exitedBadly = decideAttemptOutcome(reported('SUCCEEDED', 0), exited(2), noRetry, null, NOW);
    expect(exitedBadly).toMatchObject({ attemptStatus: 'FAILED', exitCode: 2 });
    expect(exitedBadly.failure?.message).toContain('exited with code 2');
    expect(decideAttemptOutcome(reported('SUCCEEDED', 0), exited(null, 'SIGKILL'), noRetry, null, NOW).failure).toMatchObject({ signal: 'SIGKILL' });
    // The wrapper saw a failure the container's exit code hides (proc_wrapper exits 0 after SIGTERM).
    const aborted = decideAttemptOutcome(reported('ABORTED', 1), exited(0), { ...noRetry, max_retries: 3 }, null, NOW);
    expect(aborted).toMatchObject({ attemptStatus: 'ABORTED', exitCode: 0, retry: null, failedAttempts: 0 });
    expect(aborted.failure).toMatchObject({ code: 'ABORTED', signal: 'SIGTERM' });
    expect(decideAttemptOutcome(reported('FAILED', 3), exited(3), noRetry, null, NOW)).toMatchObject({ attemptStatus: 'FAILED', exitCode: 3 });
    expect(decideAttemptOutcome(reported('SUCCEEDED', 0), exited(0), noRetry, null, NOW)).toMatchObject({ attemptStatus: 'SUCCEEDED', exitCode: 0 });
  });

  it("a wrapper's own timeout is TERMINATED_AFTER_TIME_OUT, retried only with retry_on_timeout", () => {
    const policy = { ...noRetry, max_retries: 2 };
    const timedOut = decideAttemptOutcome(reported('TERMINATED_AFTER_TIME_OUT', 1), exited(1), policy, null, NOW);
    expect(timedOut).toMatchObject({ attemptStatus: 'TERMINATED_AFTER_TIME_OUT', timedOutAttempts: 1, retry: null, stopReason: 'MAX_EXECUTION_TIME_EXCEEDED' });
    expect(timedOut.failure).toMatchObject({ type: 'TIMEOUT', code: 'WRAPPER_TIMEOUT' });
    expect(decideAttemptOutcome(reported('TERMINATED_AFTER_TIME_OUT', 1), exited(1), { ...policy, retry_on_timeout: true }, null, NOW).retry).not.toBeNull();
  });

  it('retries a failure once, by the Task\'s policy, whoever saw it', () => {
    const policy = { ...noRetry, max_retries: 1 };
    const o = decideAttemptOutcome(reported('FAILED', 3), exited(3), policy, null, NOW);
    expect(o).toMatchObject({ attemptStatus: 'FAILED', failedAttempts: 1, retry: { launchAfter: NOW + 10_000 } });
  });

  it("Berth's own decisions come first: a requested stop, its timeout, marked done, a start failure", () => {
    expect(decideAttemptOutcome(reported('ABORTED', 1, { status: 'STOPPING', stop_reason: 'MANUAL' }), exited(0), noRetry, null, NOW).attemptStatus).toBe('STOPPED');
    expect(
      decideAttemptOutcome(reported('SUCCEEDED', 0, { status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED' }), exited(0), noRetry, 5, NOW).attemptStatus,
    ).toBe('TERMINATED_AFTER_TIME_OUT');
    expect(decideAttemptOutcome(reported('FAILED', 1, { status: 'MARKED_DONE' }), exited(1), noRetry, null, NOW).attemptStatus).toBe(
      'EXITED_AFTER_MARKED_DONE',
    );
  });

  it('a lost attempt ends as the wrapper reported, if it did; a RUNNING report changes nothing', () => {
    const lost = { kind: 'lost', message: 'runner gone' } as const;
    expect(decideAttemptOutcome(reported('SUCCEEDED', 0), lost, noRetry, null, NOW)).toMatchObject({ attemptStatus: 'SUCCEEDED', exitCode: 0 });
    expect(decideAttemptOutcome(reported('RUNNING', null), lost, noRetry, null, NOW).attemptStatus).toBe('ABANDONED');
    expect(decideAttemptOutcome(reported('RUNNING', 7), exited(0), noRetry, null, NOW)).toMatchObject({ attemptStatus: 'SUCCEEDED', exitCode: 0 });
  });
});

describe('decideReportedOutcome (runs Berth did not start)', () => {
  it("takes the wrapper's status, with a failure a person can read", () => {
    expect(decideReportedOutcome({ status: 'RUNNING', stop_reason: null }, { status: 'SUCCEEDED', exit_code: 0 })).toEqual({
      status: 'SUCCEEDED',
      failure: null,
      exitCode: 0,
      stopReason: null,
    });
    const failed = decideReportedOutcome({ status: 'RUNNING', stop_reason: null }, { status: 'FAILED', exit_code: -9 });
    expect(failed).toMatchObject({ status: 'FAILED', exitCode: -9 });
    expect(failed.failure).toMatchObject({ type: 'SIGNAL', signal: 'SIGKILL' });
    expect(decideReportedOutcome({ status: 'RUNNING', stop_reason: null }, { status: 'TERMINATED_AFTER_TIME_OUT', exit_code: null })).toMatchObject({
      status: 'TERMINATED_AFTER_TIME_OUT',
      stopReason: 'MAX_EXECUTION_TIME_EXCEEDED',
    });
    expect(decideReportedOutcome({ status: 'RUNNING', stop_reason: null }, { status: 'EXITED_AFTER_MARKED_DONE', exit_code: 4 }).status).toBe('FAILED');
  });

  it('keeps what Berth decided: marked done, a requested stop', () => {
    expect(decideReportedOutcome({ status: 'MARKED_DONE', stop_reason: null }, { status: 'SUCCEEDED', exit_code: 0 }).status).toBe('EXITED_AFTER_MARKED_DONE');
    expect(decideReportedOutcome({ status: 'STOPPING', stop_reason: 'MANUAL' }, { status: 'ABORTED', exit_code: 1 })).toMatchObject({
      status: 'STOPPED',
      stopReason: 'MANUAL',
      failure: null,
    });
    expect(statusAfterStopDelivered('MANUAL')).toBe('STOPPED');
    expect(statusAfterStopDelivered('MAX_EXECUTION_TIME_EXCEEDED')).toBe('TERMINATED_AFTER_TIME_OUT');
  });
});
