import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { looksLikeUuid } from '../domain/common.js';
import type { WorkflowSpec } from '../domain/workflow.js';
import type { Row, SqlExecutor, SqlValue } from './sql-driver.js';
import { fromJson, numOrNull, placeholders } from './sql-values.js';
import { syncSchedule } from './sql-schedules.js';
import type { ExecutionRecord, Page } from './store.js';
import type {
  NewWorkflowExecution,
  WorkflowExecutionFilter,
  WorkflowExecutionPatch,
  WorkflowExecutionRecord,
  WorkflowRecord,
  WorkflowRunRecord,
  WorkflowStore,
} from './workflow-store.js';

const ACTIVE = ['RUNNING', 'STOPPING'];
const JSON_PATCH_COLUMNS = new Set<keyof WorkflowExecutionPatch>(['failure', 'start_failures']);
const PATCHABLE = new Set<keyof WorkflowExecutionPatch>([
  'status',
  'stop_reason',
  'failure',
  'start_failures',
  'attempt',
  'attempt_started_at',
  'finished_at',
  'stop_requested_at',
  'updated_at',
]);

function mapWorkflow(row: Row): WorkflowRecord {
  return {
    uuid: String(row.uuid),
    name: String(row.name),
    version: Number(row.version),
    spec: JSON.parse(String(row.spec)) as WorkflowSpec,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

function mapWorkflowExecution(row: Row): WorkflowExecutionRecord {
  return {
    uuid: String(row.uuid),
    workflow_uuid: String(row.workflow_uuid),
    workflow_version: Number(row.workflow_version),
    spec: JSON.parse(String(row.spec)) as WorkflowSpec,
    status: row.status as WorkflowExecutionRecord['status'],
    run_reason: row.run_reason as WorkflowExecutionRecord['run_reason'],
    stop_reason: (row.stop_reason ?? null) as WorkflowExecutionRecord['stop_reason'],
    failure: fromJson(row.failure, null),
    start_failures: fromJson(row.start_failures, {}),
    environment: fromJson(row.environment, {}),
    attempt: Number(row.attempt),
    revision: Number(row.revision),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    started_at: Number(row.started_at),
    attempt_started_at: Number(row.attempt_started_at),
    finished_at: numOrNull(row.finished_at),
    stop_requested_at: numOrNull(row.stop_requested_at),
  };
}

/**
 * The Workflow tables over any SqlDriver, in the same portable SQL as `SqlStore` (which owns one
 * bound to the same connection or transaction). `mapExecution` is the store's own row mapping of
 * task_executions, so runs come back with complete Task Executions.
 */
export class SqlWorkflowStore implements WorkflowStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly mapExecution: (row: Row) => ExecutionRecord,
  ) {}

  async upsertWorkflow(spec: WorkflowSpec, now: number) {
    const existing = await this.getWorkflowByName(spec.name);
    if (existing) {
      if (isDeepStrictEqual(existing.spec, JSON.parse(JSON.stringify(spec)))) return { record: existing, created: false, changed: false };
      const rows = await this.db.query(
        'UPDATE workflows SET spec = ?, version = version + 1, updated_at = ? WHERE uuid = ? RETURNING *',
        [JSON.stringify(spec), now, existing.uuid],
      );
      await syncSchedule(this.db, 'workflow', existing.uuid, spec.schedule ?? null, now);
      return { record: mapWorkflow(rows[0]!), created: false, changed: true };
    }
    const rows = await this.db.query(
      'INSERT INTO workflows (uuid, name, version, spec, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?) RETURNING *',
      [randomUUID(), spec.name, JSON.stringify(spec), now, now],
    );
    const record = mapWorkflow(rows[0]!);
    await syncSchedule(this.db, 'workflow', record.uuid, spec.schedule ?? null, now);
    return { record, created: true, changed: true };
  }

  private async getWorkflowByName(name: string): Promise<WorkflowRecord | null> {
    const rows = await this.db.query('SELECT * FROM workflows WHERE name = ?', [name]);
    return rows[0] ? mapWorkflow(rows[0]) : null;
  }

  async getWorkflow(uuidOrName: string) {
    if (looksLikeUuid(uuidOrName)) {
      const rows = await this.db.query('SELECT * FROM workflows WHERE uuid = ?', [uuidOrName.toLowerCase()]);
      if (rows[0]) return mapWorkflow(rows[0]);
    }
    return this.getWorkflowByName(uuidOrName);
  }

  async getWorkflows(uuids: readonly string[]) {
    const out = new Map<string, WorkflowRecord>();
    const unique = [...new Set(uuids)];
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      for (const row of await this.db.query(`SELECT * FROM workflows WHERE uuid IN (${placeholders(chunk.length)})`, chunk)) {
        const record = mapWorkflow(row);
        out.set(record.uuid, record);
      }
    }
    return out;
  }

  async listWorkflows(filter: { search?: string; limit: number; offset: number }): Promise<Page<WorkflowRecord>> {
    const params: SqlValue[] = [];
    let clause = '';
    if (filter.search) {
      clause = "WHERE LOWER(name) LIKE ? ESCAPE '\\'";
      params.push(`%${filter.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const rows = await this.db.query(`SELECT * FROM workflows ${clause} ORDER BY name LIMIT ? OFFSET ?`, [...params, filter.limit, filter.offset]);
    const [count] = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM workflows ${clause}`, params);
    return { items: rows.map(mapWorkflow), total: Number(count?.n ?? 0) };
  }

  async deleteWorkflow(uuid: string) {
    // Explicit rather than through ON DELETE CASCADE, so it does not depend on SQLite's
    // foreign_keys pragma being on.
    await this.db.run(
      'DELETE FROM workflow_task_executions WHERE workflow_execution_uuid IN (SELECT uuid FROM workflow_executions WHERE workflow_uuid = ?)',
      [uuid],
    );
    await this.db.run('DELETE FROM workflow_executions WHERE workflow_uuid = ?', [uuid]);
    await this.db.run("DELETE FROM schedules WHERE target_kind = 'workflow' AND target_uuid = ?", [uuid]);
    return (await this.db.run('DELETE FROM workflows WHERE uuid = ?', [uuid])) > 0;
  }

  async createWorkflowExecution(e: NewWorkflowExecution) {
    const rows = await this.db.query(
      `INSERT INTO workflow_executions (uuid, workflow_uuid, workflow_version, spec, status, run_reason, environment, attempt,
         created_at, updated_at, started_at, attempt_started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        e.uuid,
        e.workflow_uuid,
        e.workflow_version,
        JSON.stringify(e.spec),
        e.status,
        e.run_reason,
        JSON.stringify(e.environment),
        e.attempt,
        e.created_at,
        e.created_at,
        e.started_at,
        e.attempt_started_at,
      ],
    );
    return mapWorkflowExecution(rows[0]!);
  }

  async getWorkflowExecution(uuid: string) {
    if (!looksLikeUuid(uuid)) return null;
    const rows = await this.db.query('SELECT * FROM workflow_executions WHERE uuid = ?', [uuid.toLowerCase()]);
    return rows[0] ? mapWorkflowExecution(rows[0]) : null;
  }

  async listWorkflowExecutions(filter: WorkflowExecutionFilter): Promise<Page<WorkflowExecutionRecord>> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.workflow_uuid) {
      where.push('workflow_uuid = ?');
      params.push(filter.workflow_uuid);
    }
    if (filter.statuses && filter.statuses.length > 0) {
      where.push(`status IN (${placeholders(filter.statuses.length)})`);
      params.push(...filter.statuses);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.query(`SELECT * FROM workflow_executions ${clause} ORDER BY created_at DESC, uuid DESC LIMIT ? OFFSET ?`, [
      ...params,
      filter.limit,
      filter.offset,
    ]);
    const [count] = await this.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM workflow_executions ${clause}`, params);
    return { items: rows.map(mapWorkflowExecution), total: Number(count?.n ?? 0) };
  }

  async listActiveWorkflowExecutions(limit: number, afterUuid?: string) {
    const rows = await this.db.query(
      `SELECT * FROM workflow_executions WHERE status IN (${placeholders(ACTIVE.length)}) AND uuid > ? ORDER BY uuid LIMIT ?`,
      [...ACTIVE, afterUuid ?? '', limit],
    );
    return rows.map(mapWorkflowExecution);
  }

  async countActiveWorkflowExecutions(workflowUuid: string) {
    const [row] = await this.db.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM workflow_executions WHERE workflow_uuid = ? AND status IN (${placeholders(ACTIVE.length)})`,
      [workflowUuid, ...ACTIVE],
    );
    return Number(row?.n ?? 0);
  }

  async lockWorkflowExecution(uuid: string, options: { skipLocked: boolean }) {
    const lock = this.db.dialect === 'postgres' ? (options.skipLocked ? ' FOR UPDATE SKIP LOCKED' : ' FOR UPDATE') : '';
    const rows = await this.db.query(`SELECT uuid FROM workflow_executions WHERE uuid = ?${lock}`, [uuid]);
    return rows.length > 0;
  }

  async updateWorkflowExecution(uuid: string, expectedRevision: number, patch: WorkflowExecutionPatch) {
    const sets = ['revision = revision + 1'];
    const params: SqlValue[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof WorkflowExecutionPatch, unknown][]) {
      if (value === undefined) continue;
      if (!PATCHABLE.has(key)) throw new Error(`updateWorkflowExecution: "${key}" cannot be patched`);
      sets.push(`${key} = ?`);
      params.push(JSON_PATCH_COLUMNS.has(key) ? (value === null ? null : JSON.stringify(value)) : (value as SqlValue));
    }
    const rows = await this.db.query(`UPDATE workflow_executions SET ${sets.join(', ')} WHERE uuid = ? AND revision = ? RETURNING *`, [
      ...params,
      uuid,
      expectedRevision,
    ]);
    return rows[0] ? mapWorkflowExecution(rows[0]) : null;
  }

  async createRun(run: Omit<WorkflowRunRecord, 'execution'>) {
    await this.db.run(
      `INSERT INTO workflow_task_executions (workflow_execution_uuid, instance_name, run_number, workflow_attempt, task_execution_uuid, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [run.workflow_execution_uuid, run.instance_name, run.run_number, run.workflow_attempt, run.task_execution_uuid, run.created_at],
    );
  }

  async listRuns(workflowExecutionUuids: readonly string[]) {
    const out = new Map<string, WorkflowRunRecord[]>();
    const unique = [...new Set(workflowExecutionUuids)];
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const rows = await this.db.query(
        `SELECT r.workflow_execution_uuid AS run_workflow_execution_uuid, r.instance_name AS run_instance_name,
                r.run_number AS run_run_number, r.workflow_attempt AS run_workflow_attempt,
                r.task_execution_uuid AS run_task_execution_uuid, r.created_at AS run_created_at, e.*
           FROM workflow_task_executions r
           LEFT JOIN task_executions e ON e.uuid = r.task_execution_uuid
          WHERE r.workflow_execution_uuid IN (${placeholders(chunk.length)})
          ORDER BY r.workflow_execution_uuid, r.instance_name, r.run_number`,
        chunk,
      );
      for (const row of rows) {
        const run: WorkflowRunRecord = {
          workflow_execution_uuid: String(row.run_workflow_execution_uuid),
          instance_name: String(row.run_instance_name),
          run_number: Number(row.run_run_number),
          workflow_attempt: Number(row.run_workflow_attempt),
          task_execution_uuid: String(row.run_task_execution_uuid),
          created_at: Number(row.run_created_at),
          execution: row.uuid === null || row.uuid === undefined ? null : this.mapExecution(row),
        };
        const list = out.get(run.workflow_execution_uuid) ?? [];
        list.push(run);
        out.set(run.workflow_execution_uuid, list);
      }
    }
    return out;
  }

  async getRunOfExecution(taskExecutionUuid: string) {
    const rows = await this.db.query('SELECT * FROM workflow_task_executions WHERE task_execution_uuid = ?', [taskExecutionUuid]);
    const row = rows[0];
    if (!row) return null;
    return {
      workflow_execution_uuid: String(row.workflow_execution_uuid),
      instance_name: String(row.instance_name),
      run_number: Number(row.run_number),
      workflow_attempt: Number(row.workflow_attempt),
      task_execution_uuid: String(row.task_execution_uuid),
      created_at: Number(row.created_at),
    };
  }
}
