/**
 * Errors the CLI reports to a person. `main` prints `error: <message>` (and the issues, one per
 * line) on stderr and exits with `exitCode`; a stack trace only with BERTH_DEBUG=1.
 */

/** One bad field, as the API's `details.issues` gives it. */
export interface CliIssue {
  path: string;
  message: string;
}

export interface CliErrorOptions {
  /** The API's error code (e.g. `TASK_NOT_FOUND`), when the error came from the server. */
  code?: string | undefined;
  /** HTTP status, when the error came from the server. */
  status?: number | undefined;
  issues?: CliIssue[] | undefined;
  details?: Record<string, unknown> | undefined;
  exitCode?: number | undefined;
  cause?: unknown;
}

/** A failure: an API error, an unreachable server, a bad file. Exit code 1 unless told. */
export class CliError extends Error {
  readonly code: string | undefined;
  readonly status: number | undefined;
  readonly issues: CliIssue[];
  readonly details: Record<string, unknown> | undefined;
  readonly exitCode: number;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = options.code;
    this.status = options.status;
    this.issues = options.issues ?? [];
    this.details = options.details;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad flags or arguments: exit code 2, like commander's own errors. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

/**
 * Not an error: the command finished and wants this exit code (e.g. `berth run --wait` exits with
 * the task's code). The message, if any, was printed already.
 */
export class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitRequest';
  }
}

/** Exit codes of the CLI itself. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** Ctrl-C while waiting (the task keeps running). */
  INTERRUPTED: 130,
} as const;
