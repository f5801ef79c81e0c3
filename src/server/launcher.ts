import { coerceError } from '../domain/errors.js';
import type { Executor, StartRequest } from '../executors/executor.js';
import type { ExecutionRecord, RunEnvironmentRecord, TaskRecord } from '../store/store.js';
import { withTaskOverrides } from '../domain/workflow.js';
import type { ServerContext } from './context.js';
import { Loop, LoopRunner } from './loop.js';
import type { AttemptFinisher } from './attempt-finisher.js';

/** Least time between two launcher passes (ms). */
const MIN_PASS_GAP_MS = 10;

export interface LauncherOptions {
  intervalMs: number;
  batchSize: number;
  concurrency: number;
}

/** Builds the executor's start request from what the store holds. */
export function buildStartRequest(
  execution: ExecutionRecord,
  task: TaskRecord,
  env: RunEnvironmentRecord,
): StartRequest {
  // A Workflow's task instance may run the Task with its own cpu, memory or timeout.
  const spec = withTaskOverrides(task.spec, execution.task_overrides);
  return {
    executionUuid: execution.uuid,
    attempt: execution.attempt,
    launchToken: execution.launch_token ?? `${execution.uuid}-${execution.attempt}`,
    task: {
      uuid: task.uuid,
      name: task.name,
      command: spec.command ?? [],
      workingDirectory: spec.working_directory ?? (env.spec.kind === 'local' ? env.spec.working_directory : undefined) ?? null,
      environment: { ...env.spec.environment, ...spec.environment, ...execution.environment_overrides },
      secrets: { ...env.spec.secrets, ...spec.secrets },
      timeoutSeconds: spec.timeout_seconds,
      terminationGracePeriodSeconds: spec.termination_grace_period_seconds,
      cpu: spec.cpu ?? null,
      memory: spec.memory ?? null,
      spec: spec as Record<string, unknown>,
    },
    runEnvironment: { uuid: env.uuid, name: env.name, kind: env.kind, settings: env.spec as Record<string, unknown> },
  };
}

/**
 * The launcher: claims due QUEUED executions (the store guarantees each is claimed by one server
 * only and that max_concurrency holds) and asks their executor to start them.
 *
 * Crash safety: the claim stores the launch token before `start` is called, and `start` is
 * idempotent per token. If this server dies in between, the monitor of whoever adopts the
 * execution asks the executor what the token started (`recover`) and starts it only if nothing.
 */
export class Launcher extends LoopRunner {
  protected readonly loop: Loop;
  /** Executions whose start is in progress in this process (the monitor leaves them alone). */
  readonly inFlight = new Set<string>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly finisher: AttemptFinisher,
    private readonly options: LauncherOptions,
  ) {
    super();
    // A burst of starts (each wakes it) is claimed in batches, at most one pass per MIN_PASS_GAP_MS.
    this.loop = new Loop('launcher', options.intervalMs, () => this.pass(), ctx.log, Math.min(MIN_PASS_GAP_MS, options.intervalMs));
  }

  private async pass(): Promise<boolean> {
    const claimed = await this.ctx.store.claimQueued({
      instanceId: this.ctx.instanceId,
      now: this.ctx.clock.now(),
      limit: this.options.batchSize,
      executorKinds: [...this.ctx.executors.keys()],
    });
    if (claimed.length === 0) return false;
    for (const execution of claimed) this.inFlight.add(execution.uuid);
    // One read of each Task and Run Environment per pass, however many executions they have.
    const tasks = await this.ctx.store.getTasks(claimed.map((e) => e.task_uuid));
    const envs = new Map<string, Promise<RunEnvironmentRecord | null>>();
    const envOf = (uuid: string) => {
      let env = envs.get(uuid);
      if (!env) envs.set(uuid, (env = this.ctx.store.getRunEnvironment(uuid)));
      return env;
    };
    const queue = [...claimed];
    const workers = Array.from({ length: Math.min(this.options.concurrency, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        await this.launch(next, { task: tasks.get(next.task_uuid) ?? null, env: await envOf(next.run_environment_uuid) });
      }
    });
    await Promise.all(workers);
    return claimed.length === this.options.batchSize;
  }

  /** Starts one claimed attempt. Never throws: a failure is recorded on the execution. */
  async launch(
    execution: ExecutionRecord,
    loaded?: { task: TaskRecord | null; env: RunEnvironmentRecord | null },
  ): Promise<void> {
    this.inFlight.add(execution.uuid);
    try {
      const executor = this.ctx.executors.get(execution.executor_kind ?? '');
      const task = loaded ? loaded.task : await this.ctx.store.getTask(execution.task_uuid);
      const env = loaded ? loaded.env : await this.ctx.store.getRunEnvironment(execution.run_environment_uuid);
      if (!executor || !task || !env) {
        // Claimed by kind, so a missing executor means the Task or environment changed kind.
        await this.finisher.finish(execution, {
          kind: 'start_failed',
          failure: {
            type: 'START_FAILED',
            code: 'NOT_LAUNCHABLE',
            message: !task
              ? 'The Task was deleted before it could start.'
              : !env
                ? 'The Run Environment was deleted before the Task could start.'
                : `This server has no "${execution.executor_kind}" executor.`,
            fault: 'config',
          },
        });
        return;
      }
      await this.startWith(executor, execution, task, env);
    } catch (thrown) {
      // Unknown whether anything started; the token makes a later start safe. Leave it
      // MANUALLY_STARTED without a handle: the monitor recovers it.
      this.ctx.log.error('start failed; the monitor will recover it', {
        execution: execution.uuid,
        error: coerceError(thrown),
      });
    } finally {
      this.inFlight.delete(execution.uuid);
    }
  }

  private async startWith(executor: Executor, execution: ExecutionRecord, task: TaskRecord, env: RunEnvironmentRecord) {
    const result = await executor.start(buildStartRequest(execution, task, env));
    if (!result.ok) {
      this.ctx.log.warn('execution could not start', { execution: execution.uuid, task: task.name, reason: result.failure.message });
      await this.finisher.finish(execution, { kind: 'start_failed', failure: result.failure });
      return;
    }
    const handle = { ...result.handle, host: this.ctx.hostname };
    const updated = await this.ctx.store.updateExecutionIf(
      execution.uuid,
      { executor_handle: handle, updated_at: this.ctx.clock.now() },
      // Guarded by owner only: whatever the status became meanwhile, the handle must be kept so
      // the process stays observable and stoppable.
      { owner_instance: this.ctx.instanceId },
    );
    if (!updated) {
      this.ctx.log.warn('execution changed while starting', { execution: execution.uuid });
    } else {
      this.ctx.log.debug('execution started', { execution: execution.uuid, task: task.name, attempt: execution.attempt });
    }
    // No wake of the monitor: the executor tells it when the process ends, and its regular pass
    // sees it running. (A stop requested meanwhile woke it already.)
  }
}
