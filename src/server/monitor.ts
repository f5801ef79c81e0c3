import { coerceError } from '../domain/errors.js';
import { OBSERVED_STATUSES } from '../domain/execution-status.js';
import type { Executor, Observation } from '../executors/executor.js';
import type { ExecutionRecord, TaskRecord } from '../store/store.js';
import type { AttemptFinisher } from './attempt-finisher.js';
import type { ServerContext } from './context.js';
import type { Launcher } from './launcher.js';
import { Loop } from './loop.js';

export interface MonitorOptions {
  intervalMs: number;
}

/** Extra time the monitor allows past `timeout_seconds` before it stops a run itself (the local runner usually did already). */
const TIMEOUT_SLACK_MS = 1_000;
/** A stop request is re-sent if the process outlives its grace period by this much. */
const STOP_RESEND_SLACK_MS = 15_000;

/**
 * The monitor: watches every execution this server owns, in batches through its executor's
 * `observe`, and moves it along the state machine: MANUALLY_STARTED → RUNNING, timeouts, stop
 * requests, the end of an attempt (final status or retry), executions whose start was cut short
 * by a crash (recovered through the launch token), and executions that vanished (ABANDONED).
 */
export class Monitor {
  private readonly loop: Loop;

  constructor(
    private readonly ctx: ServerContext,
    private readonly finisher: AttemptFinisher,
    private readonly launcher: Launcher,
    options: MonitorOptions,
  ) {
    this.loop = new Loop('monitor', options.intervalMs, () => this.pass(), ctx.log);
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  get stats() {
    return this.loop.stats;
  }

  private async pass(): Promise<boolean> {
    let after: string | undefined;
    for (;;) {
      const page = await this.ctx.store.listOwnedExecutions(this.ctx.instanceId, OBSERVED_STATUSES, 500, after);
      if (page.length === 0) break;
      after = page[page.length - 1]!.uuid;
      await this.handlePage(page);
      if (page.length < 500) break;
    }
    return false;
  }

  private async handlePage(page: ExecutionRecord[]): Promise<void> {
    const tasks = await this.ctx.store.getTasks(page.map((e) => e.task_uuid));
    const byKind = new Map<string, ExecutionRecord[]>();
    for (const execution of page) {
      if (this.launcher.inFlight.has(execution.uuid)) continue;
      const executor = this.ctx.executors.get(execution.executor_kind ?? '');
      try {
        if (!executor) {
          await this.finisher.finish(execution, {
            kind: 'lost',
            message: `This server has no "${execution.executor_kind}" executor (turned off?), so it cannot watch the execution.`,
          });
          continue;
        }
        const handle = execution.executor_handle;
        if (!handle) {
          await this.recover(executor, execution);
          continue;
        }
        if (execution.executor_kind === 'local' && typeof handle.host === 'string' && handle.host !== this.ctx.hostname) {
          await this.finisher.finish(execution, {
            kind: 'lost',
            message: `It ran as a local process on host ${handle.host}, whose Berth server stopped; local processes can only be watched from their own host.`,
          });
          continue;
        }
        const group = byKind.get(executor.kind) ?? [];
        group.push(execution);
        byKind.set(executor.kind, group);
      } catch (thrown) {
        this.ctx.log.error('monitor could not handle an execution', { execution: execution.uuid, error: coerceError(thrown) });
      }
    }
    for (const [kind, executions] of byKind) {
      const executor = this.ctx.executors.get(kind)!;
      for (let i = 0; i < executions.length; i += executor.observeBatchSize) {
        const batch = executions.slice(i, i + executor.observeBatchSize);
        const observations = await executor.observe(batch.map((e) => e.executor_handle!));
        for (const [index, execution] of batch.entries()) {
          const observation = observations[index];
          if (!observation) continue;
          try {
            await this.apply(executor, execution, observation, tasks.get(execution.task_uuid));
          } catch (thrown) {
            this.ctx.log.error('monitor could not apply an observation', {
              execution: execution.uuid,
              error: coerceError(thrown),
            });
          }
        }
      }
    }
  }

  private async apply(executor: Executor, execution: ExecutionRecord, observation: Observation, task: TaskRecord | undefined) {
    const now = this.ctx.clock.now();
    switch (observation.state) {
      case 'pending':
        await this.sendStopIfRequested(executor, execution, task, now);
        return;
      case 'running': {
        let current = execution;
        if (execution.status === 'MANUALLY_STARTED') {
          const updated = await this.ctx.store.updateExecution(
            execution.uuid,
            { status: 'RUNNING', started_at: observation.startedAt, updated_at: now },
            { statuses: ['MANUALLY_STARTED'] },
          );
          if (!updated) return;
          current = updated;
        }
        const timeout = task?.spec.timeout_seconds ?? null;
        const startedAt = current.started_at ?? observation.startedAt;
        if (
          timeout !== null &&
          (current.status === 'RUNNING' || current.status === 'MANUALLY_STARTED') &&
          now > startedAt + timeout * 1000 + TIMEOUT_SLACK_MS
        ) {
          const stopping = await this.ctx.store.updateExecution(
            current.uuid,
            { status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED', stop_requested_at: now, updated_at: now },
            { statuses: [current.status] },
          );
          if (stopping) {
            this.ctx.log.info('execution timed out; stopping it', { execution: current.uuid, timeout_seconds: timeout });
            current = stopping;
          }
        }
        await this.sendStopIfRequested(executor, current, task, now);
        return;
      }
      case 'exited':
        await this.finisher.finish(
          execution,
          {
            kind: 'exited',
            exitCode: observation.exitCode,
            signal: observation.signal,
            timedOut: observation.timedOut,
            failure: observation.failure,
          },
          { startedAt: observation.startedAt, finishedAt: observation.finishedAt },
        );
        return;
      case 'lost':
        await this.finisher.finish(execution, { kind: 'lost', message: observation.message });
        return;
    }
  }

  private async sendStopIfRequested(executor: Executor, execution: ExecutionRecord, task: TaskRecord | undefined, now: number) {
    if (execution.status !== 'STOPPING' || !execution.executor_handle) return;
    const grace = task?.spec.termination_grace_period_seconds ?? 30;
    const due =
      execution.stop_sent_at === null || now - execution.stop_sent_at > grace * 1000 + STOP_RESEND_SLACK_MS;
    if (!due) return;
    await executor.stop(execution.executor_handle, {
      gracePeriodSeconds: grace,
      reason: execution.stop_reason ?? 'MANUAL',
    });
    await this.ctx.store.updateExecution(execution.uuid, { stop_sent_at: now, updated_at: now }, { statuses: ['STOPPING'] });
    this.ctx.log.debug('stop sent', { execution: execution.uuid, reason: execution.stop_reason });
  }

  /**
   * An execution claimed but with no handle and no start in progress here: its start was cut
   * short (a crash, or a start that threw). Ask the executor what the launch token started;
   * record that, or launch it now if it certainly started nothing.
   */
  private async recover(executor: Executor, execution: ExecutionRecord) {
    const token = execution.launch_token ?? `${execution.uuid}-${execution.attempt}`;
    const handle = await executor.recover(token, execution.uuid, execution.attempt);
    const now = this.ctx.clock.now();
    if (handle) {
      await this.ctx.store.updateExecution(
        execution.uuid,
        { executor_handle: { ...handle, host: this.ctx.hostname }, updated_at: now },
        { owner_instance: this.ctx.instanceId },
      );
      this.ctx.log.info('re-attached an execution whose start was interrupted', { execution: execution.uuid });
      this.wake();
      return;
    }
    if (execution.status === 'STOPPING') {
      await this.ctx.store.updateExecution(
        execution.uuid,
        { status: 'STOPPED', finished_at: now, updated_at: now },
        { statuses: ['STOPPING'] },
      );
      return;
    }
    if (execution.status === 'MANUALLY_STARTED') {
      this.ctx.log.info('launching an execution whose start was interrupted before anything ran', {
        execution: execution.uuid,
      });
      await this.launcher.launch(execution);
    }
  }
}
