import { z } from 'zod';

/**
 * Why an execution (or one attempt of it) did not succeed, as data. Every failure carries a
 * `message` a person can act on, and `fault` sorts it: `task` (the program itself), `config`
 * (the Task or Run Environment settings), `infrastructure` (the host or cloud), `berth` (us).
 */
export const FailureType = z.enum(['EXIT', 'SIGNAL', 'TIMEOUT', 'START_FAILED', 'LOST', 'MISSING_HEARTBEAT']);
export type FailureType = z.infer<typeof FailureType>;

export const Fault = z.enum(['task', 'config', 'infrastructure', 'berth']);
export type Fault = z.infer<typeof Fault>;

export const Failure = z.object({
  type: FailureType,
  /** Machine-readable detail, e.g. `COMMAND_NOT_FOUND`, `SECRET_UNRESOLVED`, `OOM_KILLED`. */
  code: z.string().optional(),
  message: z.string(),
  fault: Fault,
  exit_code: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
});
export type Failure = z.infer<typeof Failure>;

const SIGNAL_HINTS: Record<string, string> = {
  SIGKILL: 'killed with SIGKILL (often the out-of-memory killer, or a stop that outlived its grace period)',
  SIGTERM: 'ended by SIGTERM',
  SIGSEGV: 'crashed with a segmentation fault (SIGSEGV)',
  SIGABRT: 'aborted (SIGABRT)',
  SIGINT: 'interrupted (SIGINT)',
};

/** The failure of a process that exited on its own with a non-zero code. */
export function exitFailure(exitCode: number): Failure {
  let message = `The command exited with code ${exitCode}.`;
  if (exitCode === 127) message += ' Exit code 127 usually means the shell could not find the command.';
  else if (exitCode === 126) message += ' Exit code 126 usually means the command is not executable.';
  else if (exitCode === 137) message += ' Exit code 137 means it was killed (SIGKILL), often for running out of memory.';
  return { type: 'EXIT', code: exitCode === 137 ? 'OOM_KILLED' : 'NON_ZERO_EXIT', message, fault: 'task', exit_code: exitCode };
}

/** The failure of a process ended by a signal that Berth did not send. */
export function signalFailure(signal: string): Failure {
  const hint = SIGNAL_HINTS[signal] ?? `ended by signal ${signal}`;
  return { type: 'SIGNAL', code: signal, message: `The command was ${hint}.`, fault: 'task', signal };
}

export function timeoutFailure(timeoutSeconds: number, signal: string | null): Failure {
  const how = signal === 'SIGKILL' ? ' It ignored SIGTERM and was killed after the grace period.' : '';
  return {
    type: 'TIMEOUT',
    code: 'MAX_EXECUTION_TIME_EXCEEDED',
    message: `The command ran longer than its timeout of ${timeoutSeconds} s and was stopped.${how}`,
    fault: 'task',
    signal,
  };
}

export function startFailure(code: string, message: string, fault: Fault = 'config'): Failure {
  return { type: 'START_FAILED', code, message, fault };
}

export function lostFailure(message: string): Failure {
  return { type: 'LOST', code: 'EXECUTOR_LOST', message, fault: 'infrastructure' };
}

/**
 * Whether retrying could help. Configuration problems will fail the same way again, and a lost
 * attempt may still have done its work (or still be running somewhere), so it is never re-run.
 */
export function isRetryable(failure: Failure): boolean {
  switch (failure.type) {
    case 'EXIT':
    case 'SIGNAL':
      return true;
    case 'LOST':
    case 'MISSING_HEARTBEAT':
      return false;
    case 'TIMEOUT':
      return true;
    case 'START_FAILED':
      return failure.fault === 'infrastructure';
  }
}
