/**
 * berth-wrap's exit codes, and how the end of a run becomes one. `docs/berth-wrap.md` has the same
 * table (a test checks that it lists exactly these), so a person reading a container's exit code
 * can tell whether the command failed or the wrapper gave up before or around it.
 *
 * The low codes follow the BSD sysexits.h convention that proc_wrapper uses too (75, 77, 78);
 * 124, 126, 127 and 128+n follow the shell and timeout(1).
 */
import os from 'node:os';

export const EXIT = {
  /** The command succeeded (its own 0). */
  SUCCESS: 0,
  /** A bug or an unexpected error inside berth-wrap itself. */
  INTERNAL_ERROR: 70,
  /** Berth kept refusing the start (Task at its concurrency limit), or could not be reached with --prevent-offline-execution. */
  TEMPORARY_FAILURE: 75,
  /** Berth answered 401/403 to the start report: the API key is wrong, revoked, or not allowed for this Task. */
  FORBIDDEN: 77,
  /** Configuration error: a bad option, an unresolvable secret, or a start report Berth rejected as invalid. */
  CONFIG_ERROR: 78,
  /** The last attempt ran longer than --timeout and was terminated. */
  TIMED_OUT: 124,
  /** The command exists but cannot be executed (permissions, not a program). */
  CANNOT_EXECUTE: 126,
  /** The command was not found. */
  NOT_FOUND: 127,
  /** Berth asked for a stop (409 to a heartbeat, or to the manual start): the command was terminated. Same as `berth run --wait`. */
  STOPPED: 143,
} as const;

/** One row of the documented table: the code (or a range) and what it means. */
export interface ExitCodeRow {
  code: string;
  meaning: string;
}

/** The table in `docs/berth-wrap.md`, in order. */
export const EXIT_CODE_TABLE: readonly ExitCodeRow[] = [
  { code: '0', meaning: 'The command succeeded (on the last attempt, if it was retried).' },
  { code: '1–255 (other)', meaning: "The command's own exit code on its last attempt, passed through unchanged." },
  { code: String(EXIT.INTERNAL_ERROR), meaning: 'An unexpected error inside berth-wrap (a bug): the message on stderr says where.' },
  {
    code: String(EXIT.TEMPORARY_FAILURE),
    meaning:
      'The command did not run: Berth answered 409 (the Task is at its concurrency limit) until --api-conflict-timeout, or, with --prevent-offline-execution, Berth could not be reached within --api-creation-timeout.',
  },
  { code: String(EXIT.FORBIDDEN), meaning: 'The command did not run: Berth answered 401/403 to the start report (wrong, revoked or out-of-scope API key).' },
  {
    code: String(EXIT.CONFIG_ERROR),
    meaning:
      'Configuration error: an invalid option or environment variable, a secret that could not be resolved, or a start report Berth rejected (for example an unknown Task without auto-create).',
  },
  { code: String(EXIT.TIMED_OUT), meaning: 'The last attempt ran longer than --timeout and was terminated (SIGTERM, then SIGKILL after the grace period).' },
  { code: String(EXIT.CANNOT_EXECUTE), meaning: 'The command exists but could not be executed (permission denied, not a program).' },
  { code: String(EXIT.NOT_FOUND), meaning: 'The command was not found (check PATH, or give an absolute path).' },
  {
    code: String(EXIT.STOPPED),
    meaning: 'Berth asked for a stop (berth stop, or PATCH status STOPPING): the command was terminated, and the execution is STOPPED.',
  },
  {
    code: '128+n',
    meaning:
      'The command was killed by signal n (137 = SIGKILL, often out of memory), or berth-wrap itself received signal n (SIGTERM → 143, SIGINT → 130), passed it on to the command and reported ABORTED.',
  },
];

/** How a process ended, as the OS reports it. */
export type ProcessEnd =
  | { type: 'exited'; exitCode: number }
  | { type: 'signaled'; signal: NodeJS.Signals }
  | { type: 'spawn_failed'; errno: string; message: string };

/** Why berth-wrap ended the process itself, if it did. */
export type TerminationReason =
  | { type: 'timeout' }
  | { type: 'stop' }
  | { type: 'abort'; signal: NodeJS.Signals };

/** The end of a whole run (the last attempt), as data. */
export interface RunOutcome {
  end: ProcessEnd;
  terminatedFor: TerminationReason | null;
}

/** The final statuses berth-wrap reports (a stop is not reported: Berth already knows). */
export type FinishStatus = 'SUCCEEDED' | 'FAILED' | 'TERMINATED_AFTER_TIME_OUT' | 'ABORTED';

/** The number of a signal on this platform (15 for SIGTERM on Linux). */
export function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}

/** The shell's convention for a process's end: its exit code, or 128 + the signal's number. */
export function conventionalExitCode(end: ProcessEnd): number | null {
  switch (end.type) {
    case 'exited':
      return end.exitCode;
    case 'signaled':
      return 128 + signalNumber(end.signal);
    case 'spawn_failed':
      return null;
  }
}

/** berth-wrap's own exit code for the end of a run. See `EXIT_CODE_TABLE`. */
export function exitCodeFor(outcome: RunOutcome): number {
  const reason = outcome.terminatedFor;
  if (reason) {
    switch (reason.type) {
      case 'timeout':
        return EXIT.TIMED_OUT;
      case 'stop':
        return EXIT.STOPPED;
      case 'abort':
        return 128 + signalNumber(reason.signal);
    }
  }
  const end = outcome.end;
  switch (end.type) {
    case 'exited':
      return end.exitCode;
    case 'signaled':
      return 128 + signalNumber(end.signal);
    case 'spawn_failed':
      return end.errno === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.CANNOT_EXECUTE;
  }
}

/** The status of the finish report, or null when none is sent (a stop Berth asked for). */
export function finishStatusFor(outcome: RunOutcome): FinishStatus | null {
  switch (outcome.terminatedFor?.type) {
    case 'timeout':
      return 'TERMINATED_AFTER_TIME_OUT';
    case 'stop':
      return null;
    case 'abort':
      return 'ABORTED';
    case undefined:
      return outcome.end.type === 'exited' && outcome.end.exitCode === 0 ? 'SUCCEEDED' : 'FAILED';
  }
}

/** Whether an attempt that ended this way is worth retrying (given retries left). */
export function isRetryable(outcome: RunOutcome, retryOnTimeout: boolean): boolean {
  if (outcome.terminatedFor) return outcome.terminatedFor.type === 'timeout' && retryOnTimeout;
  if (outcome.end.type === 'spawn_failed') return false;
  return !(outcome.end.type === 'exited' && outcome.end.exitCode === 0);
}
