import { coerceError } from '../domain/errors.js';
import { OBSERVED_STATUSES } from '../domain/execution-status.js';
import type { Executor, Observation } from '../executors/executor.js';
import type { AttemptEnd } from '../domain/attempt-outcome.js';
import { isTerminal } from '../domain/execution-status.js';
import type { ExecutionRecord, ObservedExecution, TaskRecord } from '../store/store.js';
import type { AttemptFinisher } from './attempt-finisher.js';
import type { ServerContext } from './context.js';
import type { Launcher } from './launcher.js';
import { Loop, LoopRunner } from './loop.js';

export interface MonitorOptions {
  intervalMs: number;
}

/** Executions fetched per page of a pass. */
const PAGE_SIZE = 500;
/** How often (ms) a pass also looks for claimed executions whose start was cut short. */
const RECOVERY_EVERY_MS = 2_000;

function noExecutorMessage(kind: string | null): string {
  return `This server has no "${kind}" executor (turned off?), so it cannot watch the execution.`;
}

/** Passes start at most this often however many processes exit at once (ms). */
const MIN_PASS_GAP_MS = 50;
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
export class Monitor extends LoopRunner {
  protected readonly loop: Loop;
  private lastRecoveryAt = Number.NEGATIVE_INFINITY;
  private recoveryRequested = true;
  private lastFullPassAt = Number.NEGATIVE_INFINITY;
  private fullRequested = true;
  private readonly changed = new Set<string>();
  private readonly intervalMs: number;

  constructor(
    private readonly ctx: ServerContext,
    private readonly finisher: AttemptFinisher,
    private readonly launcher: Launcher,
    options: MonitorOptions,
  ) {
    super();
    this.intervalMs = options.intervalMs;
    this.loop = new Loop('monitor', options.intervalMs, () => this.pass(), ctx.log, Math.min(MIN_PASS_GAP_MS, options.intervalMs));
  }

  /** Look at every execution soon (a stop request, an adoption, …). */
  override wake(): void {
    this.fullRequested = true;
    this.loop.wake();
  }

  private async pass(): Promise<boolean> {
    const now = this.ctx.clock.now();
    // Claimed executions without a handle are rare (a start cut short); look for them now and
    // then, not on every pass.
    if (now - this.lastRecoveryAt >= RECOVERY_EVERY_MS || this.recoveryRequested) {
      this.lastRecoveryAt = now;
      this.recoveryRequested = false;
      await this.recoverUnlaunched();
    }
    // Executors name the executions that changed (a process exited): between full passes only
    // those are looked at, so a burst of exits costs one query per pass, not a scan of all.
    const full = this.fullRequested || now - this.lastFullPassAt >= this.intervalMs;
    if (!full) {
      const uuids = [...this.changed];
      this.changed.clear();
      if (uuids.length > 0) {
        await this.handlePage(await this.ctx.store.listObservedExecutionsByUuid(this.ctx.instanceId, OBSERVED_STATUSES, uuids));
      }
      return false;
    }
    this.fullRequested = false;
    this.lastFullPassAt = now;
    this.changed.clear();
    let after: string | undefined;
    for (;;) {
      const page = await this.ctx.store.listObservedExecutions(this.ctx.instanceId, OBSERVED_STATUSES, PAGE_SIZE, after);
      if (page.length === 0) break;
      after = page[page.length - 1]!.uuid;
      await this.handlePage(page);
      if (page.length < PAGE_SIZE) break;
    }
    return false;
  }

  /** An executor says an execution may have changed: look at it soon (just it). */
  noteActivity(hint?: { executionUuid: string }): void {
    if (hint) this.changed.add(hint.executionUuid);
    else this.fullRequested = true;
    this.loop.wake();
  }

  /** Ask for the search for interrupted starts on the next pass (after adopting executions). */
  requestRecovery(): void {
    this.recoveryRequested = true;
    this.wake();
  }

  private async recoverUnlaunched(): Promise<void> {
    for (const execution of await this.ctx.store.listUnlaunchedExecutions(this.ctx.instanceId, PAGE_SIZE)) {
      if (this.launcher.inFlight.has(execution.uuid)) continue;
      try {
        const executor = this.ctx.executors.get(execution.executor_kind ?? '');
        if (!executor) {
          await this.finisher.finish(execution, { kind: 'lost', message: noExecutorMessage(execution.executor_kind) });
          continue;
        }
        await this.recover(executor, execution);
      } catch (thrown) {
        this.ctx.log.error('monitor could not recover an execution', { execution: execution.uuid, error: coerceError(thrown) });
      }
    }
  }

  private async handlePage(page: ObservedExecution[]): Promise<void> {
    const tasks = await this.ctx.store.getTasks([...new Set(page.map((e) => e.task_uuid))]);
    const byKind = new Map<string, ObservedExecution[]>();
    for (const execution of page) {
      const executor = this.ctx.executors.get(execution.executor_kind ?? '');
      try {
        if (!executor) {
          await this.finishFull(execution.uuid, { kind: 'lost', message: noExecutorMessage(execution.executor_kind) });
          continue;
        }
        const host = execution.executor_handle.host;
        if (execution.executor_kind === 'local' && typeof host === 'string' && host !== this.ctx.hostname) {
          await this.finishFull(execution.uuid, {
            kind: 'lost',
            message: `It ran as a local process on host ${host}, whose Berth server stopped; local processes can only be watched from their own host.`,
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
        const observations = await executor.observe(batch.map((e) => e.executor_handle));
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

  /** Ends an attempt; reads the whole execution first (the finisher needs its history). */
  private async finishFull(uuid: string, end: AttemptEnd, times: { startedAt?: number | null; finishedAt?: number } = {}) {
    const execution = await this.ctx.store.getExecution(uuid);
    if (execution && !isTerminal(execution.status)) await this.finisher.finish(execution, end, times);
  }

  private async apply(executor: Executor, execution: ObservedExecution, observation: Observation, task: TaskRecord | undefined) {
    const now = this.ctx.clock.now();
    switch (observation.state) {
      case 'pending':
        await this.sendStopIfRequested(executor, execution, task, now);
        return;
      case 'running': {
        let status = execution.status;
        const startedAt = execution.started_at ?? observation.startedAt;
        if (status === 'MANUALLY_STARTED') {
          const moved = await this.ctx.store.updateExecutionIf(
            execution.uuid,
            { status: 'RUNNING', started_at: observation.startedAt, updated_at: now },
            { statuses: ['MANUALLY_STARTED'] },
          );
          if (!moved) return;
          status = 'RUNNING';
        }
        const timeout = execution.task_overrides?.timeout_seconds ?? task?.spec.timeout_seconds ?? null;
        if (timeout !== null && status === 'RUNNING' && now > startedAt + timeout * 1000 + TIMEOUT_SLACK_MS) {
          const stopping = await this.ctx.store.updateExecutionIf(
            execution.uuid,
            { status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED', stop_requested_at: now, updated_at: now },
            { statuses: ['RUNNING'] },
          );
          if (stopping) {
            this.ctx.log.info('execution timed out; stopping it', { execution: execution.uuid, timeout_seconds: timeout });
            await this.sendStopIfRequested(
              executor,
              { ...execution, status: 'STOPPING', stop_reason: 'MAX_EXECUTION_TIME_EXCEEDED', stop_sent_at: null },
              task,
              now,
            );
            return;
          }
        }
        await this.sendStopIfRequested(executor, { ...execution, status }, task, now);
        return;
      }
      case 'exited':
        await this.finishFull(
          execution.uuid,
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
        await this.finishFull(execution.uuid, { kind: 'lost', message: observation.message });
        return;
    }
  }

  private async sendStopIfRequested(executor: Executor, execution: ObservedExecution, task: TaskRecord | undefined, now: number) {
    if (execution.status !== 'STOPPING' || !execution.executor_handle) return;
    const grace = task?.spec.termination_grace_period_seconds ?? 30;
    const due =
      execution.stop_sent_at === null || now - execution.stop_sent_at > grace * 1000 + STOP_RESEND_SLACK_MS;
    if (!due) return;
    await executor.stop(execution.executor_handle, {
      gracePeriodSeconds: grace,
      reason: execution.stop_reason ?? 'MANUAL',
    });
    await this.ctx.store.updateExecutionIf(execution.uuid, { stop_sent_at: now, updated_at: now }, { statuses: ['STOPPING'] });
    this.ctx.log.debug('stop sent', { execution: execution.uuid, reason: execution.stop_reason });
  }

  /**
   * An execution claimed but with no handle and no start in progress here: its start was cut
   * short (a crash, or a start that threw). Ask the executor what the launch token started;
   * record that, or launch it now if it certainly started nothing.
   */
  private async recover(executor: Executor, execution: ExecutionRecord) {
    const token = execution.launch_token ?? `${execution.uuid}-${execution.attempt}`;
    const env = await this.ctx.store.getRunEnvironment(execution.run_environment_uuid);
    if (!env) {
      await this.finisher.finish(execution, { kind: 'lost', message: 'Its Run Environment was deleted, so Berth cannot look for what it started.' });
      return;
    }
    const handle = await executor.recover({
      launchToken: token,
      executionUuid: execution.uuid,
      attempt: execution.attempt,
      runEnvironment: { uuid: env.uuid, name: env.name, kind: env.kind, settings: env.spec as Record<string, unknown> },
    });
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
    if (execution.status === 'STOPPING' && (execution.stop_reason === 'FAILED_TO_START' || execution.stop_reason === 'MISSING_HEARTBEAT')) {
      // Stopped by the liveness pass before anything ran: its reason decides (FAILED, ABANDONED).
      await this.finisher.finish(execution, { kind: 'lost', message: 'Nothing was started for it.' });
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
