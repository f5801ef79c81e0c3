import { randomUUID } from 'node:crypto';
import { ACTIVE_STATUSES, TERMINAL_STATUSES } from '../domain/execution-status.js';
import type { ExecutionStatus } from '../domain/execution-status.js';
import { schedulesInEventBridge } from '../domain/run-environment.js';
import type { RunEnvironmentSpec } from '../domain/run-environment.js';
import type { TaskSpec } from '../domain/task.js';
import { looksLikeUuid } from '../domain/common.js';
import { EVENT_DEFAULTS } from '../domain/event.js';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from './sql-driver.js';
import { fromJson, num, numOrNull, placeholders } from './sql-values.js';
import { SqlWorkflowStore } from './sql-workflow-store.js';
import { SqlServiceStore } from './service-store.js';
import { SqlSummaryStore } from './sql-summary-store.js';
import { SqlNotificationStore } from './sql-notification-store.js';
import { mapScheduleFire, mapScheduleState, syncSchedule } from './sql-schedules.js';
import type {
  ApiKeyRecord,
  ClaimOptions,
  DefinitionRevisionRecord,
  EventFilter,
  EventRecord,
  ExecutionFilter,
  ExecutionGuard,
  ExecutionPatch,
  ExecutionRecord,
  NewExecution,
  ObservedExecution,
  Page,
  RunEnvironmentRecord,
  ScheduleFireRecord,
  ScheduleStateRecord,
  ScheduleTargetKind,
  ServerInstanceRecord,
  Store,
  TaskCutoff,
  TaskFilter,
  TaskRecord,
} from './store.js';

const JSON_COLUMNS = new Set([
  'failure',
  'attempts',
  'environment_overrides',
  'input_value',
  'output_value',
  'executor_handle',
  'other_runtime_metadata',
  'wrapper',
  'wrapper_report',
  'task_overrides',
]);

/** Columns of task_executions a patch may set. */
const PATCHABLE = new Set<keyof ExecutionPatch>([
  'status',
  'stop_reason',
  'failure',
  'updated_at',
  'launch_after',
  'started_at',
  'finished_at',
  'stop_requested_at',
  'stop_sent_at',
  'attempt',
  'max_attempts',
  'failed_attempts',
  'timed_out_attempts',
  'attempts',
  'exit_code',
  'environment_overrides',
  'input_value',
  'output_value',
  'success_count',
  'error_count',
  'skipped_count',
  'expected_count',
  'last_status_message',
  'last_heartbeat_at',
  'executor_kind',
  'executor_handle',
  'launch_token',
  'owner_instance',
  'last_app_heartbeat_at',
  'pid',
  'other_runtime_metadata',
  'debug_log_tail',
  'error_log_tail',
  'wrapper',
  'wrapper_report',
  'task_overrides',
]);

const NON_TERMINAL = (
  ['QUEUED', 'MANUALLY_STARTED', 'RUNNING', 'STOPPING', 'MARKED_DONE'] as ExecutionStatus[]
).filter((s) => !TERMINAL_STATUSES.has(s));

/**
 * The last sign of life of an execution, in SQL: the latest of its last heartbeat, its start and
 * its creation (portable: no GREATEST in SQLite, and its MAX() is NULL with any NULL argument).
 */
const LAST_SIGN_OF_LIFE_SQL = `(CASE
  WHEN COALESCE(last_heartbeat_at, 0) >= COALESCE(started_at, 0) AND COALESCE(last_heartbeat_at, 0) >= created_at THEN last_heartbeat_at
  WHEN COALESCE(started_at, 0) >= created_at THEN started_at
  ELSE created_at END)`;

/** Task cutoffs per liveness query (two parameters each). */
const CUTOFF_CHUNK = 200;

function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function mapExecution(row: Row): ExecutionRecord {
  return {
    uuid: String(row.uuid),
    task_uuid: String(row.task_uuid),
    run_environment_uuid: String(row.run_environment_uuid),
    status: row.status as ExecutionStatus,
    run_reason: row.run_reason as ExecutionRecord['run_reason'],
    stop_reason: (row.stop_reason ?? null) as ExecutionRecord['stop_reason'],
    failure: fromJson(row.failure, null),
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
    launch_after: numOrNull(row.launch_after),
    started_at: numOrNull(row.started_at),
    finished_at: numOrNull(row.finished_at),
    stop_requested_at: numOrNull(row.stop_requested_at),
    stop_sent_at: numOrNull(row.stop_sent_at),
    attempt: num(row.attempt),
    max_attempts: num(row.max_attempts),
    failed_attempts: num(row.failed_attempts),
    timed_out_attempts: num(row.timed_out_attempts),
    attempts: fromJson(row.attempts, []),
    exit_code: numOrNull(row.exit_code),
    environment_overrides: fromJson(row.environment_overrides, {}),
    input_value: fromJson(row.input_value, null),
    output_value: fromJson(row.output_value, null),
    success_count: numOrNull(row.success_count),
    error_count: numOrNull(row.error_count),
    skipped_count: numOrNull(row.skipped_count),
    expected_count: numOrNull(row.expected_count),
    last_status_message: (row.last_status_message ?? null) as string | null,
    last_heartbeat_at: numOrNull(row.last_heartbeat_at),
    executor_kind: (row.executor_kind ?? null) as string | null,
    executor_handle: fromJson(row.executor_handle, null),
    launch_token: (row.launch_token ?? null) as string | null,
    owner_instance: (row.owner_instance ?? null) as string | null,
    last_app_heartbeat_at: numOrNull(row.last_app_heartbeat_at),
    pid: numOrNull(row.pid),
    other_runtime_metadata: fromJson(row.other_runtime_metadata, null),
    debug_log_tail: (row.debug_log_tail ?? null) as string | null,
    error_log_tail: (row.error_log_tail ?? null) as string | null,
    wrapper: fromJson(row.wrapper, null),
    wrapper_report: fromJson(row.wrapper_report, null),
    task_overrides: fromJson(row.task_overrides, null),
  };
}

function mapObserved(row: Row): ObservedExecution {
  return {
    uuid: String(row.uuid),
    task_uuid: String(row.task_uuid),
    status: row.status as ExecutionStatus,
    executor_kind: (row.executor_kind ?? null) as string | null,
    executor_handle: JSON.parse(String(row.executor_handle)) as Record<string, unknown>,
    started_at: numOrNull(row.started_at),
    stop_reason: (row.stop_reason ?? null) as ExecutionRecord['stop_reason'],
    stop_sent_at: numOrNull(row.stop_sent_at),
    task_overrides: fromJson(row.task_overrides, null),
  };
}

function mapEvent(row: Row): EventRecord {
  return {
    uuid: String(row.uuid),
    type: row.type as EventRecord['type'],
    severity: row.severity as EventRecord['severity'],
    message: String(row.message),
    task_uuid: (row.task_uuid ?? null) as string | null,
    task_name: (row.task_name ?? null) as string | null,
    execution_uuid: (row.execution_uuid ?? null) as string | null,
    details: fromJson(row.details, {}),
    dedupe_key: String(row.dedupe_key),
    created_at: num(row.created_at),
    grouping_key: (row.grouping_key ?? null) as string | null,
    workflow_uuid: (row.workflow_uuid ?? null) as string | null,
    workflow_name: (row.workflow_name ?? null) as string | null,
    workflow_execution_uuid: (row.workflow_execution_uuid ?? null) as string | null,
    incident_uuid: (row.incident_uuid ?? null) as string | null,
    routed_at: numOrNull(row.routed_at),
  };
}

function mapRunEnvironment(row: Row): RunEnvironmentRecord {
  return {
    uuid: String(row.uuid),
    name: String(row.name),
    kind: row.kind as RunEnvironmentRecord['kind'],
    spec: JSON.parse(String(row.spec)) as RunEnvironmentSpec,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
  };
}

function mapTask(row: Row): TaskRecord {
  return {
    uuid: String(row.uuid),
    name: String(row.name),
    run_environment_uuid: String(row.run_environment_uuid),
    spec: JSON.parse(String(row.spec)) as TaskSpec,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
  };
}

function mapApiKey(row: Row): ApiKeyRecord {
  return {
    uuid: String(row.uuid),
    name: String(row.name),
    scope: row.scope as ApiKeyRecord['scope'],
    prefix: String(row.prefix),
    key_hash: String(row.key_hash),
    run_environment_uuid: (row.run_environment_uuid ?? null) as string | null,
    may_create_passive_tasks: num(row.may_create_passive_tasks ?? 0) === 1,
    created_at: num(row.created_at),
    last_used_at: numOrNull(row.last_used_at),
    revoked_at: numOrNull(row.revoked_at),
  };
}

function mapInstance(row: Row): ServerInstanceRecord {
  return {
    id: String(row.id),
    hostname: String(row.hostname),
    pid: num(row.pid),
    started_at: num(row.started_at),
    heartbeat_at: num(row.heartbeat_at),
  };
}

/** Is this a unique-constraint violation (SQLite or PostgreSQL)? */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * The Store over any SqlDriver: portable SQL (`?` placeholders, `ON CONFLICT`, `RETURNING`),
 * with row locks added on PostgreSQL where several servers compete.
 */
export class SqlStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly workflows: SqlWorkflowStore;
  readonly services: SqlServiceStore;
  readonly summaries: SqlSummaryStore;
  readonly notifications: SqlNotificationStore;

  constructor(
    private readonly db: SqlExecutor,
    private readonly driver: SqlDriver | null,
  ) {
    this.dialect = db.dialect;
    this.workflows = new SqlWorkflowStore(db, mapExecution);
    this.services = new SqlServiceStore(db);
    this.summaries = new SqlSummaryStore(db);
    this.notifications = new SqlNotificationStore(db, mapEvent);
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    // Already inside a transaction: join it.
    if (!this.driver) return fn(this);
    return this.driver.transaction((tx) => fn(new SqlStore(tx, null)));
  }

  private lockClause(tables?: string): string {
    if (this.dialect !== 'postgres') return '';
    return tables ? ` FOR UPDATE OF ${tables} SKIP LOCKED` : ' FOR UPDATE SKIP LOCKED';
  }

  // ---- run environments ----

  async upsertRunEnvironment(spec: RunEnvironmentSpec, now: number) {
    const existing = await this.getRunEnvironmentByName(spec.name);
    if (existing) {
      const rows = await this.db.query(
        'UPDATE run_environments SET kind = ?, spec = ?, updated_at = ? WHERE uuid = ? RETURNING *',
        [spec.kind, JSON.stringify(spec), now, existing.uuid],
      );
      return { record: mapRunEnvironment(rows[0]!), created: false };
    }
    const rows = await this.db.query(
      'INSERT INTO run_environments (uuid, name, kind, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
      [randomUUID(), spec.name, spec.kind, JSON.stringify(spec), now, now],
    );
    return { record: mapRunEnvironment(rows[0]!), created: true };
  }

  private async getRunEnvironmentByName(name: string): Promise<RunEnvironmentRecord | null> {
    const rows = await this.db.query('SELECT * FROM run_environments WHERE name = ?', [name]);
    return rows[0] ? mapRunEnvironment(rows[0]) : null;
  }

  async getRunEnvironment(uuidOrName: string) {
    if (looksLikeUuid(uuidOrName)) {
      const rows = await this.db.query('SELECT * FROM run_environments WHERE uuid = ?', [uuidOrName.toLowerCase()]);
      if (rows[0]) return mapRunEnvironment(rows[0]);
    }
    return this.getRunEnvironmentByName(uuidOrName);
  }

  async listRunEnvironments(page: { limit: number; offset: number }) {
    const rows = await this.db.query('SELECT * FROM run_environments ORDER BY name LIMIT ? OFFSET ?', [
      page.limit,
      page.offset,
    ]);
    const [count] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM run_environments');
    return { items: rows.map(mapRunEnvironment), total: num(count?.n ?? 0) };
  }

  async deleteRunEnvironment(uuid: string) {
    return this.transaction(async (tx) => {
      const db = (tx as SqlStore).db;
      // Revoked keys are history; they must not keep their Run Environment alive.
      await db.run('DELETE FROM api_keys WHERE run_environment_uuid = ? AND revoked_at IS NOT NULL', [uuid]);
      return (await db.run('DELETE FROM run_environments WHERE uuid = ?', [uuid])) > 0;
    });
  }

  async countTasksInRunEnvironment(uuid: string) {
    const [row] = await this.db.query<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM tasks WHERE run_environment_uuid = ?) + (SELECT COUNT(*) FROM api_keys WHERE run_environment_uuid = ? AND revoked_at IS NULL) AS n`,
      [uuid, uuid],
    );
    return num(row?.n ?? 0);
  }

  // ---- tasks ----

  async upsertTask(spec: TaskSpec, runEnvironmentUuid: string, now: number) {
    const existing = await this.db.query('SELECT uuid FROM tasks WHERE name = ?', [spec.name]);
    const values: SqlValue[] = [
      runEnvironmentUuid,
      spec.enabled ? 1 : 0,
      spec.passive ? 1 : 0,
      spec.max_concurrency,
      JSON.stringify(spec),
      now,
    ];
    if (existing[0]) {
      const rows = await this.db.query(
        'UPDATE tasks SET run_environment_uuid = ?, enabled = ?, passive = ?, max_concurrency = ?, spec = ?, updated_at = ? WHERE uuid = ? RETURNING *',
        [...values, String(existing[0].uuid)],
      );
      const record = mapTask(rows[0]!);
      await this.syncTaskSchedule(record, now);
      return { record, created: false };
    }
    const rows = await this.db.query(
      'INSERT INTO tasks (run_environment_uuid, enabled, passive, max_concurrency, spec, updated_at, uuid, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
      [...values, randomUUID(), spec.name, now],
    );
    const record = mapTask(rows[0]!);
    await this.syncTaskSchedule(record, now);
    return { record, created: true };
  }

  async createTaskIfAbsent(spec: TaskSpec, runEnvironmentUuid: string, now: number) {
    // ON CONFLICT DO NOTHING: a concurrent creator of the same name waits for the first to
    // commit (PostgreSQL) and then inserts nothing; both then read the one row.
    const rows = await this.db.query(
      `INSERT INTO tasks (uuid, name, run_environment_uuid, enabled, passive, max_concurrency, spec, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *`,
      [
        randomUUID(),
        spec.name,
        runEnvironmentUuid,
        spec.enabled ? 1 : 0,
        spec.passive ? 1 : 0,
        spec.max_concurrency,
        JSON.stringify(spec),
        now,
        now,
      ],
    );
    if (rows[0]) {
      const record = mapTask(rows[0]);
      await this.syncTaskSchedule(record, now);
      return { record, created: true };
    }
    const existing = await this.db.query('SELECT * FROM tasks WHERE name = ?', [spec.name]);
    if (!existing[0]) throw new Error(`createTaskIfAbsent: Task "${spec.name}" neither inserted nor found`);
    return { record: mapTask(existing[0]), created: false };
  }

  async getTask(uuidOrName: string) {
    if (looksLikeUuid(uuidOrName)) {
      const rows = await this.db.query('SELECT * FROM tasks WHERE uuid = ?', [uuidOrName.toLowerCase()]);
      if (rows[0]) return mapTask(rows[0]);
    }
    const rows = await this.db.query('SELECT * FROM tasks WHERE name = ?', [uuidOrName]);
    return rows[0] ? mapTask(rows[0]) : null;
  }

  async getTasks(uuids: readonly string[]) {
    const out = new Map<string, TaskRecord>();
    const unique = [...new Set(uuids)];
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const rows = await this.db.query(`SELECT * FROM tasks WHERE uuid IN (${placeholders(chunk.length)})`, chunk);
      for (const row of rows) {
        const task = mapTask(row);
        out.set(task.uuid, task);
      }
    }
    return out;
  }

  async listTasks(filter: TaskFilter) {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.run_environment_uuid) {
      where.push('run_environment_uuid = ?');
      params.push(filter.run_environment_uuid);
    }
    if (filter.search) {
      where.push("LOWER(name) LIKE ? ESCAPE '\\'");
      params.push(`%${filter.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (filter.enabled !== undefined) {
      where.push('enabled = ?');
      params.push(filter.enabled ? 1 : 0);
    }
    if (filter.passive !== undefined) {
      where.push('passive = ?');
      params.push(filter.passive ? 1 : 0);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.query(`SELECT * FROM tasks ${clause} ORDER BY name LIMIT ? OFFSET ?`, [
      ...params,
      filter.limit,
      filter.offset,
    ]);
    const [count] = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks ${clause}`, params);
    return { items: rows.map(mapTask), total: num(count?.n ?? 0) };
  }

  async deleteTask(uuid: string) {
    await this.db.run("DELETE FROM schedules WHERE target_kind = 'task' AND target_uuid = ?", [uuid]);
    return (await this.db.run('DELETE FROM tasks WHERE uuid = ?', [uuid])) > 0;
  }

  /**
   * The scheduler starts non-passive, enabled Tasks with a schedule; others have no row. Nor do
   * Tasks whose Run Environment keeps schedules as EventBridge rules (EventBridge fires those).
   */
  private async syncTaskSchedule(task: TaskRecord, now: number): Promise<void> {
    const s = task.spec;
    let expression = !s.passive && s.enabled && typeof s.schedule === 'string' ? s.schedule : null;
    if (expression !== null) {
      const env = await this.getRunEnvironment(task.run_environment_uuid);
      if (env && schedulesInEventBridge(env.spec)) expression = null;
    }
    return syncSchedule(this.db, 'task', task.uuid, expression, now);
  }

  // ---- executions ----

  async createExecution(e: NewExecution) {
    const rows = await this.db.query(
      `INSERT INTO task_executions (uuid, task_uuid, run_environment_uuid, status, run_reason, max_attempts,
        environment_overrides, input_value, created_at, updated_at, started_at, owner_instance, executor_kind,
        attempt, wrapper)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        e.uuid,
        e.task_uuid,
        e.run_environment_uuid,
        e.status,
        e.run_reason,
        e.max_attempts,
        JSON.stringify(e.environment_overrides),
        toJson(e.input_value),
        e.created_at,
        e.created_at,
        e.started_at ?? null,
        e.owner_instance ?? null,
        e.executor_kind ?? null,
        e.attempt ?? 0,
        toJson(e.wrapper ?? null),
      ],
    );
    return mapExecution(rows[0]!);
  }

  async getExecution(uuid: string) {
    if (!looksLikeUuid(uuid)) return null;
    const rows = await this.db.query('SELECT * FROM task_executions WHERE uuid = ?', [uuid.toLowerCase()]);
    return rows[0] ? mapExecution(rows[0]) : null;
  }

  async listExecutions(filter: ExecutionFilter): Promise<Page<ExecutionRecord>> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.task_uuid) {
      where.push('task_uuid = ?');
      params.push(filter.task_uuid);
    }
    if (filter.run_environment_uuid) {
      where.push('run_environment_uuid = ?');
      params.push(filter.run_environment_uuid);
    }
    if (filter.statuses && filter.statuses.length > 0) {
      where.push(`status IN (${placeholders(filter.statuses.length)})`);
      params.push(...filter.statuses);
    }
    if (filter.created_after !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.created_after);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.query(
      `SELECT * FROM task_executions ${clause} ORDER BY created_at DESC, uuid DESC LIMIT ? OFFSET ?`,
      [...params, filter.limit, filter.offset],
    );
    const [count] = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM task_executions ${clause}`, params);
    return { items: rows.map(mapExecution), total: num(count?.n ?? 0) };
  }

  async lockTask(uuid: string) {
    if (this.dialect === 'postgres') await this.db.query('SELECT uuid FROM tasks WHERE uuid = ? FOR NO KEY UPDATE', [uuid]);
  }

  async countExecutions(taskUuid: string, statuses: readonly ExecutionStatus[]) {
    const [row] = await this.db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM task_executions WHERE task_uuid = ? AND status IN (${placeholders(statuses.length)})`,
      [taskUuid, ...statuses],
    );
    return num(row?.n ?? 0);
  }

  private buildUpdate(uuid: string, patch: ExecutionPatch, guard: ExecutionGuard): { sql: string; params: SqlValue[] } | null {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof ExecutionPatch, unknown][]) {
      if (value === undefined) continue;
      if (!PATCHABLE.has(key)) throw new Error(`updateExecution: "${key}" cannot be patched`);
      sets.push(`${key} = ?`);
      params.push(JSON_COLUMNS.has(key) ? toJson(value) : (value as SqlValue));
    }
    if (patch.updated_at === undefined) {
      sets.push('updated_at = ?');
      params.push(Date.now());
    }
    const where = ['uuid = ?'];
    params.push(uuid);
    if (guard.statuses) {
      if (guard.statuses.length === 0) return null;
      where.push(`status IN (${placeholders(guard.statuses.length)})`);
      params.push(...guard.statuses);
    }
    if (guard.owner_instance !== undefined) {
      if (guard.owner_instance === null) where.push('owner_instance IS NULL');
      else {
        where.push('owner_instance = ?');
        params.push(guard.owner_instance);
      }
    }
    return { sql: `UPDATE task_executions SET ${sets.join(', ')} WHERE ${where.join(' AND ')}`, params };
  }

  async updateExecution(uuid: string, patch: ExecutionPatch, guard: ExecutionGuard = {}) {
    const update = this.buildUpdate(uuid, patch, guard);
    if (!update) return null;
    const rows = await this.db.query(`${update.sql} RETURNING *`, update.params);
    return rows[0] ? mapExecution(rows[0]) : null;
  }

  async updateExecutionIf(uuid: string, patch: ExecutionPatch, guard: ExecutionGuard = {}) {
    const update = this.buildUpdate(uuid, patch, guard);
    if (!update) return false;
    return (await this.db.run(update.sql, update.params)) > 0;
  }

  async claimQueued(options: ClaimOptions): Promise<ExecutionRecord[]> {
    if (options.executorKinds.length === 0 || options.limit <= 0) return [];
    return this.transaction(async (tx) => (tx as SqlStore).claimInTransaction(options));
  }

  private async claimInTransaction(options: ClaimOptions): Promise<ExecutionRecord[]> {
    const active = ACTIVE_STATUSES;
    const candidates = await this.db.query<{ uuid: string; task_uuid: string; attempt: number; max_concurrency: number | null }>(
      `SELECT e.uuid, e.task_uuid, e.attempt, t.max_concurrency
         FROM task_executions e JOIN tasks t ON t.uuid = e.task_uuid
        WHERE e.status = 'QUEUED'
          AND (e.launch_after IS NULL OR e.launch_after <= ?)
          AND e.executor_kind IN (${placeholders(options.executorKinds.length)})
          AND (t.max_concurrency IS NULL OR
               (SELECT COUNT(*) FROM task_executions a
                 WHERE a.task_uuid = e.task_uuid AND a.status IN (${placeholders(active.length)})) < t.max_concurrency)
        ORDER BY e.created_at, e.uuid
        LIMIT ?${this.lockClause('e')}`,
      [options.now, ...options.executorKinds, ...active, options.limit],
    );
    if (candidates.length === 0) return [];

    // Tasks with a concurrency limit: take the Task row's lock (in a fixed order, so two servers
    // cannot deadlock), then count again; the count now sees every claim committed before ours.
    const chosen: typeof candidates = [];
    const limited = new Map<string, typeof candidates>();
    for (const c of candidates) {
      if (c.max_concurrency === null) chosen.push(c);
      else limited.set(c.task_uuid, [...(limited.get(c.task_uuid) ?? []), c]);
    }
    for (const taskUuid of [...limited.keys()].sort()) {
      await this.lockTask(taskUuid);
      const group = limited.get(taskUuid)!;
      const running = await this.countExecutions(taskUuid, active);
      const free = Math.max(0, num(group[0]!.max_concurrency) - running);
      chosen.push(...group.slice(0, free));
    }

    const claimed: ExecutionRecord[] = [];
    for (const c of chosen) {
      const attempt = num(c.attempt) + 1;
      const rows = await this.db.query(
        `UPDATE task_executions
            SET status = 'MANUALLY_STARTED', attempt = ?, launch_token = ?, owner_instance = ?,
                launch_after = NULL, executor_handle = NULL, stop_sent_at = NULL, updated_at = ?, launched_at = ?
          WHERE uuid = ? AND status = 'QUEUED' RETURNING *`,
        [attempt, `${c.uuid}-${attempt}`, options.instanceId, options.now, options.now, c.uuid],
      );
      if (rows[0]) claimed.push(mapExecution(rows[0]));
    }
    return claimed;
  }

  async listOwnedExecutions(instanceId: string, statuses: readonly ExecutionStatus[], limit: number, afterUuid?: string) {
    const rows = await this.db.query(
      `SELECT * FROM task_executions
        WHERE owner_instance = ? AND status IN (${placeholders(statuses.length)}) AND uuid > ?
        ORDER BY uuid LIMIT ?`,
      [instanceId, ...statuses, afterUuid ?? '', limit],
    );
    return rows.map(mapExecution);
  }

  async listObservedExecutions(instanceId: string, statuses: readonly ExecutionStatus[], limit: number, afterUuid?: string) {
    const rows = await this.db.query(
      `SELECT uuid, task_uuid, status, executor_kind, executor_handle, started_at, stop_reason, stop_sent_at, task_overrides
         FROM task_executions
        WHERE owner_instance = ? AND status IN (${placeholders(statuses.length)}) AND executor_handle IS NOT NULL AND uuid > ?
        ORDER BY uuid LIMIT ?`,
      [instanceId, ...statuses, afterUuid ?? '', limit],
    );
    return rows.map(mapObserved);
  }

  async listObservedExecutionsByUuid(instanceId: string, statuses: readonly ExecutionStatus[], uuids: readonly string[]) {
    const out: ObservedExecution[] = [];
    for (let i = 0; i < uuids.length; i += 500) {
      const chunk = uuids.slice(i, i + 500);
      const rows = await this.db.query(
        `SELECT uuid, task_uuid, status, executor_kind, executor_handle, started_at, stop_reason, stop_sent_at, task_overrides
           FROM task_executions
          WHERE uuid IN (${placeholders(chunk.length)}) AND owner_instance = ?
            AND status IN (${placeholders(statuses.length)}) AND executor_handle IS NOT NULL`,
        [...chunk, instanceId, ...statuses],
      );
      out.push(...rows.map(mapObserved));
    }
    return out;
  }

  async listUnlaunchedExecutions(instanceId: string, limit: number) {
    const rows = await this.db.query(
      `SELECT * FROM task_executions
        WHERE owner_instance = ? AND status IN ('MANUALLY_STARTED', 'STOPPING') AND executor_handle IS NULL
        ORDER BY uuid LIMIT ?`,
      [instanceId, limit],
    );
    return rows.map(mapExecution);
  }

  async adoptExecutions(from: string, to: string) {
    return this.db.run(
      `UPDATE task_executions SET owner_instance = ? WHERE owner_instance = ? AND status IN (${placeholders(NON_TERMINAL.length)})`,
      [to, from, ...NON_TERMINAL],
    );
  }

  // ---- server instances ----

  async registerInstance(i: ServerInstanceRecord) {
    await this.db.run(
      'INSERT INTO server_instances (id, hostname, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)',
      [i.id, i.hostname, i.pid, i.started_at, i.heartbeat_at],
    );
  }

  async heartbeatInstance(id: string, now: number) {
    return (await this.db.run('UPDATE server_instances SET heartbeat_at = ? WHERE id = ?', [now, id])) > 0;
  }

  async listInstances() {
    return (await this.db.query('SELECT * FROM server_instances ORDER BY started_at')).map(mapInstance);
  }

  async deleteInstance(id: string) {
    await this.db.run('DELETE FROM server_instances WHERE id = ?', [id]);
  }

  async listOrphanOwners() {
    const rows = await this.db.query<{ owner_instance: string }>(
      `SELECT DISTINCT owner_instance FROM task_executions
        WHERE owner_instance IS NOT NULL AND status IN (${placeholders(NON_TERMINAL.length)})
          AND owner_instance NOT IN (SELECT id FROM server_instances)`,
      [...NON_TERMINAL],
    );
    return rows.map((r) => String(r.owner_instance));
  }

  // ---- task definition revisions ----

  async getDefinitionRevision(runEnvironmentUuid: string, family: string, hash: string) {
    const rows = await this.db.query(
      'SELECT * FROM task_definition_revisions WHERE run_environment_uuid = ? AND family = ? AND hash = ?',
      [runEnvironmentUuid, family, hash],
    );
    const row = rows[0];
    return row
      ? {
          run_environment_uuid: String(row.run_environment_uuid),
          family: String(row.family),
          hash: String(row.hash),
          arn: String(row.arn),
          revision: num(row.revision),
          registered_at: num(row.registered_at),
        }
      : null;
  }

  async putDefinitionRevision(r: DefinitionRevisionRecord) {
    await this.db.run(
      `INSERT INTO task_definition_revisions (run_environment_uuid, family, hash, arn, revision, registered_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_environment_uuid, family, hash) DO UPDATE SET arn = excluded.arn, revision = excluded.revision, registered_at = excluded.registered_at`,
      [r.run_environment_uuid, r.family, r.hash, r.arn, r.revision, r.registered_at],
    );
  }

  async deleteDefinitionRevision(arn: string) {
    await this.db.run('DELETE FROM task_definition_revisions WHERE arn = ?', [arn]);
  }

  async listDefinitionArnsInUse(runEnvironmentUuid: string) {
    const rows = await this.db.query<{ executor_handle: string }>(
      `SELECT executor_handle FROM task_executions
        WHERE run_environment_uuid = ? AND executor_handle IS NOT NULL AND status IN (${placeholders(NON_TERMINAL.length)})`,
      [runEnvironmentUuid, ...NON_TERMINAL],
    );
    const arns = new Set<string>();
    for (const row of rows) {
      const handle = JSON.parse(String(row.executor_handle)) as { task_definition_arn?: unknown };
      if (typeof handle.task_definition_arn === 'string') arns.add(handle.task_definition_arn);
    }
    return [...arns];
  }

  // ---- API keys ----

  async createApiKey(k: ApiKeyRecord) {
    await this.db.run(
      `INSERT INTO api_keys (uuid, name, scope, prefix, key_hash, run_environment_uuid, created_at, last_used_at, revoked_at,
        may_create_passive_tasks)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        k.uuid,
        k.name,
        k.scope,
        k.prefix,
        k.key_hash,
        k.run_environment_uuid,
        k.created_at,
        k.last_used_at,
        k.revoked_at,
        k.may_create_passive_tasks ? 1 : 0,
      ],
    );
  }

  async findApiKeyByHash(hash: string) {
    const rows = await this.db.query('SELECT * FROM api_keys WHERE key_hash = ?', [hash]);
    return rows[0] ? mapApiKey(rows[0]) : null;
  }

  async getApiKey(uuidOrPrefix: string) {
    const rows = looksLikeUuid(uuidOrPrefix)
      ? await this.db.query('SELECT * FROM api_keys WHERE uuid = ?', [uuidOrPrefix.toLowerCase()])
      : await this.db.query('SELECT * FROM api_keys WHERE prefix = ? OR name = ?', [uuidOrPrefix, uuidOrPrefix]);
    return rows[0] ? mapApiKey(rows[0]) : null;
  }

  async listApiKeys() {
    return (await this.db.query('SELECT * FROM api_keys ORDER BY created_at')).map(mapApiKey);
  }

  async revokeApiKey(uuid: string, now: number) {
    return (await this.db.run('UPDATE api_keys SET revoked_at = ? WHERE uuid = ? AND revoked_at IS NULL', [now, uuid])) > 0;
  }

  async touchApiKey(uuid: string, now: number) {
    await this.db.run('UPDATE api_keys SET last_used_at = ? WHERE uuid = ?', [now, uuid]);
  }

  async countApiKeys() {
    const [row] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys');
    return num(row?.n ?? 0);
  }

  // ---- liveness and events ----

  async listTaskUuidsWithExecutionsIn(statuses: readonly ExecutionStatus[]) {
    if (statuses.length === 0) return [];
    const rows = await this.db.query<{ task_uuid: string }>(
      `SELECT DISTINCT task_uuid FROM task_executions WHERE status IN (${placeholders(statuses.length)})`,
      [...statuses],
    );
    return rows.map((r) => String(r.task_uuid));
  }

  /** Runs one query per chunk of cutoffs (`(task_uuid = ? AND <time> < ?) OR …`), up to `limit` rows in all. */
  private async listByCutoffs(
    cutoffs: readonly TaskCutoff[],
    statuses: readonly ExecutionStatus[],
    timeSql: string,
    limit: number,
  ): Promise<(ExecutionRecord & { launched_at: number | null })[]> {
    const out: (ExecutionRecord & { launched_at: number | null })[] = [];
    if (statuses.length === 0) return out;
    for (let i = 0; i < cutoffs.length && out.length < limit; i += CUTOFF_CHUNK) {
      const chunk = cutoffs.slice(i, i + CUTOFF_CHUNK);
      const rows = await this.db.query(
        `SELECT * FROM task_executions
          WHERE status IN (${placeholders(statuses.length)})
            AND (${chunk.map(() => `(task_uuid = ? AND ${timeSql} < ?)`).join(' OR ')})
          ORDER BY ${timeSql}, uuid LIMIT ?`,
        [...statuses, ...chunk.flatMap((c) => [c.task_uuid, c.before]), limit - out.length],
      );
      out.push(...rows.map((row) => ({ ...mapExecution(row), launched_at: numOrNull(row.launched_at) })));
    }
    return out;
  }

  async listSilentExecutions(cutoffs: readonly TaskCutoff[], statuses: readonly ExecutionStatus[], limit: number) {
    return this.listByCutoffs(cutoffs, statuses, LAST_SIGN_OF_LIFE_SQL, limit);
  }

  async listUnstartedExecutions(cutoffs: readonly TaskCutoff[], limit: number) {
    return this.listByCutoffs(cutoffs, ['MANUALLY_STARTED'], 'COALESCE(launched_at, created_at)', limit);
  }

  async listScheduledPassiveTasks() {
    const out: TaskRecord[] = [];
    let after = '';
    for (;;) {
      // The LIKE is a cheap pre-filter on the spec's JSON; the parsed spec decides.
      const rows = await this.db.query(
        `SELECT * FROM tasks WHERE passive = 1 AND enabled = 1 AND spec LIKE ? AND uuid > ? ORDER BY uuid LIMIT ?`,
        ['%"schedule":"%', after, 500],
      );
      for (const row of rows) {
        const task = mapTask(row);
        if (typeof task.spec.schedule === 'string') out.push(task);
      }
      if (rows.length < 500) return out;
      after = String(rows[rows.length - 1]!.uuid);
    }
  }

  async latestExecutionCreatedAt(taskUuid: string) {
    const [row] = await this.db.query<{ t: unknown }>('SELECT MAX(created_at) AS t FROM task_executions WHERE task_uuid = ?', [taskUuid]);
    return numOrNull(row?.t);
  }

  async hasExecutionCreatedBetween(taskUuid: string, from: number, to: number) {
    const rows = await this.db.query(
      'SELECT 1 AS found FROM task_executions WHERE task_uuid = ? AND created_at >= ? AND created_at <= ? LIMIT 1',
      [taskUuid, from, to],
    );
    return rows.length > 0;
  }

  async recordEvent(e: EventRecord) {
    const inserted = await this.db.run(
      `INSERT INTO events (uuid, type, severity, message, task_uuid, task_name, execution_uuid, details, dedupe_key, created_at,
                           grouping_key, workflow_uuid, workflow_name, workflow_execution_uuid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      [
        e.uuid,
        e.type,
        e.severity,
        e.message,
        e.task_uuid,
        e.task_name,
        e.execution_uuid,
        JSON.stringify(e.details),
        e.dedupe_key,
        e.created_at,
        e.grouping_key === undefined ? (EVENT_DEFAULTS[e.type]?.grouping_key ?? null) : e.grouping_key,
        e.workflow_uuid ?? null,
        e.workflow_name ?? null,
        e.workflow_execution_uuid ?? null,
      ],
    );
    return inserted > 0;
  }

  async listEvents(filter: EventFilter): Promise<Page<EventRecord>> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.types && filter.types.length > 0) {
      where.push(`type IN (${placeholders(filter.types.length)})`);
      params.push(...filter.types);
    }
    if (filter.task_uuid) {
      where.push('task_uuid = ?');
      params.push(filter.task_uuid);
    }
    if (filter.execution_uuid) {
      where.push('execution_uuid = ?');
      params.push(filter.execution_uuid);
    }
    if (filter.created_after !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.created_after);
    }
    if (filter.created_before !== undefined) {
      where.push('created_at < ?');
      params.push(filter.created_before);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.query(`SELECT * FROM events ${clause} ORDER BY created_at DESC, uuid DESC LIMIT ? OFFSET ?`, [
      ...params,
      filter.limit,
      filter.offset,
    ]);
    const [count] = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM events ${clause}`, params);
    return { items: rows.map(mapEvent), total: num(count?.n ?? 0) };
  }

  // ---- scheduler ----

  async listDueSchedules(now: number, limit: number) {
    const rows = await this.db.query(
      'SELECT * FROM schedules WHERE next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY next_fire_at LIMIT ?',
      [now, limit],
    );
    return rows.map(mapScheduleState);
  }

  async nextScheduleFireAt() {
    const [row] = await this.db.query<{ t: unknown }>('SELECT MIN(next_fire_at) AS t FROM schedules');
    return numOrNull(row?.t);
  }

  async advanceSchedule(expected: ScheduleStateRecord, nextFireAt: number | null, now: number) {
    const where = [expected.target_kind, expected.target_uuid, expected.expression, expected.next_fire_at];
    if (this.dialect === 'postgres') {
      // A row another server is deciding right now is its fire: move on instead of waiting for
      // its commit (the UPDATE below would wait, then match nothing).
      const free = await this.db.query(
        `SELECT 1 AS free FROM schedules WHERE target_kind = ? AND target_uuid = ? AND expression = ? AND next_fire_at = ?${this.lockClause()}`,
        where,
      );
      if (free.length === 0) return false;
    }
    const changed = await this.db.run(
      'UPDATE schedules SET next_fire_at = ?, updated_at = ? WHERE target_kind = ? AND target_uuid = ? AND expression = ? AND next_fire_at = ?',
      [nextFireAt, now, ...where],
    );
    return changed > 0;
  }

  async deleteSchedule(kind: ScheduleTargetKind, uuid: string) {
    await this.db.run('DELETE FROM schedules WHERE target_kind = ? AND target_uuid = ?', [kind, uuid]);
  }

  async listUnsyncedScheduleTargets(limit: number) {
    const out: { kind: ScheduleTargetKind; uuid: string; expression: string }[] = [];
    // The LIKE is a cheap pre-filter on the spec's JSON; the parsed spec decides.
    const tasks = await this.db.query(
      `SELECT t.*, r.spec AS run_environment_spec FROM tasks t
       JOIN run_environments r ON r.uuid = t.run_environment_uuid
       LEFT JOIN schedules s ON s.target_kind = 'task' AND s.target_uuid = t.uuid
       WHERE t.passive = 0 AND t.enabled = 1 AND t.spec LIKE ? AND s.target_uuid IS NULL AND r.spec NOT LIKE ? LIMIT ?`,
      ['%"schedule":"%', '%"schedules":"eventbridge"%', limit],
    );
    for (const row of tasks) {
      const task = mapTask(row);
      // EventBridge fires the schedules of these (the LIKE above is the cheap filter).
      if (schedulesInEventBridge(JSON.parse(String(row.run_environment_spec)))) continue;
      if (typeof task.spec.schedule === 'string') out.push({ kind: 'task', uuid: task.uuid, expression: task.spec.schedule });
    }
    const workflows = await this.db.query(
      `SELECT w.uuid, w.spec FROM workflows w LEFT JOIN schedules s ON s.target_kind = 'workflow' AND s.target_uuid = w.uuid
       WHERE w.spec LIKE ? AND s.target_uuid IS NULL LIMIT ?`,
      ['%"schedule":"%', limit],
    );
    for (const row of workflows) {
      const spec = JSON.parse(String(row.spec)) as { schedule?: unknown };
      if (typeof spec.schedule === 'string') out.push({ kind: 'workflow', uuid: String(row.uuid), expression: spec.schedule });
    }
    return out;
  }

  syncSchedule(kind: ScheduleTargetKind, uuid: string, expression: string | null, now: number) {
    return syncSchedule(this.db, kind, uuid, expression, now);
  }

  async recordScheduleFire(f: ScheduleFireRecord) {
    await this.db.run(
      `INSERT INTO schedule_fires (target_kind, target_uuid, fire_at, outcome, execution_uuid, covered, decided_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [f.target_kind, f.target_uuid, f.fire_at, f.outcome, f.execution_uuid, f.covered, f.decided_by, f.created_at],
    );
  }

  async listScheduleFires(filter: { target_uuid?: string; since?: number; limit: number }) {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.target_uuid) {
      where.push('target_uuid = ?');
      params.push(filter.target_uuid);
    }
    if (filter.since !== undefined) {
      where.push('fire_at >= ?');
      params.push(filter.since);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.query(`SELECT * FROM schedule_fires ${clause} ORDER BY fire_at, target_uuid LIMIT ?`, [...params, filter.limit]);
    return rows.map(mapScheduleFire);
  }

  async close() {
    await this.driver?.close();
  }
}
