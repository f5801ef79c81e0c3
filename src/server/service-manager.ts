/**
 * Services on the server side: deploy, roll back, scale and show Tasks with `service:` settings
 * through their executor's ServiceBackend, and the monitor pass that watches them (running versus
 * desired count, SERVICE_BELOW_DESIRED_COUNT and its resolution, the Service's ECS tasks recorded
 * as executions with run reason SERVICE).
 */
import { randomUUID } from 'node:crypto';
import type { BerthConfig } from '../domain/berth-config.js';
import { BerthError, coerceError } from '../domain/errors.js';
import { decideBelowMinimum, minimumHealthyCount, rolloutVerdict } from '../domain/service.js';
import type { RolloutVerdict, ServiceObservation } from '../domain/service.js';
import { isTerminal } from '../domain/execution-status.js';
import type { ServiceBackend, ServiceDeployResult, ServiceRef, ServiceStatus, ServiceStep, ServiceTemplate } from '../executors/service-backend.js';
import { newServiceState } from '../store/service-store.js';
import type { ServiceStateRecord } from '../store/service-store.js';
import type { RunEnvironmentRecord, Store, TaskRecord } from '../store/store.js';
import type { ServerContext } from './context.js';
import { raiseEvent } from './event-recorder.js';
import { Loop, LoopRunner } from './loop.js';

/** A Service as `berth services ls` and `show` see it. */
export interface ServiceView {
  task: TaskRecord;
  env: RunEnvironmentRecord;
  state: ServiceStateRecord | null;
  /** Live from the backend (show), or the last observation (ls). */
  status: ServiceStatus | null;
  /** The rollout of the last deployed revision, when there is a status. */
  rollout: RolloutVerdict | null;
}

export interface DeployOutcome {
  dry_run: boolean;
  steps: ServiceStep[];
  task_definition_arn: string | null;
  previous_task_definition_arn: string | null;
}

/** What `berth apply` did about one Service of its document. */
export interface ServiceApplyResult {
  task: string;
  /** deploy: deployed now; plan: what a deploy would do (dry run); skip: unchanged and deployed already. */
  action: 'deploy' | 'plan' | 'skip';
  steps: ServiceStep[];
  task_definition_arn: string | null;
  error: { code: string; message: string } | null;
}

/** Services fetched per page of a watch pass. */
const PAGE = 100;

/** The copies of a Service are listed at least this often (ms), and whenever its counts change. */
const LIST_EVERY_MS = 30_000;

export class ServiceManager {
  /** Per Service: the counts its copies were last listed at, and when. */
  private readonly listed = new Map<string, { fingerprint: string; at: number }>();

  constructor(private readonly ctx: ServerContext) {}

  private async resolve(ref: string, store: Store = this.ctx.store): Promise<{ task: TaskRecord; env: RunEnvironmentRecord; backend: ServiceBackend; ref: ServiceRef }> {
    const task = await store.getTask(ref);
    if (!task) throw new BerthError('TASK_NOT_FOUND', `No Task named or with uuid "${ref}". List Services with \`berth services ls\`.`);
    if (!task.spec.service) {
      throw new BerthError('NOT_A_SERVICE', `Task "${task.name}" has no service: settings, so it is not a Service. Add service: to it in berth.yaml (docs/services.md), or start it with \`berth run ${task.name}\`.`);
    }
    const env = await store.getRunEnvironment(task.run_environment_uuid);
    if (!env) throw new BerthError('RUN_ENVIRONMENT_NOT_FOUND', `Task "${task.name}" has lost its Run Environment.`);
    const backend = this.ctx.executors.get(env.kind)?.services;
    if (!backend) {
      throw new BerthError(
        env.kind === 'aws-ecs' ? 'EXECUTOR_DISABLED' : 'UNSUPPORTED_FOR_KIND',
        env.kind === 'aws-ecs'
          ? `This server does not run aws-ecs Tasks, so it cannot manage Service "${task.name}".`
          : `Service "${task.name}" is in a ${env.kind} Run Environment; Services run on aws-ecs only.`,
      );
    }
    return {
      task,
      env,
      backend,
      ref: {
        runEnvironment: { uuid: env.uuid, name: env.name, kind: env.kind, settings: env.spec as Record<string, unknown> },
        task: { uuid: task.uuid, name: task.name, spec: task.spec as Record<string, unknown> },
      },
    };
  }

  /** Records what a deploy, rollback or scale did (under the Task's lock). */
  private async remember(task: TaskRecord, result: ServiceDeployResult, deployed: boolean): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.store.transaction(async (tx) => {
      await tx.lockTask(task.uuid);
      const state = (await tx.services.get(task.uuid)) ?? newServiceState(task.uuid, now);
      if (deployed && result.task_definition_arn && result.task_definition_arn !== state.deployed_task_definition) {
        state.previous_task_definition = result.previous_task_definition_arn ?? state.deployed_task_definition;
        state.deployed_task_definition = result.task_definition_arn;
      }
      state.deployed_at = now;
      state.updated_at = now;
      await tx.services.put(state);
    });
  }

  /** `berth services deploy` (and `berth apply` for each Service it changed). */
  async deploy(ref: string, dryRun: boolean): Promise<DeployOutcome> {
    const s = await this.resolve(ref);
    if (dryRun) return { dry_run: true, steps: await s.backend.plan(s.ref), task_definition_arn: null, previous_task_definition_arn: null };
    const result = await s.backend.deploy(s.ref);
    await this.remember(s.task, result, true);
    this.ctx.log.info('service deployed', { task: s.task.name, task_definition: result.task_definition_arn, steps: result.steps.filter((x) => x.action !== 'unchanged').length });
    return { dry_run: false, steps: result.steps, task_definition_arn: result.task_definition_arn, previous_task_definition_arn: result.previous_task_definition_arn };
  }

  async rollback(ref: string): Promise<DeployOutcome> {
    const s = await this.resolve(ref);
    const result = await s.backend.rollback(s.ref);
    await this.remember(s.task, result, true);
    this.ctx.log.info('service rolled back', { task: s.task.name, to: result.task_definition_arn });
    return { dry_run: false, steps: result.steps, task_definition_arn: result.task_definition_arn, previous_task_definition_arn: result.previous_task_definition_arn };
  }

  async scale(ref: string, desiredCount: number): Promise<DeployOutcome> {
    const s = await this.resolve(ref);
    const result = await s.backend.scale(s.ref, desiredCount);
    await this.remember(s.task, result, false);
    return { dry_run: false, steps: result.steps, task_definition_arn: result.task_definition_arn, previous_task_definition_arn: result.previous_task_definition_arn };
  }

  /**
   * After `berth apply` (or with its dry run): deploys (or plans) every Service of the document
   * whose Task was created or changed, or that was never deployed. One Service's failure is its
   * result's `error`; the others go on. Never throws for a Service.
   */
  async afterApply(document: BerthConfig, changes: readonly { kind: string; name: string; action: string }[], dryRun: boolean): Promise<ServiceApplyResult[]> {
    const out: ServiceApplyResult[] = [];
    for (const spec of document.tasks) {
      if (!spec.service) continue;
      const change = changes.find((c) => c.kind === 'task' && c.name === spec.name);
      try {
        if (dryRun) {
          const stored = await this.ctx.store.getTask(spec.name);
          const envSpec = document.run_environments.find((e) => e.name === spec.run_environment);
          const storedEnv = await this.ctx.store.getRunEnvironment(spec.run_environment);
          const settings = envSpec ?? storedEnv?.spec;
          if (!settings) continue; // reported by the catalog already
          const backend = this.ctx.executors.get(settings.kind)?.services;
          if (!backend) {
            out.push({ task: spec.name, action: 'skip', steps: [], task_definition_arn: null, error: { code: 'EXECUTOR_DISABLED', message: `This server does not run ${settings.kind} Services.` } });
            continue;
          }
          const steps = await backend.plan({
            runEnvironment: { uuid: storedEnv?.uuid ?? '', name: settings.name, kind: settings.kind, settings: settings as Record<string, unknown> },
            task: { uuid: stored?.uuid ?? '', name: spec.name, spec: spec as unknown as Record<string, unknown> },
          });
          out.push({ task: spec.name, action: 'plan', steps, task_definition_arn: null, error: null });
          continue;
        }
        const task = await this.ctx.store.getTask(spec.name);
        if (!task) continue;
        const state = await this.ctx.store.services.get(task.uuid);
        if (change?.action === 'unchanged' && state?.deployed_task_definition) {
          out.push({ task: spec.name, action: 'skip', steps: [], task_definition_arn: state.deployed_task_definition, error: null });
          continue;
        }
        const result = await this.deploy(task.uuid, false);
        out.push({ task: spec.name, action: 'deploy', steps: result.steps, task_definition_arn: result.task_definition_arn, error: null });
      } catch (thrown) {
        const error = coerceError(thrown);
        out.push({
          task: spec.name,
          action: dryRun ? 'plan' : 'deploy',
          steps: [],
          task_definition_arn: null,
          error: { code: thrown instanceof BerthError ? thrown.code : 'INTERNAL_ERROR', message: error.message },
        });
        if (!(thrown instanceof BerthError)) this.ctx.log.error('service deploy after apply failed', { task: spec.name, error });
      }
    }
    return out;
  }

  async template(ref: string): Promise<ServiceTemplate> {
    const s = await this.resolve(ref);
    return s.backend.template(s.ref);
  }

  /** `berth services show`: live from the backend, with what Berth remembers. */
  async show(ref: string): Promise<ServiceView> {
    const s = await this.resolve(ref);
    const [status] = await s.backend.describe([s.ref]);
    const state = await this.ctx.store.services.get(s.task.uuid);
    const target = state?.deployed_task_definition ?? status?.task_definition ?? null;
    return { task: s.task, env: s.env, state, status: status ?? null, rollout: status && target ? rolloutVerdict(status, target) : null };
  }

  /** `berth services ls`: every Service with its last observation (no AWS call). */
  async list(): Promise<ServiceView[]> {
    const out: ServiceView[] = [];
    for await (const task of this.serviceTasks()) {
      const env = await this.ctx.store.getRunEnvironment(task.run_environment_uuid);
      if (!env) continue;
      const state = await this.ctx.store.services.get(task.uuid);
      const status = (state?.observation ?? null) as ServiceStatus | null;
      const target = state?.deployed_task_definition ?? status?.task_definition ?? null;
      out.push({ task, env, state, status, rollout: status && target ? rolloutVerdict(status, target) : null });
    }
    return out;
  }

  private async *serviceTasks(): AsyncGenerator<TaskRecord> {
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.ctx.store.listTasks({ limit: PAGE, offset });
      for (const task of page.items) if (task.spec.service) yield task;
      if (page.items.length < PAGE) return;
    }
  }

  /**
   * One monitor pass over every Service: one DescribeServices per 10 Services of a cluster, then
   * per Service the below-minimum rule and its ECS tasks as executions. A Service that fails is
   * logged and the others go on.
   */
  async watchPass(): Promise<void> {
    const byBackend = new Map<ServiceBackend, { task: TaskRecord; ref: ServiceRef }[]>();
    for await (const task of this.serviceTasks()) {
      if (!task.spec.enabled) continue;
      try {
        const s = await this.resolve(task.uuid);
        byBackend.set(s.backend, [...(byBackend.get(s.backend) ?? []), { task: s.task, ref: s.ref }]);
      } catch (thrown) {
        // Another kind, or the executor is off here: nothing to watch on this server.
        if (!(thrown instanceof BerthError)) throw thrown;
      }
    }
    for (const [backend, services] of byBackend) {
      let statuses: ServiceStatus[];
      try {
        statuses = await backend.describe(services.map((s) => s.ref), { loadBalancers: false });
      } catch (thrown) {
        this.ctx.log.error('could not observe services', { services: services.length, error: coerceError(thrown) });
        continue;
      }
      for (const [i, { task, ref }] of services.entries()) {
        try {
          await this.observe(backend, task, ref, statuses[i]!);
        } catch (thrown) {
          this.ctx.log.error('could not watch a service', { task: task.name, error: coerceError(thrown) });
        }
      }
    }
  }

  private async observe(backend: ServiceBackend, task: TaskRecord, ref: ServiceRef, status: ServiceStatus): Promise<void> {
    const known = status.status !== 'MISSING' && status.status !== 'INACTIVE';
    const now = this.ctx.clock.now();
    // Its copies, listed (before the transaction: AWS calls never hold a database lock) when the
    // counts or deployments changed since the last listing, and at least every LIST_EVERY_MS.
    const fingerprint = JSON.stringify([status.running_count, status.pending_count, status.deployments.map((d) => [d.id, d.running_count])]);
    const last = this.listed.get(task.uuid);
    const list = known && (!last || last.fingerprint !== fingerprint || now - last.at >= LIST_EVERY_MS);
    const copies = list ? await backend.listTasks(ref) : null;
    if (list) this.listed.set(task.uuid, { fingerprint, at: now });
    const created = await this.ctx.store.transaction(async (tx) => {
      await tx.lockTask(task.uuid);
      const state = (await tx.services.get(task.uuid)) ?? newServiceState(task.uuid, now);
      // Keep the load balancer last read by `show` (the pass does not read stacks).
      const before = state.observation as { load_balancer?: unknown } | null;
      state.observation = { ...status, load_balancer: status.load_balancer ?? before?.load_balancer ?? null } as unknown as Record<string, unknown>;
      state.observed_at = now;
      const decision = decideBelowMinimum({
        taskUuid: task.uuid,
        settings: task.spec.service!,
        observation: status,
        deployed: state.deployed_task_definition !== null,
        state: { since: state.below_minimum_since, event: state.below_minimum_event },
        now,
      });
      state.below_minimum_since = decision.state.since;
      state.below_minimum_event = decision.state.event;
      if (decision.action === 'raise') {
        // Through the server's event recorder: the notifier opens the Task's 'service' incident.
        await raiseEvent(tx, now, {
          type: 'SERVICE_BELOW_DESIRED_COUNT',
          severity: 'error',
          message: `Service "${task.name}" has run ${decision.running} of its minimum ${decision.minimum} cop${decision.minimum === 1 ? 'y' : 'ies'} (desired ${status.desired_count}) since ${new Date(decision.since).toISOString()}.${lastEvent(status)}`,
          task: { uuid: task.uuid, name: task.name },
          details: {
            running_count: status.running_count,
            pending_count: status.pending_count,
            desired_count: status.desired_count,
            minimum_healthy_count: decision.minimum,
            below_since: new Date(decision.since).toISOString(),
            service: status.name,
            service_status: status.status,
            recent_events: status.events.slice(0, 3).map((e) => e.message),
          },
          dedupe_key: decision.key,
          grouping_key: 'service',
        });
        this.ctx.log.warn('service below its minimum', { task: task.name, running: decision.running, minimum: decision.minimum });
      } else if (decision.action === 'resolve') {
        await raiseEvent(tx, now, {
          type: 'RESOLVED',
          message: `Service "${task.name}" is back to ${decision.running} running (minimum ${decision.minimum}).`,
          task: { uuid: task.uuid, name: task.name },
          details: { running_count: status.running_count, desired_count: status.desired_count, minimum_healthy_count: decision.minimum, resolves: decision.key },
          dedupe_key: `RESOLVED:${decision.key}`,
          grouping_key: 'service',
        });
        this.ctx.log.info('service back at its minimum', { task: task.name, running: decision.running });
      }
      let made = 0;
      for (const copy of copies ?? []) {
        if (state.known_tasks[copy.task_arn]) continue;
        const execution = await tx.createExecution({
          uuid: randomUUID(),
          task_uuid: task.uuid,
          run_environment_uuid: ref.runEnvironment.uuid,
          status: 'RUNNING',
          run_reason: 'SERVICE',
          max_attempts: 1,
          environment_overrides: {},
          input_value: null,
          created_at: now,
          started_at: copy.started_at ?? now,
          owner_instance: this.ctx.instanceId,
          executor_kind: ref.runEnvironment.kind,
          attempt: 1,
        });
        await tx.updateExecution(execution.uuid, {
          executor_handle: copy.handle,
          attempts: [{ number: 1, status: 'RUNNING', started_at: copy.started_at ?? now, finished_at: null, exit_code: null, failure: null, executor_handle: copy.handle }],
          updated_at: now,
        });
        state.known_tasks[copy.task_arn] = execution.uuid;
        made++;
      }
      // Forget copies that are gone and whose executions have ended (the map stays small).
      const current = new Set((copies ?? []).map((c) => c.task_arn));
      for (const [arn, uuid] of copies ? Object.entries(state.known_tasks) : []) {
        if (current.has(arn)) continue;
        const execution = await tx.getExecution(uuid);
        if (!execution || isTerminal(execution.status)) delete state.known_tasks[arn];
      }
      state.updated_at = now;
      await tx.services.put(state);
      return made;
    });
    if (created > 0) this.ctx.wakeMonitor();
  }
}

function lastEvent(status: ServiceObservation): string {
  const e = status.events[0]?.message;
  return e ? ` Last service event: ${e}` : '';
}

/** A compact summary line of counts, for logs and the CLI. */
export function countsOf(status: Pick<ServiceObservation, 'running_count' | 'pending_count' | 'desired_count'>, minimum?: number): string {
  return `${status.running_count} running, ${status.pending_count} pending, ${status.desired_count} desired${minimum !== undefined ? `, minimum ${minimum}` : ''}`;
}

export { minimumHealthyCount };

export interface ServiceWatcherOptions {
  /** Milliseconds between passes (the monitor's interval). */
  intervalMs: number;
}

/** The loop that runs `ServiceManager.watchPass` on every monitor cycle. */
export class ServiceWatcher extends LoopRunner {
  protected readonly loop: Loop;

  constructor(manager: ServiceManager, ctx: ServerContext, options: ServiceWatcherOptions) {
    super();
    this.loop = new Loop(
      'services',
      options.intervalMs,
      async () => {
        await manager.watchPass();
        return false;
      },
      ctx.log,
    );
  }
}
