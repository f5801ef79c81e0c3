import { CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import type { RunTaskCommandInput, Task } from '@aws-sdk/client-ecs';
import { z } from 'zod';
import { clusterName } from '../../domain/aws.js';
import { BerthError } from '../../domain/errors.js';
import { startFailure } from '../../domain/failure.js';
import type { Failure } from '../../domain/failure.js';
import { AwsEcsRunEnvironmentSpec } from '../../domain/run-environment.js';
import { TaskSpec } from '../../domain/task.js';
import type {
  Executor,
  ExecutorHandle,
  ExecutorLogPage,
  LogReadOptions,
  Observation,
  PruneRequest,
  PruneResult,
  RecoverKey,
  ScheduleRuleRequest,
  ScheduleRuleResult,
  StartRequest,
  StartResult,
  VerifyRequest,
  VerifyResult,
} from '../executor.js';
import { backoffMs, classifyAwsError, DEFAULT_RETRY, describeAwsError, sleep, withRetry } from './aws-calls.js';
import type { RetryOptions } from './aws-calls.js';
import { EcsClientFactory } from './ecs-clients.js';
import type { EcsClients } from './ecs-clients.js';
import { observeEcsTask } from './ecs-status.js';
import { verifyEcsEnvironment, VERIFY_RETRY } from './ecs-verify.js';
import { syncEventBridgeRule } from './eventbridge-schedules.js';
import { EcsServiceBackend } from './ecs-service.js';
import { buildTaskDefinition, familyOf, HASH_TAG, logGroupOf } from './task-definition.js';
import type { BuiltDefinition } from './task-definition.js';

/** The handle of one ECS attempt, as stored in the database. */
export const EcsHandle = z.object({
  executor: z.literal('aws-ecs'),
  run_environment_uuid: z.string(),
  region: z.string(),
  cluster: z.string(),
  task_arn: z.string(),
  task_definition_arn: z.string(),
  launch_token: z.string(),
  container: z.string(),
  image: z.string().optional(),
  log_group: z.string(),
  log_stream: z.string(),
  launched_at: z.number(),
});
export type EcsHandle = z.infer<typeof EcsHandle>;

/** Remembers registered task definition revisions by content hash (implemented over the store). */
export interface DefinitionCache {
  get(runEnvironmentUuid: string, family: string, hash: string): Promise<{ arn: string } | null>;
  put(record: { runEnvironmentUuid: string; family: string; hash: string; arn: string; revision: number }): Promise<void>;
  delete(arn: string): Promise<void>;
}

export interface EcsExecutorOptions {
  /** The settings of a Run Environment by uuid (handles name theirs). */
  runEnvironment(uuid: string): Promise<{ uuid: string; name: string; settings: Record<string, unknown> } | null>;
  definitions: DefinitionCache;
  /** (Default: a factory with the SDK's default credential chain) */
  clients?: EcsClientFactory;
  /** Retries of AWS calls. (Default: 6 attempts, 200 ms doubling to 10 s, jittered) */
  retry?: RetryOptions;
  /** How long (ms) a task ECS does not (yet) describe counts as starting rather than lost. (Default: 120000) */
  describeGraceMs?: number;
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
}

/** RunTask container overrides may hold at most this many characters in all. */
const OVERRIDES_LIMIT = 8192;
const DESCRIBE_BATCH = 100;

function taskIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/**
 * Runs Tasks as ECS Fargate tasks. Launches are idempotent (the launch token is RunTask's
 * clientToken and its startedBy, so a lost answer is resolved by looking, not by launching
 * again); observation is one DescribeTasks per 100 tasks per cluster; stops are StopTask; logs
 * are the task's CloudWatch stream.
 */
export class EcsExecutor implements Executor {
  readonly kind = 'aws-ecs';
  readonly observeBatchSize = 1000;

  private readonly clients: EcsClientFactory;
  private readonly retry: RetryOptions;
  private readonly now: () => number;
  private readonly wait: (ms: number) => Promise<void>;
  private readonly describeGraceMs: number;
  private readonly logGroupsReady = new Set<string>();
  /** One registration per family at a time in this process (ECS refuses concurrent ones). */
  private readonly registering = new Map<string, Promise<string>>();
  /** Services: Tasks with `service:` settings as ECS services (ecs-service.ts). */
  readonly services: EcsServiceBackend;

  constructor(private readonly options: EcsExecutorOptions) {
    this.clients = options.clients ?? new EcsClientFactory();
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.now = options.now ?? Date.now;
    this.wait = options.wait ?? sleep;
    this.describeGraceMs = options.describeGraceMs ?? 120_000;
    this.services = new EcsServiceBackend({
      clients: (env) => this.clients.for(env),
      settings: (settings) => this.settingsOf(settings),
      definitionArn: (clients, envUuid, definition) => this.definitionArn(clients, envUuid, definition),
      ensureLogGroup: (clients, env, group) => this.ensureLogGroup(clients, env, group),
      retry: this.retry,
      wait: this.wait,
      now: this.now,
    });
  }

  private settingsOf(settings: Record<string, unknown>): AwsEcsRunEnvironmentSpec {
    const parsed = AwsEcsRunEnvironmentSpec.safeParse(settings);
    if (!parsed.success) {
      throw new BerthError('VALIDATION_FAILED', `The Run Environment's aws-ecs settings are invalid: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  private async envFor(uuid: string): Promise<{ spec: AwsEcsRunEnvironmentSpec; clients: EcsClients } | null> {
    const env = await this.options.runEnvironment(uuid);
    if (!env) return null;
    const spec = this.settingsOf(env.settings);
    return { spec, clients: this.clients.for(spec) };
  }

  async start(request: StartRequest): Promise<StartResult> {
    const env = this.settingsOf(request.runEnvironment.settings);
    const clients = this.clients.for(env);
    const task = TaskSpec.parse({ ...request.task.spec, run_environment: request.runEnvironment.name });
    const definition = buildTaskDefinition(task, env);

    const overrides = this.overridesFor(request, definition, task, env);
    const size = JSON.stringify(overrides).length;
    if (size > OVERRIDES_LIMIT) {
      return {
        ok: false,
        failure: startFailure(
          'OVERRIDES_TOO_LARGE',
          `The per-run overrides are ${size} characters; ECS takes at most ${OVERRIDES_LIMIT}. Move fixed environment variables into the Task (they go into its task definition) and pass fewer with the run.`,
        ),
      };
    }

    try {
      await this.ensureLogGroup(clients, env, definition.logGroup);
    } catch (error) {
      return { ok: false, failure: this.callFailure('logs:CreateLogGroup', error) };
    }
    let definitionArn: string;
    try {
      definitionArn = await this.definitionArn(clients, request.runEnvironment.uuid, definition);
    } catch (error) {
      return { ok: false, failure: this.callFailure('ecs:RegisterTaskDefinition', error) };
    }

    const input: RunTaskCommandInput = {
      cluster: env.cluster,
      taskDefinition: definitionArn,
      count: 1,
      clientToken: request.launchToken.slice(0, 64),
      startedBy: request.launchToken.slice(0, 128),
      group: `berth:${request.task.name}`.slice(0, 255),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: env.subnets,
          securityGroups: env.security_groups,
          assignPublicIp: env.assign_public_ip ? 'ENABLED' : 'DISABLED',
        },
      },
      ...(env.capacity_provider_strategy
        ? {
            capacityProviderStrategy: env.capacity_provider_strategy.map((c) => ({
              capacityProvider: c.capacity_provider,
              weight: c.weight,
              base: c.base,
            })),
          }
        : env.launch_type === 'FARGATE_SPOT'
          ? { capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] }
          : { launchType: 'FARGATE' as const }),
      ...(env.platform_version ? { platformVersion: env.platform_version } : {}),
      overrides,
      tags: [
        ...Object.entries(env.tags).map(([key, value]) => ({ key, value })),
        { key: 'berth:execution', value: request.executionUuid },
        { key: 'berth:task', value: request.task.name.slice(0, 256) },
        { key: 'berth:attempt', value: String(request.attempt) },
      ],
    };
    return this.runTask(clients, env, request, input, definition, definitionArn);
  }

  /** The per-run part: the run's own environment and what a wrapper inside needs to report. */
  private overridesFor(request: StartRequest, definition: BuiltDefinition, task: TaskSpec, env: AwsEcsRunEnvironmentSpec) {
    const fixed: Record<string, string> = { ...env.environment, ...task.environment };
    const perRun: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.task.environment)) {
      if (fixed[name] !== value) perRun[name] = value;
    }
    Object.assign(perRun, {
      PROC_WRAPPER_TASK_EXECUTION_UUID: request.executionUuid,
      BERTH_TASK_EXECUTION_UUID: request.executionUuid,
      BERTH_TASK_UUID: request.task.uuid,
      BERTH_ATTEMPT: String(request.attempt),
    });
    return {
      containerOverrides: [
        {
          name: definition.mainContainer,
          environment: Object.entries(perRun)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value })),
        },
      ],
    };
  }

  private async runTask(
    clients: EcsClients,
    env: AwsEcsRunEnvironmentSpec,
    request: StartRequest,
    input: RunTaskCommandInput,
    definition: BuiltDefinition,
    definitionArn: string,
  ): Promise<StartResult> {
    const handleFor = (task: Task): EcsHandle => ({
      executor: 'aws-ecs',
      run_environment_uuid: request.runEnvironment.uuid,
      region: env.region,
      cluster: env.cluster,
      task_arn: task.taskArn!,
      task_definition_arn: task.taskDefinitionArn ?? definitionArn,
      launch_token: request.launchToken,
      container: definition.mainContainer,
      ...(typeof request.task.spec.image === 'string' ? { image: request.task.spec.image } : {}),
      log_group: definition.logGroup,
      log_stream: `${definition.logStreamPrefix}/${definition.mainContainer}/${taskIdOf(task.taskArn!)}`,
      launched_at: this.now(),
    });
    let lastProblem = 'no answer';
    let reregistered = false;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      if (attempt > 1) await this.wait(backoffMs(this.retry, attempt - 1));
      await clients.launches.take();
      let answer;
      try {
        answer = await clients.ecs.send(new RunTaskCommand(input));
      } catch (error) {
        const kind = classifyAwsError(error);
        lastProblem = describeAwsError('ecs:RunTask', error);
        if (kind === 'throttled' || kind === 'transient') continue;
        if (kind === 'unknown-outcome') {
          // It may have started: look before asking again (the same clientToken also protects us).
          const found = await this.findByToken(clients, env.cluster, request.launchToken).catch(() => null);
          if (found) return { ok: true, handle: handleFor(found) };
          continue;
        }
        if (kind === 'denied') return { ok: false, failure: startFailure('ACCESS_DENIED', lastProblem, 'config') };
        const name = (error as { name?: string }).name ?? '';
        if (name === 'ClusterNotFoundException') {
          return {
            ok: false,
            failure: startFailure(
              'CLUSTER_NOT_FOUND',
              `ECS has no cluster "${clusterName(env.cluster)}" in ${env.region}. Check cluster in Run Environment "${request.runEnvironment.name}" (or create the cluster).`,
            ),
          };
        }
        if (!reregistered && /task ?definition.*(inactive|not found|does not exist)/i.test((error as Error).message ?? '')) {
          // Someone deregistered the revision we remembered: forget it and register again.
          reregistered = true;
          await this.options.definitions.delete(definitionArn);
          definitionArn = await this.definitionArn(clients, request.runEnvironment.uuid, definition);
          input.taskDefinition = definitionArn;
          continue;
        }
        return { ok: false, failure: startFailure('RUN_TASK_REJECTED', lastProblem, 'config') };
      }
      const task = answer.tasks?.[0];
      if (task?.taskArn) return { ok: true, handle: handleFor(task) };
      const failure = answer.failures?.[0];
      lastProblem = `ECS could not place the task: ${failure?.reason ?? 'no reason'}${failure?.detail ? ` (${failure.detail})` : ''}`;
      const reason = `${failure?.reason ?? ''} ${failure?.detail ?? ''}`;
      if (/RESOURCE:|capacity|AGENT|throttl|rate/i.test(reason)) continue;
      return { ok: false, failure: startFailure('RUN_TASK_FAILED', `${lastProblem}.`, 'config') };
    }
    return {
      ok: false,
      failure: startFailure('RUN_TASK_GAVE_UP', `RunTask did not succeed after ${this.retry.attempts} attempts: ${lastProblem}.`, 'infrastructure'),
    };
  }

  /** The task a launch token started, if ECS knows one (running or stopped). */
  private async findByToken(clients: EcsClients, cluster: string, token: string): Promise<Task | null> {
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      const listed = await withRetry(
        () => clients.ecs.send(new ListTasksCommand({ cluster, startedBy: token.slice(0, 128), desiredStatus })),
        this.retry,
        this.wait,
      );
      const arn = listed.taskArns?.[0];
      if (!arn) continue;
      const described = await withRetry(
        () => clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: [arn] })),
        this.retry,
        this.wait,
      );
      return described.tasks?.[0] ?? { taskArn: arn };
    }
    return null;
  }

  private async ensureLogGroup(clients: EcsClients, env: AwsEcsRunEnvironmentSpec, group: string): Promise<void> {
    const key = `${env.region}|${env.endpoint_url ?? ''}|${group}`;
    if (this.logGroupsReady.has(key)) return;
    try {
      await withRetry(
        () =>
          clients.logs.send(
            new CreateLogGroupCommand({ logGroupName: group, ...(Object.keys(env.tags).length ? { tags: env.tags } : {}) }),
          ),
        this.retry,
        this.wait,
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceAlreadyExistsException') throw error;
    }
    this.logGroupsReady.add(key);
  }

  /**
   * The ARN of a revision with exactly this content: remembered, or the family's latest if its
   * hash tag matches, else a new registration. Never one registration per run.
   */
  private async definitionArn(clients: EcsClients, runEnvironmentUuid: string, definition: BuiltDefinition): Promise<string> {
    const cached = await this.options.definitions.get(runEnvironmentUuid, definition.family, definition.hash);
    if (cached) return cached.arn;
    const key = `${runEnvironmentUuid}|${definition.family}`;
    const inFlight = this.registering.get(key);
    if (inFlight) {
      await inFlight.catch(() => undefined);
      const again = await this.options.definitions.get(runEnvironmentUuid, definition.family, definition.hash);
      if (again) return again.arn;
    }
    const work = this.register(clients, runEnvironmentUuid, definition);
    this.registering.set(key, work);
    try {
      return await work;
    } finally {
      if (this.registering.get(key) === work) this.registering.delete(key);
    }
  }

  /**
   * Registers `definition` unless the family's latest revision has its hash. With a Run
   * Environment uuid the ARN is remembered in the store; without one (schedule rules, which sync
   * inside a store transaction) the store is not touched.
   */
  private async register(clients: EcsClients, runEnvironmentUuid: string | null, definition: BuiltDefinition): Promise<string> {
    const remember = async (arn: string, revision: number) => {
      if (runEnvironmentUuid === null) return arn;
      await this.options.definitions.put({ runEnvironmentUuid, family: definition.family, hash: definition.hash, arn, revision });
      return arn;
    };
    try {
      const current = await withRetry(
        () => clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: definition.family, include: ['TAGS'] })),
        this.retry,
        this.wait,
      );
      const td = current.taskDefinition;
      const hash = current.tags?.find((t) => t.key === HASH_TAG)?.value;
      if (td?.taskDefinitionArn && td.status === 'ACTIVE' && hash === definition.hash) {
        return remember(td.taskDefinitionArn, td.revision ?? 0);
      }
    } catch (error) {
      // No such family yet is the usual reason; anything else shows again at registration.
      if (classifyAwsError(error) === 'denied') throw error;
    }
    const registered = await withRetry(
      () => clients.ecs.send(new RegisterTaskDefinitionCommand(definition.input)),
      this.retry,
      this.wait,
    );
    const td = registered.taskDefinition;
    if (!td?.taskDefinitionArn) throw new Error('RegisterTaskDefinition answered without a task definition');
    return remember(td.taskDefinitionArn, td.revision ?? 0);
  }

  private callFailure(action: string, error: unknown): Failure {
    const kind = classifyAwsError(error);
    return startFailure(
      kind === 'denied' ? 'ACCESS_DENIED' : kind === 'client' ? 'AWS_REQUEST_REJECTED' : 'AWS_UNAVAILABLE',
      describeAwsError(action, error),
      kind === 'denied' || kind === 'client' ? 'config' : 'infrastructure',
    );
  }

  async recover(key: RecoverKey): Promise<ExecutorHandle | null> {
    const env = this.settingsOf(key.runEnvironment.settings);
    const clients = this.clients.for(env);
    const task = await this.findByToken(clients, env.cluster, key.launchToken);
    if (!task?.taskArn) return null;
    // Berth always puts the main container first in the overrides.
    const container = task.overrides?.containerOverrides?.[0]?.name ?? task.containers?.[0]?.name ?? 'main';
    return {
      executor: 'aws-ecs',
      run_environment_uuid: key.runEnvironment.uuid,
      region: env.region,
      cluster: env.cluster,
      task_arn: task.taskArn,
      task_definition_arn: task.taskDefinitionArn ?? '',
      launch_token: key.launchToken,
      container,
      log_group: logGroupOf(env),
      log_stream: `${env.log_stream_prefix}/${container}/${taskIdOf(task.taskArn)}`,
      launched_at: this.now(),
    } satisfies EcsHandle;
  }

  async observe(handles: readonly ExecutorHandle[]): Promise<Observation[]> {
    const results: Observation[] = handles.map(() => ({ state: 'lost', message: 'not observed' }));
    // Group by Run Environment and cluster: one DescribeTasks per 100 tasks of a cluster.
    const groups = new Map<string, { env: string; cluster: string; items: { index: number; handle: EcsHandle }[] }>();
    handles.forEach((raw, index) => {
      const parsed = EcsHandle.safeParse(raw);
      if (!parsed.success) {
        results[index] = { state: 'lost', message: 'This handle is not an aws-ecs handle, so Berth cannot tell what became of the task.' };
        return;
      }
      const h = parsed.data;
      const key = `${h.run_environment_uuid}|${h.cluster}`;
      const group = groups.get(key) ?? { env: h.run_environment_uuid, cluster: h.cluster, items: [] };
      group.items.push({ index, handle: h });
      groups.set(key, group);
    });
    for (const group of groups.values()) {
      const env = await this.envFor(group.env);
      if (!env) {
        for (const { index } of group.items) {
          results[index] = { state: 'lost', message: 'Its Run Environment was deleted, so Berth can no longer ask ECS about the task.' };
        }
        continue;
      }
      for (let i = 0; i < group.items.length; i += DESCRIBE_BATCH) {
        const batch = group.items.slice(i, i + DESCRIBE_BATCH);
        const answer = await withRetry(
          () => env.clients.ecs.send(new DescribeTasksCommand({ cluster: group.cluster, tasks: batch.map((b) => b.handle.task_arn) })),
          this.retry,
          this.wait,
        );
        const byArn = new Map((answer.tasks ?? []).map((t) => [t.taskArn, t]));
        for (const { index, handle } of batch) {
          const task = byArn.get(handle.task_arn);
          if (task) {
            results[index] = observeEcsTask(task, handle.container, handle.image, this.now());
          } else if (this.now() - handle.launched_at < this.describeGraceMs) {
            // Just launched: ECS may not describe it yet.
            results[index] = { state: 'pending' };
          } else {
            results[index] = {
              state: 'lost',
              message: `ECS no longer knows task ${handle.task_arn} (it forgets stopped tasks after about an hour), so how it ended is unknown. Its logs may still be in ${handle.log_group}/${handle.log_stream}.`,
            };
          }
        }
      }
    }
    return results;
  }

  async stop(handle: ExecutorHandle, options: { gracePeriodSeconds: number; reason: string }): Promise<void> {
    const parsed = EcsHandle.safeParse(handle);
    if (!parsed.success) return;
    const h = parsed.data;
    const env = await this.envFor(h.run_environment_uuid);
    if (!env) return;
    try {
      await withRetry(
        () =>
          env.clients.ecs.send(
            new StopTaskCommand({ cluster: h.cluster, task: h.task_arn, reason: `Stopped by Berth: ${options.reason}`.slice(0, 255) }),
          ),
        this.retry,
        this.wait,
      );
    } catch (error) {
      // A task ECS no longer knows has nothing left to stop.
      if (/not found|could not be found/i.test((error as Error).message ?? '')) return;
      throw error;
    }
  }

  async readLogs(handle: ExecutorHandle, options: LogReadOptions): Promise<ExecutorLogPage> {
    const parsed = EcsHandle.safeParse(handle);
    if (!parsed.success) return { entries: [], nextCursor: options.cursor ?? '', complete: true };
    const h = parsed.data;
    const env = await this.envFor(h.run_environment_uuid);
    if (!env) return { entries: [], nextCursor: options.cursor ?? '', complete: true };
    try {
      const page = await withRetry(
        () =>
          env.clients.logs.send(
            new GetLogEventsCommand({
              logGroupName: h.log_group,
              logStreamName: h.log_stream,
              startFromHead: true,
              limit: Math.max(1, Math.min(10_000, Math.floor(options.limit / 80))),
              ...(options.cursor ? { nextToken: options.cursor } : {}),
            }),
          ),
        this.retry,
        this.wait,
      );
      const events = page.events ?? [];
      const next = page.nextForwardToken ?? options.cursor ?? '';
      return {
        entries: events.flatMap((e) => (e.message ?? '').replace(/\n$/, '').split('\n').map((text) => ({ stream: 'stdout' as const, text }))),
        nextCursor: next,
        // An unchanged token means there is nothing more right now.
        complete: events.length === 0 || next === options.cursor,
      };
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') {
        // The stream appears once the container writes; nothing to read yet.
        return { entries: [], nextCursor: options.cursor ?? '', complete: true };
      }
      throw new BerthError('LOGS_UNAVAILABLE', describeAwsError('logs:GetLogEvents', error));
    }
  }

  describe(handle: ExecutorHandle): Record<string, unknown> {
    const parsed = EcsHandle.safeParse(handle);
    if (!parsed.success) return { description: 'not an aws-ecs handle' };
    const h = parsed.data;
    const cluster = clusterName(h.cluster);
    return {
      task_arn: h.task_arn,
      cluster,
      region: h.region,
      task_definition_arn: h.task_definition_arn,
      console_url: `https://${h.region}.console.aws.amazon.com/ecs/v2/clusters/${cluster}/tasks/${taskIdOf(h.task_arn)}/configuration`,
      log_group: h.log_group,
      log_stream: h.log_stream,
    };
  }

  async pruneRevisions(request: PruneRequest): Promise<PruneResult> {
    try {
      return await this.prune(request);
    } catch (error) {
      if (error instanceof BerthError) throw error;
      throw new BerthError('AWS_CALL_FAILED', describeAwsError('ecs:ListTaskDefinitions / ecs:DeregisterTaskDefinition', error), undefined, {
        cause: error,
      });
    }
  }

  private async prune(request: PruneRequest): Promise<PruneResult> {
    const env = this.settingsOf(request.runEnvironment.settings);
    const clients = this.clients.for(env);
    const family = familyOf(env, request.task.name);
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withRetry(
        () =>
          clients.ecs.send(
            new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', ...(nextToken ? { nextToken } : {}) }),
          ),
        this.retry,
        this.wait,
      );
      arns.push(...(page.taskDefinitionArns ?? []).filter((arn) => arn.split('/').pop()!.split(':')[0] === family));
      nextToken = page.nextToken;
    } while (nextToken);
    // Newest first, whatever order the answer came in.
    arns.sort((a, b) => Number(b.split(':').pop()) - Number(a.split(':').pop()));
    const kept = [...arns.slice(0, request.keep), ...arns.slice(request.keep).filter((arn) => request.inUse.includes(arn))];
    const removed = arns.filter((arn) => !kept.includes(arn));
    if (!request.dryRun) {
      for (const arn of removed) {
        await withRetry(() => clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })), this.retry, this.wait);
        await this.options.definitions.delete(arn);
      }
    }
    return { kept, removed };
  }

  /** `berth verify`: checks the Run Environment (and Task) with the clients launches use (ecs-verify.ts). */
  async verify(request: VerifyRequest): Promise<VerifyResult> {
    const env = this.settingsOf(request.runEnvironment.settings);
    const task = request.task ? TaskSpec.parse({ ...request.task.spec, run_environment: request.runEnvironment.name }) : null;
    const checks = await verifyEcsEnvironment(env, task, this.clients.for(env).config, {
      retry: this.options.retry ?? VERIFY_RETRY,
      wait: this.wait,
    });
    return { checks };
  }

  /** `schedules: eventbridge`: the Task's EventBridge rule (eventbridge-schedules.ts). */
  async syncScheduleRule(request: ScheduleRuleRequest): Promise<ScheduleRuleResult> {
    const env = this.settingsOf(request.runEnvironment.settings);
    const clients = this.clients.for(env);
    const task = TaskSpec.parse({ ...request.task.spec, run_environment: request.runEnvironment.name });
    return syncEventBridgeRule(
      {
        clients,
        retry: this.retry,
        wait: this.wait,
        // Not through the store's cache: rules sync inside a store transaction (catalog-service.ts).
        definitionArn: (definition) => this.register(clients, null, definition),
        ensureLogGroup: (group) => this.ensureLogGroup(clients, env, group),
      },
      { env, task, taskUuid: request.task.uuid, definition: buildTaskDefinition(task, env), remove: request.remove },
    );
  }

  async close(): Promise<void> {
    this.services.close();
    this.clients.close();
  }
}
