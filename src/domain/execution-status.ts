import { z } from 'zod';

/**
 * Status vocabulary of a Task Execution. Wire names are shared with CloudReactor's protocol;
 * `QUEUED` is Berth's own addition. This is the one place they are documented
 * (`docs/execution-states.md` is generated from `STATUS_DESCRIPTIONS`).
 */
export const EXECUTION_STATUSES = [
  'QUEUED',
  'MANUALLY_STARTED',
  'RUNNING',
  'STOPPING',
  'SUCCEEDED',
  'FAILED',
  'TERMINATED_AFTER_TIME_OUT',
  'STOPPED',
  'ABANDONED',
  'ABORTED',
  'MARKED_DONE',
  'EXITED_AFTER_MARKED_DONE',
] as const;
export const ExecutionStatus = z.enum(EXECUTION_STATUSES);
export type ExecutionStatus = z.infer<typeof ExecutionStatus>;

export const STATUS_DESCRIPTIONS: Record<ExecutionStatus, string> = {
  QUEUED:
    'Berth addition. Accepted, waiting for the launcher: for a free slot under `max_concurrency`, or for the delay before a retry (`launch_after`).',
  MANUALLY_STARTED:
    'The launcher claimed it and asked the executor to start it; the process (or ECS task) has not been seen running yet. Not seen running within the Task\'s start deadline, it is stopped and FAILED (stop reason FAILED_TO_START).',
  RUNNING: 'The process is running (seen by the executor, or reported by the wrapper).',
  STOPPING: 'A stop was requested (by a person, or because of a timeout); Berth is ending the process.',
  SUCCEEDED: 'Finished with exit code 0.',
  FAILED: 'Finished with a non-zero exit code or a signal, or could not be started; `failure` says why.',
  TERMINATED_AFTER_TIME_OUT: 'Ran longer than `timeout_seconds` and was ended by Berth.',
  STOPPED: 'Ended because someone asked (stop reason `MANUAL`), or cancelled before it was launched.',
  ABANDONED:
    'Berth lost track of it (the process vanished without recording its exit, or heartbeats stopped); `failure` says what was seen.',
  ABORTED: 'The wrapper received SIGTERM from outside Berth and ended the process.',
  MARKED_DONE: 'A person marked it done while the process still ran; Berth no longer waits for it.',
  EXITED_AFTER_MARKED_DONE: 'The process exited after it had been marked done.',
};

/** Statuses after which nothing more happens to an execution. */
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'TERMINATED_AFTER_TIME_OUT',
  'STOPPED',
  'ABANDONED',
  'ABORTED',
  'EXITED_AFTER_MARKED_DONE',
]);

/** Statuses that hold a slot under a Task's `max_concurrency`. */
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ['MANUALLY_STARTED', 'RUNNING', 'STOPPING'];

/** Statuses the monitor observes through the executor. */
export const OBSERVED_STATUSES: readonly ExecutionStatus[] = ['MANUALLY_STARTED', 'RUNNING', 'STOPPING', 'MARKED_DONE'];

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

const FINISHED: ExecutionStatus[] = [
  'SUCCEEDED',
  'FAILED',
  'TERMINATED_AFTER_TIME_OUT',
  'STOPPED',
  'ABANDONED',
  'ABORTED',
];

/**
 * Allowed transitions. `RUNNING → QUEUED` is a retry waiting for its delay. `MARKED_DONE` is not
 * terminal for the process, so the monitor may still record `EXITED_AFTER_MARKED_DONE`.
 */
export const TRANSITIONS: Record<ExecutionStatus, readonly ExecutionStatus[]> = {
  QUEUED: ['MANUALLY_STARTED', 'STOPPED'],
  MANUALLY_STARTED: ['RUNNING', 'STOPPING', 'QUEUED', 'MARKED_DONE', ...FINISHED],
  RUNNING: ['STOPPING', 'QUEUED', 'MARKED_DONE', ...FINISHED],
  STOPPING: ['STOPPED', 'TERMINATED_AFTER_TIME_OUT', 'ABANDONED', 'SUCCEEDED', 'FAILED', 'ABORTED'],
  MARKED_DONE: ['EXITED_AFTER_MARKED_DONE', 'ABANDONED'],
  SUCCEEDED: [],
  FAILED: [],
  TERMINATED_AFTER_TIME_OUT: [],
  STOPPED: [],
  ABANDONED: [],
  ABORTED: [],
  EXITED_AFTER_MARKED_DONE: [],
};

export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return from === to ? !isTerminal(from) : TRANSITIONS[from].includes(to);
}

/** The statuses from which `to` may be reached: used as a compare-and-set guard in the store. */
export function statusesLeadingTo(to: ExecutionStatus): ExecutionStatus[] {
  return EXECUTION_STATUSES.filter((from) => TRANSITIONS[from].includes(to));
}

export const RUN_REASONS = ['EXPLICIT_START', 'SCHEDULED_START', 'EXPLICIT_RETRY', 'REPORTED', 'WORKFLOW', 'SERVICE'] as const;
export const RunReason = z
  .enum(RUN_REASONS)
  .describe(
    'Why it ran: EXPLICIT_START (API/CLI/dashboard), SCHEDULED_START (a schedule), EXPLICIT_RETRY (a person retried a finished execution), REPORTED (a wrapper reported a run Berth did not start), WORKFLOW (a Workflow Execution started it for one of its task instances), SERVICE (one of a Service\'s copies, started by ECS to keep its desired count).',
  );
export type RunReason = z.infer<typeof RunReason>;

export const STOP_REASONS = [
  'MANUAL',
  'MAX_EXECUTION_TIME_EXCEEDED',
  'MISSING_HEARTBEAT',
  'FAILED_TO_START',
  'EXECUTOR_LOST',
  'TASK_DELETED',
] as const;
export const StopReason = z
  .enum(STOP_REASONS)
  .describe(
    'Why Berth ended it: MANUAL (a stop request), MAX_EXECUTION_TIME_EXCEEDED (timeout), MISSING_HEARTBEAT, FAILED_TO_START, EXECUTOR_LOST (the process or task vanished without a recorded exit), TASK_DELETED.',
  );
export type StopReason = z.infer<typeof StopReason>;
