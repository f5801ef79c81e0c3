import { isTerminal } from '../domain/execution-status.js';
import type { ExecutionStatus } from '../domain/execution-status.js';
import type { LogPage, TaskExecution } from '../domain/task-execution.js';
import type { ApiClient } from './client.js';
import { seg } from './client.js';
import { CliError, EXIT } from './errors.js';
import { durationBetween, formatDuration, relativeTime } from './output.js';
import type { Output } from './output.js';
import { Progress } from './progress.js';
import { sleep } from './common.js';

/**
 * Waiting for executions and reading their logs, shared by `run --wait/--follow`, `logs` and
 * `stop --wait`. Everything polls the API: the execution, and the logs endpoint with
 * `next_cursor`.
 */

const LOG_PAGE_BYTES = 1_048_576;

/** Statuses after which there is nothing more to wait for. MARKED_DONE: Berth stopped waiting too. */
export function isOver(status: ExecutionStatus): boolean {
  return isTerminal(status) || status === 'MARKED_DONE';
}

/**
 * The exit code that stands for how an execution ended: SUCCEEDED 0, FAILED its exit code (1
 * without one), TERMINATED_AFTER_TIME_OUT 124 (like `timeout`), STOPPED 143 (128 + SIGTERM),
 * anything else 1.
 */
export function exitCodeFor(execution: Pick<TaskExecution, 'status' | 'exit_code' | 'failure'>): number {
  switch (execution.status) {
    case 'SUCCEEDED':
      return 0;
    case 'FAILED': {
      const code = execution.exit_code ?? execution.failure?.exit_code ?? null;
      return code !== null && code > 0 && code < 256 ? code : 1;
    }
    case 'TERMINATED_AFTER_TIME_OUT':
      return 124;
    case 'STOPPED':
      return 143;
    default:
      return 1;
  }
}

/** `hello SUCCEEDED in 0.4 s`, `fails FAILED: The command exited with code 3.` */
export function resultLine(execution: TaskExecution): string {
  const name = execution.task.name;
  const attempts = execution.attempt > 1 ? ` (after ${execution.attempt} attempts)` : '';
  if (execution.status === 'SUCCEEDED') {
    return `${name} SUCCEEDED in ${durationBetween(execution.started_at ?? execution.created_at, execution.finished_at)}${attempts}`;
  }
  const why = execution.failure?.message ?? (execution.stop_reason ? `stop reason ${execution.stop_reason}` : null);
  return `${name} ${execution.status}${why ? `: ${why}` : ''}${attempts}`;
}

/** Status line while waiting: `hello RUNNING · 3.2 s · attempt 2/3`. */
export function progressText(execution: TaskExecution, now = Date.now()): string {
  const parts = [`${execution.task.name} ${execution.status}`];
  if (execution.started_at) parts.push(durationBetween(execution.started_at, null, now));
  else parts.push(`waiting ${formatDuration(now - Date.parse(execution.created_at))}`);
  if (execution.max_attempts > 1 && execution.attempt > 0) parts.push(`attempt ${execution.attempt}/${execution.max_attempts}`);
  if (execution.status === 'QUEUED' && execution.launch_after) parts.push(`retry ${relativeTime(execution.launch_after, now)}`);
  return parts.join(' · ');
}

/** The line printed on stderr when output moves on to another attempt. */
export function attemptMarker(execution: TaskExecution, attempt: number): string {
  const previous = execution.attempts.find((a) => a.number === attempt - 1);
  const why = previous
    ? ` (attempt ${previous.number} ${previous.status}${previous.failure ? `: ${previous.failure.message}` : ''})`
    : '';
  return `--- attempt ${attempt} of ${execution.max_attempts}${why} ---`;
}

export class ExecutionWatcher {
  readonly progress: Progress;
  private interrupted: (() => void) | null = null;

  constructor(
    private readonly client: ApiClient,
    private readonly out: Output,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.progress = new Progress(process.stderr, env);
  }

  get(uuid: string): Promise<TaskExecution> {
    return this.client.get<TaskExecution>(`/api/v1/task_executions/${seg(uuid)}`);
  }

  /** One page of logs, or null while the attempt is still starting. */
  async logPage(uuid: string, attempt: number | undefined, cursor: string | undefined): Promise<LogPage | null> {
    try {
      return await this.client.get<LogPage>(`/api/v1/task_executions/${seg(uuid)}/logs`, {
        attempt,
        cursor: cursor || undefined,
        limit: LOG_PAGE_BYTES,
      });
    } catch (error) {
      if (error instanceof CliError && error.code === 'LOGS_UNAVAILABLE') return null;
      throw error;
    }
  }

  /** Prints log lines: stdout lines to stdout, stderr lines to stderr. */
  print(page: LogPage): void {
    if (page.entries.length === 0) return;
    this.progress.clear();
    for (const entry of page.entries) {
      (entry.stream === 'stderr' ? this.out.stderr : this.out.stdout).write(`${entry.text}\n`);
    }
  }

  /** Prints what an attempt has logged so far (all of it once the attempt is over). */
  async printAttempt(uuid: string, attempt: number | undefined, options: { untilComplete: boolean }): Promise<LogPage | null> {
    let cursor: string | undefined;
    let last: LogPage | null = null;
    for (let empty = 0; empty < 20; ) {
      const page = await this.logPage(uuid, attempt, cursor);
      if (!page) return last;
      last = page;
      this.print(page);
      cursor = page.next_cursor;
      if (page.complete) return page;
      if (page.entries.length === 0) {
        if (!options.untilComplete) return page;
        empty += 1;
        await sleep(100);
      }
    }
    return last;
  }

  /** Prints every attempt's output of a finished execution, with a marker line between attempts. */
  async printAll(execution: TaskExecution): Promise<void> {
    for (let attempt = 1; attempt <= execution.attempt; attempt++) {
      if (attempt > 1) this.out.note(this.out.paintErr('dim', attemptMarker(execution, attempt)));
      await this.printAttempt(execution.uuid, attempt, { untilComplete: true });
    }
  }

  /**
   * Waits until the execution is over, showing a status line (on a TTY). With `stream`, prints
   * its output as it comes, attempt after attempt, starting with `fromAttempt` (default: the
   * first; `'latest'`: the current one). Ctrl-C stops waiting, not the execution.
   */
  async waitUntilOver(
    uuid: string,
    options: {
      stream: boolean;
      fromAttempt?: number | 'latest';
      showProgress?: boolean;
      announce?: string;
      /** What Ctrl-C prints. (Default: the execution keeps running, and how to stop it) */
      interruptMessage?: string;
    },
  ): Promise<TaskExecution> {
    this.onInterrupt(options.interruptMessage ?? `Stopped waiting. Execution ${uuid} keeps running; stop it with: berth stop ${uuid}`);
    // Printed once Ctrl-C is handled, so whoever reads it may interrupt safely.
    if (options.announce) this.out.note(this.out.paintErr('dim', options.announce));
    try {
      return await this.loop(uuid, options);
    } finally {
      this.progress.stop();
      if (this.interrupted) process.off('SIGINT', this.interrupted);
      this.interrupted = null;
    }
  }

  private async loop(
    uuid: string,
    options: { stream: boolean; fromAttempt?: number | 'latest'; showProgress?: boolean },
  ): Promise<TaskExecution> {
    let attempt: number | null = typeof options.fromAttempt === 'number' ? options.fromAttempt : null;
    let cursor: string | undefined;
    let stale = 0;
    const began = Date.now();
    for (;;) {
      const execution = await this.get(uuid);
      if (options.showProgress !== false) this.progress.update(progressText(execution));
      const over = isOver(execution.status);
      if (!options.stream) {
        if (over) return execution;
      } else {
        if (attempt === null && execution.attempt > 0) attempt = options.fromAttempt === 'latest' ? execution.attempt : 1;
        if (attempt === null || execution.attempt < attempt) {
          if (over) return execution; // never started (stopped while queued, say)
        } else {
          const page = await this.logPage(uuid, attempt, cursor);
          if (page) {
            this.print(page);
            cursor = page.next_cursor;
            if (page.complete && attempt < execution.attempt) {
              attempt += 1;
              cursor = undefined;
              this.progress.clear();
              this.out.note(this.out.paintErr('dim', attemptMarker(execution, attempt)));
              continue;
            }
            if (over && (page.complete || page.entries.length === 0)) {
              // Terminal executions' logs complete; allow a few empty rounds for slow file systems.
              if (page.complete || execution.status === 'MARKED_DONE' || ++stale > 10) return execution;
            }
          } else if (over && ++stale > 10) {
            return execution;
          }
        }
      }
      await sleep(Date.now() - began < 60_000 ? 300 : 1000);
    }
  }

  private onInterrupt(message: string): void {
    this.interrupted = () => {
      this.progress.stop();
      this.out.note(message);
      process.exit(EXIT.INTERRUPTED);
    };
    process.once('SIGINT', this.interrupted);
  }
}
