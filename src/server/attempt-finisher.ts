import { decideAttemptOutcome } from '../domain/attempt-outcome.js';
import { decideLivenessOutcome } from '../domain/liveness.js';
import type { AttemptEnd } from '../domain/attempt-outcome.js';
import { retryPolicyOf } from '../domain/task.js';
import type { ExecutionPatch, ExecutionRecord } from '../store/store.js';
import type { ServerContext } from './context.js';

/**
 * Records the end of an attempt: the execution's final status, or QUEUED again for a retry.
 * Shared by the launcher (a start that failed) and the monitor (an attempt that ended).
 */
export class AttemptFinisher {
  constructor(private readonly ctx: ServerContext) {}

  /**
   * Returns false when the execution changed meanwhile (a stop request, say); the caller then
   * looks again on its next pass. Never throws for that.
   */
  async finish(
    execution: ExecutionRecord,
    end: AttemptEnd,
    times: { startedAt?: number | null; finishedAt?: number } = {},
  ): Promise<boolean> {
    const task = await this.ctx.store.getTask(execution.task_uuid);
    const now = this.ctx.clock.now();
    const policy = task
      ? retryPolicyOf(task.spec)
      : { max_retries: 0, retry_delay_seconds: 0, retry_backoff_multiplier: 1, max_retry_delay_seconds: null, retry_on_timeout: false };
    // A stop Berth decided for liveness (missing heartbeat, start deadline) decides the outcome itself.
    const outcome =
      decideLivenessOutcome(execution, end, policy, now) ??
      decideAttemptOutcome(execution, end, policy, execution.task_overrides?.timeout_seconds ?? task?.spec.timeout_seconds ?? null, now);
    const finishedAt = times.finishedAt ?? now;
    const startedAt = times.startedAt ?? execution.started_at;
    const attempts = [
      ...execution.attempts.filter((a) => a.number !== execution.attempt),
      {
        number: execution.attempt,
        status: outcome.attemptStatus,
        started_at: startedAt ?? null,
        finished_at: finishedAt,
        exit_code: outcome.exitCode,
        failure: outcome.failure,
        executor_handle: execution.executor_handle,
      },
    ];
    const patch: ExecutionPatch = {
      attempts,
      failure: outcome.failure,
      exit_code: outcome.exitCode,
      failed_attempts: outcome.failedAttempts,
      timed_out_attempts: outcome.timedOutAttempts,
      stop_reason: outcome.stopReason,
      updated_at: now,
    };
    if (outcome.retry) {
      Object.assign(patch, {
        status: 'QUEUED',
        launch_after: outcome.retry.launchAfter,
        owner_instance: null,
        executor_handle: null,
        stop_sent_at: null,
        // The wrapper's report was about the attempt that ended; the next one reports afresh.
        wrapper_report: null,
      } satisfies ExecutionPatch);
    } else {
      Object.assign(patch, {
        status: outcome.attemptStatus,
        finished_at: finishedAt,
        started_at: execution.started_at ?? startedAt ?? null,
      } satisfies ExecutionPatch);
    }
    const updated = await this.ctx.store.updateExecutionIf(execution.uuid, patch, { statuses: [execution.status] });
    if (updated) {
      const fields = { execution: execution.uuid, attempt: execution.attempt, status: outcome.attemptStatus };
      if (outcome.retry) {
        this.ctx.log.info('attempt ended; retry queued', { ...fields, launch_after: new Date(outcome.retry.launchAfter).toISOString() });
        const delay = Math.max(0, outcome.retry.launchAfter - this.ctx.clock.now());
        setTimeout(() => this.ctx.wakeLauncher(), delay + 5).unref();
      } else {
        this.ctx.log.info('execution ended', { ...fields, reason: outcome.failure?.message });
        // A Workflow Execution may be waiting for it (the engine's own interval catches any other).
        if (execution.run_reason === 'WORKFLOW') this.ctx.wakeWorkflows?.();
      }
    }
    return updated;
  }
}
