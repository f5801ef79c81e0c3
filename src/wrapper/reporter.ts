/**
 * What berth-wrap tells Berth, in the protocol's terms (docs: cloudreactor-protocol.md):
 * the start (POST a new execution, or PATCH the one Berth started to RUNNING), heartbeats and
 * status updates (PATCH `?content=false`; 409 = stop), and the finish (PATCH with the final
 * status). Every method returns what happened as data and never throws for an HTTP problem.
 */
import { describeAnswer, sendWithRetries } from './berth-api.js';
import type { ApiAnswer, BerthApi, RetryResult } from './berth-api.js';
import type { WrapLog } from './wrap-log.js';

export type Registration =
  | { type: 'registered'; uuid: string }
  /** The manual start was answered 409: the execution no longer waits to run (a stop was requested). */
  | { type: 'stopped'; message: string }
  | { type: 'conflict_timeout'; message: string }
  | { type: 'forbidden'; message: string }
  | { type: 'rejected'; message: string }
  | { type: 'unreachable'; message: string }
  | { type: 'cancelled' };

export type HeartbeatResult = 'ok' | 'stop' | 'failed';

export interface ReporterOptions {
  api: BerthApi;
  log: WrapLog;
  /** Report on this execution (manual start) instead of creating one. */
  executionUuid: string | null;
  retryDelayMs: number;
  conflictTimeoutMs: number;
  now(): number;
  /** Resolves true after `ms`, false if `signal` is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/** Backoff never grows past this; Retry-After may ask for longer. */
export const MAX_RETRY_DELAY_MS = 60_000;

export class Reporter {
  /** Known once Berth has acknowledged the start (or from the start, for a manual start). */
  uuid: string | null;
  private heartbeatFailing = false;

  constructor(private readonly options: ReporterOptions) {
    // A manual start names its execution: the finish can be reported even if the start never was.
    this.uuid = options.executionUuid;
  }

  /**
   * Reports the start, retrying what the protocol retries until `deadline` (epoch ms), and
   * waiting out 409s (concurrency limit) until the conflict timeout.
   */
  async register(body: Record<string, unknown>, deadline: number, signal: AbortSignal): Promise<Registration> {
    const { api, executionUuid, now, sleep } = this.options;
    const conflictDeadline = now() + this.options.conflictTimeoutMs;
    let conflictDelay = this.options.retryDelayMs;
    for (;;) {
      const result = await this.withRetries(
        () =>
          executionUuid
            ? api.send('PATCH', `task_executions/${executionUuid}/`, body, signal)
            : api.send('POST', 'task_executions/', body, signal),
        deadline,
        signal,
      );
      if (result.type === 'cancelled' || signal.aborted) return { type: 'cancelled' };
      if (result.type === 'unreachable') return result;
      const answer = result.answer;
      if (answer.status >= 200 && answer.status < 300) {
        const uuid = executionUuid ?? uuidOf(answer.body);
        if (!uuid) return { type: 'unreachable', message: `Berth answered ${answer.status} without the new execution's uuid` };
        this.uuid = uuid;
        return { type: 'registered', uuid };
      }
      if (answer.status === 409 && executionUuid) {
        return { type: 'stopped', message: `Berth answered the start of execution ${executionUuid} with ${describeAnswer(answer)}` };
      }
      if (answer.status === 409) {
        if (now() + conflictDelay > conflictDeadline) {
          return { type: 'conflict_timeout', message: `Berth still answers ${describeAnswer(answer)} after ${this.options.conflictTimeoutMs / 1000} s` };
        }
        this.options.log.info(`Berth answered ${describeAnswer(answer)}; asking again in ${conflictDelay / 1000} s`);
        if (!(await sleep(conflictDelay, signal))) return { type: 'cancelled' };
        conflictDelay = Math.min(conflictDelay * 2, 10_000);
        continue;
      }
      if (answer.status === 401 || answer.status === 403) return { type: 'forbidden', message: describeAnswer(answer) };
      if (answer.status >= 400 && answer.status < 500 && answer.status !== 429) return { type: 'rejected', message: describeAnswer(answer) };
      return { type: 'unreachable', message: describeAnswer(answer) };
    }
  }

  /** One heartbeat or status update; 409 means Berth wants the command stopped. */
  async heartbeat(body: Record<string, unknown>): Promise<HeartbeatResult> {
    const uuid = this.uuid;
    if (!uuid) return 'failed';
    let answer: ApiAnswer;
    try {
      answer = await this.options.api.send('PATCH', `task_executions/${uuid}/?content=false`, body);
    } catch (error) {
      this.heartbeatProblem(error instanceof Error ? error.message : String(error));
      return 'failed';
    }
    if (answer.status === 409) return 'stop';
    if (answer.status >= 200 && answer.status < 300) {
      if (this.heartbeatFailing) this.options.log.info('heartbeats reach Berth again');
      this.heartbeatFailing = false;
      return 'ok';
    }
    this.heartbeatProblem(describeAnswer(answer));
    return 'failed';
  }

  /** The finish report, retried until `deadline`. True when Berth took it. */
  async finish(body: Record<string, unknown>, deadline: number, signal: AbortSignal): Promise<boolean> {
    const uuid = this.uuid;
    if (!uuid) return false;
    const result = await this.withRetries(() => this.options.api.send('PATCH', `task_executions/${uuid}/`, body), deadline, signal);
    if (result.type === 'answer' && result.answer.status >= 200 && result.answer.status < 300) return true;
    const why =
      result.type === 'answer' ? describeAnswer(result.answer) : result.type === 'unreachable' ? result.message : 'interrupted by a second signal';
    this.options.log.warn(`could not report the end of execution ${uuid} to Berth: ${why}`);
    return false;
  }

  private heartbeatProblem(message: string): void {
    // Say it once when it starts failing, not at every heartbeat while Berth is away.
    if (this.heartbeatFailing) this.options.log.debug(`heartbeat failed: ${message}`);
    else this.options.log.warn(`heartbeat failed (will keep trying): ${message}`);
    this.heartbeatFailing = true;
  }

  private withRetries(attempt: () => Promise<ApiAnswer>, deadline: number, signal: AbortSignal): Promise<RetryResult> {
    return sendWithRetries(attempt, {
      initialDelayMs: this.options.retryDelayMs,
      maxDelayMs: MAX_RETRY_DELAY_MS,
      deadline,
      now: this.options.now,
      sleep: (ms) => this.options.sleep(ms, signal),
    });
  }
}

function uuidOf(body: unknown): string | null {
  const uuid = body !== null && typeof body === 'object' ? (body as { uuid?: unknown }).uuid : undefined;
  return typeof uuid === 'string' && uuid !== '' ? uuid : null;
}
