import { isDeepStrictEqual } from 'node:util';
import { BerthConfig } from '../domain/berth-config.js';
import { formatIssues } from '../domain/common.js';
import { BerthError } from '../domain/errors.js';
import type { ValidationIssue } from '../domain/errors.js';
import { ACTIVE_STATUSES } from '../domain/execution-status.js';
import { RunEnvironmentSpec, schedulesInEventBridge } from '../domain/run-environment.js';
import { checkEcsTask, checkLocalTask } from '../domain/ecs-task.js';
import { TaskSpec } from '../domain/task.js';
import type { VerifyCheck } from '../executors/executor.js';
import { isUniqueViolation } from '../store/sql-store.js';
import type { RunEnvironmentRecord, Store, TaskRecord } from '../store/store.js';
import type { ServerContext } from './context.js';
import type { NotificationService, ProfileChange } from './notifier/notification-service.js';
import type { TaskForCheck, WorkflowService } from './workflow-service.js';

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

export interface Change {
  kind: 'run_environment' | 'task' | 'workflow' | 'notification_profile';
  name: string;
  action: 'create' | 'update' | 'unchanged';
  fields: FieldChange[];
}

function diffFields(before: Record<string, unknown> | null, after: Record<string, unknown>): FieldChange[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  const out: FieldChange[] = [];
  for (const field of [...keys].sort()) {
    const a = before?.[field];
    const b = after[field];
    if (!isDeepStrictEqual(a, b)) out.push({ field, before: a ?? null, after: b ?? null });
  }
  return out;
}

function validationError(code: 'VALIDATION_FAILED' | 'CONFIG_INVALID', issues: ValidationIssue[]): BerthError {
  const first = issues[0];
  const summary = first ? `${first.path}: ${first.message}` : 'invalid';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new BerthError(code, `Invalid ${code === 'CONFIG_INVALID' ? 'configuration' : 'request'}: ${summary}${more}`, { issues });
}

/** Run Environments and Tasks: create, replace, delete, and apply a whole `berth.yaml`. */
export class CatalogService {
  constructor(
    private readonly ctx: ServerContext,
    /** Applies the `workflows:` of a berth.yaml (the API's catalog has it). */
    private readonly workflows?: WorkflowService,
    /** Applies `notification_profiles:` and checks the names objects refer to (the API's catalog has it). */
    private readonly notifications?: NotificationService,
  ) {}

  async requireRunEnvironment(ref: string, store: Store = this.ctx.store): Promise<RunEnvironmentRecord> {
    const env = await store.getRunEnvironment(ref);
    if (!env) {
      throw new BerthError(
        'RUN_ENVIRONMENT_NOT_FOUND',
        `No Run Environment named or with uuid "${ref}". Create it first (berth apply) or list them with \`berth run-environments ls\`.`,
      );
    }
    return env;
  }

  async requireTask(ref: string): Promise<TaskRecord> {
    const task = await this.ctx.store.getTask(ref);
    if (!task) throw new BerthError('TASK_NOT_FOUND', `No Task named or with uuid "${ref}". List them with \`berth tasks ls\`.`);
    return task;
  }

  /** Rules that need the Run Environment: what its kind can run, and with which secrets. */
  private taskIssues(spec: TaskSpec, env: RunEnvironmentSpec, prefix: (string | number)[] = []): ValidationIssue[] {
    return env.kind === 'local' ? checkLocalTask(spec, prefix) : checkEcsTask(spec, env, prefix);
  }

  /**
   * `schedules: eventbridge`: makes the Task's EventBridge rule match it (or removes it). Throws
   * AWS_CALL_FAILED naming the AWS action when AWS refuses; callers run it before they commit.
   */
  private async syncScheduleRule(env: RunEnvironmentRecord, task: TaskRecord, remove: boolean): Promise<void> {
    const executor = this.ctx.executors.get(env.kind);
    if (!executor?.syncScheduleRule) {
      throw new BerthError(
        'EXECUTOR_DISABLED',
        `Run Environment "${env.name}" keeps schedules as EventBridge rules, but this server does not run "${env.kind}" Tasks, so it cannot manage them.`,
      );
    }
    const result = await executor.syncScheduleRule({
      runEnvironment: { uuid: env.uuid, name: env.name, kind: env.kind, settings: env.spec as Record<string, unknown> },
      task: { uuid: task.uuid, name: task.name, spec: task.spec as Record<string, unknown> },
      remove,
    });
    if (result.action !== 'unchanged') this.ctx.log.info('EventBridge schedule rule synced', { task: task.name, rule: result.rule, action: result.action });
  }

  /** Re-syncs the rules of every Task of a Run Environment whose settings changed. */
  private async resyncRules(store: Store, before: RunEnvironmentRecord | null, after: RunEnvironmentRecord): Promise<void> {
    const now = this.ctx.clock.now();
    for (let offset = 0; ; offset += 100) {
      const page = await store.listTasks({ run_environment_uuid: after.uuid, limit: 100, offset });
      for (const task of page.items) {
        if (before && schedulesInEventBridge(before.spec)) {
          const beforePrefix = (before.spec as { schedule_rule_prefix?: string }).schedule_rule_prefix;
          const afterPrefix = (after.spec as { schedule_rule_prefix?: string }).schedule_rule_prefix;
          // The old rule goes when the Run Environment leaves EventBridge or renames its rules.
          if (!schedulesInEventBridge(after.spec) || beforePrefix !== afterPrefix) await this.syncScheduleRule(before, task, true);
        }
        if (schedulesInEventBridge(after.spec)) {
          await this.syncScheduleRule(after, task, false);
          // Berth's scheduler no longer fires it.
          await store.syncSchedule('task', task.uuid, null, now);
        } else if (!task.spec.passive && task.spec.enabled && typeof task.spec.schedule === 'string') {
          // Back on Berth's scheduler.
          await store.syncSchedule('task', task.uuid, task.spec.schedule, now);
        }
      }
      if (page.items.length < 100) break;
    }
  }

  async upsertRunEnvironment(input: unknown): Promise<{ record: RunEnvironmentRecord; created: boolean }> {
    const parsed = RunEnvironmentSpec.safeParse(input);
    if (!parsed.success) throw validationError('VALIDATION_FAILED', formatIssues(parsed.error));
    await this.notifications?.requireReferences(parsed.data.notification_profiles);
    try {
      return await this.ctx.store.transaction(async (tx) => {
        const before = await tx.getRunEnvironment(parsed.data.name);
        const saved = await tx.upsertRunEnvironment(parsed.data, this.ctx.clock.now());
        // Its Tasks' EventBridge rules follow its settings (network, role, prefix, or leaving
        // EventBridge for Berth's scheduler), before the change commits.
        if (schedulesInEventBridge(saved.record.spec) || (before && schedulesInEventBridge(before.spec))) {
          await this.resyncRules(tx, before, saved.record);
        }
        return saved;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new BerthError('NAME_TAKEN', `Run Environment "${parsed.data.name}" was created concurrently; retry.`);
      throw error;
    }
  }

  async upsertTask(input: unknown): Promise<{ record: TaskRecord; created: boolean }> {
    const parsed = TaskSpec.safeParse(input);
    if (!parsed.success) throw validationError('VALIDATION_FAILED', formatIssues(parsed.error));
    const env = await this.requireRunEnvironment(parsed.data.run_environment);
    const issues = this.taskIssues(parsed.data, env.spec);
    if (this.notifications) issues.push(...(await this.notifications.referenceIssues(this.ctx.store, parsed.data.notification_profiles, 'notification_profiles')));
    if (issues.length) throw validationError('VALIDATION_FAILED', issues);
    const spec = { ...parsed.data, run_environment: env.name };
    try {
      // With EventBridge schedules, the rule is synced inside the transaction that saves the
      // Task: a failed sync rolls the save back, so the store never silently disagrees with AWS.
      const result = await this.ctx.store.transaction(async (tx) => {
        const before = await tx.getTask(spec.name);
        const saved = await tx.upsertTask(spec, env.uuid, this.ctx.clock.now());
        if (before && before.run_environment_uuid !== env.uuid) {
          const old = await tx.getRunEnvironment(before.run_environment_uuid);
          if (old && schedulesInEventBridge(old.spec)) await this.syncScheduleRule(old, before, true);
        }
        if (schedulesInEventBridge(env.spec)) await this.syncScheduleRule(env, saved.record, false);
        return saved;
      });
      // Its schedule may have changed: the scheduler recomputes its sleep.
      this.ctx.wakeScheduler?.();
      return result;
    } catch (error) {
      if (isUniqueViolation(error)) throw new BerthError('NAME_TAKEN', `Task "${spec.name}" was created concurrently; retry.`);
      throw error;
    }
  }

  /**
   * Creates a passive Task in `env` unless a Task with that name exists (then returns it, as it
   * is: a wrapper never changes a Task). For a wrapper's report of a Task Berth does not know;
   * concurrent reports of the same new name get the one Task. Checks the spec like any other.
   */
  async createPassiveTask(input: Record<string, unknown>, env: RunEnvironmentRecord): Promise<{ record: TaskRecord; created: boolean }> {
    const parsed = TaskSpec.safeParse({ ...input, run_environment: env.name, passive: true });
    if (!parsed.success) {
      throw validationError('VALIDATION_FAILED', formatIssues(parsed.error).map((i) => ({ ...i, path: `task.${i.path}` })));
    }
    const issues = this.taskIssues(parsed.data, env.spec);
    if (issues.length) throw validationError('VALIDATION_FAILED', issues);
    return this.ctx.store.createTaskIfAbsent(parsed.data, env.uuid, this.ctx.clock.now());
  }

  /** PATCH: the stored spec with `changes` laid over it, validated as a whole. */
  async patchTask(ref: string, changes: Record<string, unknown>): Promise<TaskRecord> {
    const task = await this.requireTask(ref);
    if (changes.name !== undefined && changes.name !== task.name) {
      throw validationError('VALIDATION_FAILED', [
        { path: 'name', message: 'a Task cannot be renamed through PATCH; create a new one and delete this', code: 'custom' },
      ]);
    }
    return (await this.upsertTask({ ...task.spec, ...changes, name: task.name })).record;
  }

  async patchRunEnvironment(ref: string, changes: Record<string, unknown>): Promise<RunEnvironmentRecord> {
    const env = await this.requireRunEnvironment(ref);
    if (changes.name !== undefined && changes.name !== env.name) {
      throw validationError('VALIDATION_FAILED', [
        { path: 'name', message: 'a Run Environment cannot be renamed through PATCH', code: 'custom' },
      ]);
    }
    return (await this.upsertRunEnvironment({ ...env.spec, ...changes, name: env.name })).record;
  }

  async deleteTask(ref: string): Promise<void> {
    const task = await this.requireTask(ref);
    await this.ctx.store.transaction(async (tx) => {
      await tx.lockTask(task.uuid);
      const active = await tx.countExecutions(task.uuid, ['QUEUED', ...ACTIVE_STATUSES, 'MARKED_DONE']);
      if (active > 0) {
        throw new BerthError(
          'TASK_HAS_ACTIVE_EXECUTIONS',
          `Task "${task.name}" has ${active} execution(s) queued or running; stop them first (berth executions ls --task ${task.name}).`,
        );
      }
      const env = await tx.getRunEnvironment(task.run_environment_uuid);
      if (env && schedulesInEventBridge(env.spec)) await this.syncScheduleRule(env, task, true);
      await tx.deleteTask(task.uuid);
    });
  }

  /**
   * Removes old registrations of a Task's definition (ECS task definition revisions), keeping
   * the newest `keep` and any that queued or running executions use.
   */
  async pruneRevisions(ref: string, keep: number, dryRun: boolean): Promise<{ kept: string[]; removed: string[] }> {
    const task = await this.requireTask(ref);
    const env = await this.requireRunEnvironment(task.run_environment_uuid);
    const executor = this.ctx.executors.get(env.kind);
    if (!executor?.pruneRevisions) {
      throw new BerthError(
        'UNSUPPORTED_FOR_KIND',
        `Task "${task.name}" runs in a ${env.kind} Run Environment, which registers no task definitions; there is nothing to prune.`,
      );
    }
    return executor.pruneRevisions({
      task: { uuid: task.uuid, name: task.name },
      runEnvironment: { uuid: env.uuid, name: env.name, kind: env.kind, settings: env.spec as Record<string, unknown> },
      keep,
      inUse: await this.ctx.store.listDefinitionArnsInUse(env.uuid),
      dryRun,
    });
  }

  /**
   * `berth verify`: the executor checks the Run Environment (and one of its Tasks) with the
   * credentials and endpoint it launches with. Failed checks are a result, not an error.
   */
  async verify(ref: string, taskRef?: string): Promise<{
    ok: boolean;
    run_environment: { uuid: string; name: string };
    task?: { uuid: string; name: string };
    checks: VerifyCheck[];
  }> {
    const env = await this.requireRunEnvironment(ref);
    if (env.kind !== 'aws-ecs') {
      throw new BerthError(
        'UNSUPPORTED_FOR_KIND',
        `Run Environment "${env.name}" is ${env.kind}: its Tasks run on the Berth host, so there is no AWS setup to verify. verify checks aws-ecs Run Environments.`,
      );
    }
    const task = taskRef === undefined ? null : await this.requireTask(taskRef);
    if (task && task.run_environment_uuid !== env.uuid) {
      const actual = await this.ctx.store.getRunEnvironment(task.run_environment_uuid);
      throw validationError('VALIDATION_FAILED', [
        {
          path: 'task',
          message: `Task "${task.name}" runs in Run Environment "${actual?.name ?? task.run_environment_uuid}", not "${env.name}"; verify that one with --task ${task.name}`,
          code: 'custom',
        },
      ]);
    }
    const executor = this.ctx.executors.get(env.kind);
    if (!executor?.verify) {
      throw new BerthError('EXECUTOR_DISABLED', `This server does not run "${env.kind}" Tasks, so it cannot verify Run Environment "${env.name}".`);
    }
    const { checks } = await executor.verify({
      runEnvironment: { uuid: env.uuid, name: env.name, kind: env.kind, settings: env.spec as Record<string, unknown> },
      ...(task ? { task: { uuid: task.uuid, name: task.name, spec: task.spec as Record<string, unknown> } } : {}),
    });
    return {
      ok: !checks.some((c) => c.status === 'fail'),
      run_environment: { uuid: env.uuid, name: env.name },
      ...(task ? { task: { uuid: task.uuid, name: task.name } } : {}),
      checks,
    };
  }

  async deleteRunEnvironment(ref: string): Promise<void> {
    const env = await this.requireRunEnvironment(ref);
    const users = await this.ctx.store.countTasksInRunEnvironment(env.uuid);
    if (users > 0) {
      throw new BerthError(
        'RUN_ENVIRONMENT_IN_USE',
        `Run Environment "${env.name}" still has ${users} Task(s) or reporter key(s); move or delete them first.`,
      );
    }
    await this.ctx.store.deleteRunEnvironment(env.uuid);
  }

  /**
   * Applies a `berth.yaml` document: validates all of it, then creates or replaces each Run
   * Environment and Task in one transaction (all or nothing). With `dryRun` nothing is written.
   * Objects not in the document are left alone.
   */
  async apply(document: unknown, dryRun: boolean): Promise<Change[]> {
    const parsed = BerthConfig.safeParse(document);
    if (!parsed.success) throw validationError('CONFIG_INVALID', formatIssues(parsed.error));
    const doc = parsed.data;
    const run = async (store: Store): Promise<Change[]> => {
      const now = this.ctx.clock.now();
      const changes: Change[] = [];
      // Profiles first: the objects below may name them.
      const docProfiles = new Set(doc.notification_profiles.map((p) => p.name));
      if (doc.notification_profiles.length > 0) {
        if (!this.notifications) throw new Error('CatalogService: built without a NotificationService, it cannot apply notification_profiles');
        changes.push(...((await this.notifications.apply(store, doc.notification_profiles, dryRun)) satisfies ProfileChange[]));
      }
      if (this.notifications) {
        const refIssues: ValidationIssue[] = [];
        const check = async (names: readonly string[] | undefined, path: string) =>
          refIssues.push(...(await this.notifications!.referenceIssues(store, names, path, docProfiles)));
        for (const [i, spec] of doc.run_environments.entries()) await check(spec.notification_profiles, `run_environments[${i}].notification_profiles`);
        for (const [i, spec] of doc.tasks.entries()) await check(spec.notification_profiles, `tasks[${i}].notification_profiles`);
        for (const [i, spec] of doc.workflows.entries()) await check(spec.notification_profiles, `workflows[${i}].notification_profiles`);
        if (refIssues.length) throw validationError('CONFIG_INVALID', refIssues);
      }
      const envKinds = new Map<string, { spec: RunEnvironmentSpec; uuid: string | null }>();
      for (const spec of doc.run_environments) {
        const existing = await store.getRunEnvironment(spec.name);
        const before = existing ? (existing.spec as Record<string, unknown>) : null;
        const fields = diffFields(before, spec);
        const action = !existing ? 'create' : fields.length ? 'update' : 'unchanged';
        changes.push({ kind: 'run_environment', name: spec.name, action, fields: action === 'create' ? [] : fields });
        let uuid = existing?.uuid ?? null;
        if (!dryRun && action !== 'unchanged') {
          const saved = (await store.upsertRunEnvironment(spec, now)).record;
          uuid = saved.uuid;
          if (existing && (schedulesInEventBridge(existing.spec) || schedulesInEventBridge(saved.spec))) {
            await this.resyncRules(store, existing, saved);
          }
        }
        envKinds.set(spec.name, { spec, uuid });
      }
      const issues: ValidationIssue[] = [];
      const tasks: { spec: TaskSpec; envRef: { spec: RunEnvironmentSpec; uuid: string | null; name: string } }[] = [];
      for (const [index, spec] of doc.tasks.entries()) {
        let env: { spec: RunEnvironmentSpec; uuid: string | null; name: string } | undefined;
        const inDoc = envKinds.get(spec.run_environment);
        if (inDoc) env = { ...inDoc, name: spec.run_environment };
        else {
          const stored = await store.getRunEnvironment(spec.run_environment);
          if (stored) env = { spec: stored.spec, uuid: stored.uuid, name: stored.name };
        }
        if (!env) {
          issues.push({
            path: `tasks[${index}].run_environment`,
            message: `no Run Environment named "${spec.run_environment}"; define it under run_environments or create it first`,
            code: 'custom',
          });
          continue;
        }
        issues.push(...this.taskIssues({ ...spec, run_environment: env.name }, env.spec, ['tasks', index]));
        tasks.push({ spec: { ...spec, run_environment: env.name }, envRef: env });
      }
      if (issues.length) throw validationError('CONFIG_INVALID', issues);
      for (const { spec, envRef } of tasks) {
        const existing = await store.getTask(spec.name);
        const fields = diffFields(existing ? (existing.spec as Record<string, unknown>) : null, spec);
        const action = !existing ? 'create' : fields.length ? 'update' : 'unchanged';
        changes.push({ kind: 'task', name: spec.name, action, fields: action === 'create' ? [] : fields });
        if (dryRun) continue;
        const record = action !== 'unchanged' ? (await store.upsertTask(spec, envRef.uuid!, now)).record : existing!;
        if (existing && existing.run_environment_uuid !== envRef.uuid) {
          const old = await store.getRunEnvironment(existing.run_environment_uuid);
          if (old && schedulesInEventBridge(old.spec)) await this.syncScheduleRule(old, existing, true);
        }
        if (schedulesInEventBridge(envRef.spec)) {
          // Unchanged Tasks too: sync reads first and writes only what drifted.
          const envRecord: RunEnvironmentRecord = { uuid: envRef.uuid!, name: envRef.name, kind: envRef.spec.kind, spec: envRef.spec, created_at: now, updated_at: now };
          await this.syncScheduleRule(envRecord, record, false);
        }
      }
      if (doc.workflows.length > 0) {
        if (!this.workflows) throw new Error('CatalogService: built without a WorkflowService, it cannot apply workflows');
        const inDocument = new Map<string, TaskForCheck>(tasks.map((t) => [t.spec.name, { spec: t.spec, env: t.envRef.spec }]));
        changes.push(...(await this.workflows.apply(store, doc.workflows, inDocument, dryRun)));
      }
      return changes;
    };
    if (dryRun) return run(this.ctx.store);
    const changes = await this.ctx.store.transaction(run);
    this.ctx.wakeScheduler?.();
    return changes;
  }
}
