import { randomUUID } from 'node:crypto';
import { looksLikeUuid } from '../domain/common.js';
import type { StoredProfileSpec, SubjectKind } from '../domain/notification-profile.js';
import { openIncidentKey } from '../domain/notification-profile.js';
import type { Row, SqlExecutor, SqlValue } from './sql-driver.js';
import { fromJson, num, numOrNull, placeholders } from './sql-values.js';
import type {
  DeliveryOutcome,
  DeliveryRecord,
  IncidentAlertRecord,
  IncidentRecord,
  NewDelivery,
  NotificationProfileRecord,
  NotificationStore,
  UnnotifiedExecution,
  UnnotifiedWorkflowExecution,
} from './notification-store.js';
import type { EventRecord } from './store.js';

/** Tries kept on a delivery row. */
const HISTORY_KEPT = 20;

function mapProfile(row: Row): NotificationProfileRecord {
  return {
    uuid: String(row.uuid),
    name: String(row.name),
    spec: JSON.parse(String(row.spec)) as StoredProfileSpec,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
  };
}

function mapIncident(row: Row): IncidentRecord {
  return {
    uuid: String(row.uuid),
    subject_kind: row.subject_kind as SubjectKind,
    subject_uuid: String(row.subject_uuid),
    subject_name: String(row.subject_name),
    grouping_key: String(row.grouping_key),
    severity: String(row.severity),
    event_count: num(row.event_count),
    first_event_uuid: String(row.first_event_uuid),
    last_event_uuid: String(row.last_event_uuid),
    opened_at: num(row.opened_at),
    last_event_at: num(row.last_event_at),
    resolved_at: numOrNull(row.resolved_at),
    resolved_by_event_uuid: (row.resolved_by_event_uuid ?? null) as string | null,
  };
}

function mapAlert(row: Row): IncidentAlertRecord {
  return {
    incident_uuid: String(row.incident_uuid),
    profile_uuid: String(row.profile_uuid),
    profile_name: String(row.profile_name),
    state: row.state as IncidentAlertRecord['state'],
    due_at: numOrNull(row.due_at),
    triggered_at: numOrNull(row.triggered_at),
    methods: fromJson(row.methods, []),
  };
}

function mapDelivery(row: Row): DeliveryRecord {
  return {
    uuid: String(row.uuid),
    event_uuid: String(row.event_uuid),
    incident_uuid: (row.incident_uuid ?? null) as string | null,
    profile_uuid: String(row.profile_uuid),
    profile_name: String(row.profile_name),
    method_name: String(row.method_name),
    method_type: String(row.method_type),
    action: row.action as DeliveryRecord['action'],
    status: row.status as DeliveryRecord['status'],
    attempts: num(row.attempts),
    max_attempts: num(row.max_attempts),
    next_attempt_at: num(row.next_attempt_at),
    claimed_by: (row.claimed_by ?? null) as string | null,
    last_error: (row.last_error ?? null) as string | null,
    response_status: numOrNull(row.response_status),
    history: fromJson(row.history, []),
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
    delivered_at: numOrNull(row.delivered_at),
  };
}

/**
 * The notification tables over any SqlExecutor, in the same portable SQL as `SqlStore` (which
 * owns one bound to the same connection or transaction). `mapEvent` is the store's own mapping.
 */
export class SqlNotificationStore implements NotificationStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly mapEvent: (row: Row) => EventRecord,
  ) {}

  private lockClause(): string {
    return this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  }

  // ---- profiles ----

  async upsertProfile(name: string, spec: StoredProfileSpec, now: number) {
    const existing = await this.db.query('SELECT uuid FROM notification_profiles WHERE name = ?', [name]);
    if (existing[0]) {
      const rows = await this.db.query('UPDATE notification_profiles SET spec = ?, updated_at = ? WHERE uuid = ? RETURNING *', [
        JSON.stringify(spec),
        now,
        String(existing[0].uuid),
      ]);
      return { record: mapProfile(rows[0]!), created: false };
    }
    const rows = await this.db.query(
      'INSERT INTO notification_profiles (uuid, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
      [randomUUID(), name, JSON.stringify(spec), now, now],
    );
    return { record: mapProfile(rows[0]!), created: true };
  }

  async getProfile(uuidOrName: string) {
    if (looksLikeUuid(uuidOrName)) {
      const rows = await this.db.query('SELECT * FROM notification_profiles WHERE uuid = ?', [uuidOrName.toLowerCase()]);
      if (rows[0]) return mapProfile(rows[0]);
    }
    const rows = await this.db.query('SELECT * FROM notification_profiles WHERE name = ?', [uuidOrName]);
    return rows[0] ? mapProfile(rows[0]) : null;
  }

  async getProfilesByName(names: readonly string[]) {
    const unique = [...new Set(names)];
    if (unique.length === 0) return [];
    const rows = await this.db.query(`SELECT * FROM notification_profiles WHERE name IN (${placeholders(unique.length)}) ORDER BY name`, unique);
    return rows.map(mapProfile);
  }

  async listProfiles(page: { limit: number; offset: number }) {
    const rows = await this.db.query('SELECT * FROM notification_profiles ORDER BY name LIMIT ? OFFSET ?', [page.limit, page.offset]);
    const [count] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM notification_profiles');
    return { items: rows.map(mapProfile), total: num(count?.n ?? 0) };
  }

  async deleteProfile(uuid: string) {
    return (await this.db.run('DELETE FROM notification_profiles WHERE uuid = ?', [uuid])) > 0;
  }

  async listProfileUsers(name: string) {
    const out: { kind: 'run_environment' | 'task' | 'workflow'; name: string }[] = [];
    // A LIKE narrows the rows; the parsed spec decides.
    const pattern = `%${JSON.stringify(name).replace(/[%_]/g, '')}%`;
    for (const [kind, table] of [
      ['run_environment', 'run_environments'],
      ['task', 'tasks'],
      ['workflow', 'workflows'],
    ] as const) {
      const rows = await this.db.query(`SELECT name, spec FROM ${table} WHERE spec LIKE ?`, [pattern]);
      for (const row of rows) {
        const refs = (JSON.parse(String(row.spec)) as { notification_profiles?: string[] }).notification_profiles;
        if (refs?.includes(name)) out.push({ kind, name: String(row.name) });
      }
    }
    return out;
  }

  // ---- ended executions, for the notifier ----

  async listUnnotifiedExecutions(limit: number): Promise<UnnotifiedExecution[]> {
    const rows = await this.db.query(
      `SELECT uuid, task_uuid, status, run_reason, stop_reason, failure, exit_code, attempt, finished_at FROM task_executions
        WHERE notified_at IS NULL AND finished_at IS NOT NULL ORDER BY finished_at LIMIT ?`,
      [limit],
    );
    return rows.map((row) => ({
      uuid: String(row.uuid),
      task_uuid: String(row.task_uuid),
      status: row.status as UnnotifiedExecution['status'],
      run_reason: row.run_reason as UnnotifiedExecution['run_reason'],
      stop_reason: (row.stop_reason ?? null) as UnnotifiedExecution['stop_reason'],
      failure: fromJson(row.failure, null),
      exit_code: numOrNull(row.exit_code),
      attempt: num(row.attempt),
      finished_at: num(row.finished_at),
    }));
  }

  async markExecutionNotified(uuid: string, now: number) {
    return (await this.db.run('UPDATE task_executions SET notified_at = ? WHERE uuid = ? AND notified_at IS NULL', [now, uuid])) > 0;
  }

  async listUnnotifiedWorkflowExecutions(limit: number): Promise<UnnotifiedWorkflowExecution[]> {
    const rows = await this.db.query(
      `SELECT uuid, workflow_uuid, status, failure, finished_at FROM workflow_executions
        WHERE notified_at IS NULL AND finished_at IS NOT NULL ORDER BY finished_at LIMIT ?`,
      [limit],
    );
    return rows.map((row) => ({
      uuid: String(row.uuid),
      workflow_uuid: String(row.workflow_uuid),
      status: String(row.status),
      failure: fromJson(row.failure, null),
      finished_at: num(row.finished_at),
    }));
  }

  async markWorkflowExecutionNotified(uuid: string, now: number) {
    return (await this.db.run('UPDATE workflow_executions SET notified_at = ? WHERE uuid = ? AND notified_at IS NULL', [now, uuid])) > 0;
  }

  async workflowOfExecution(executionUuid: string) {
    const rows = await this.db.query(
      `SELECT w.workflow_uuid, r.workflow_execution_uuid FROM workflow_task_executions r
         JOIN workflow_executions w ON w.uuid = r.workflow_execution_uuid
        WHERE r.task_execution_uuid = ?`,
      [executionUuid],
    );
    return rows[0] ? { workflow_uuid: String(rows[0].workflow_uuid), workflow_execution_uuid: String(rows[0].workflow_execution_uuid) } : null;
  }

  // ---- events ----

  async getEvent(uuid: string) {
    const rows = await this.db.query('SELECT * FROM events WHERE uuid = ?', [uuid.toLowerCase()]);
    return rows[0] ? this.mapEvent(rows[0]) : null;
  }

  async hasUnroutedEvents(subjectUuid: string, kind: SubjectKind = 'task') {
    const column = kind === 'task' ? 'task_uuid' : 'workflow_uuid';
    const rows = await this.db.query(`SELECT 1 AS found FROM events WHERE routed_at IS NULL AND ${column} = ? LIMIT 1`, [subjectUuid]);
    return rows.length > 0;
  }

  async listUnroutedEvents(limit: number) {
    const rows = await this.db.query('SELECT * FROM events WHERE routed_at IS NULL ORDER BY created_at, uuid LIMIT ?', [limit]);
    return rows.map(this.mapEvent);
  }

  async markEventRouted(uuid: string, incidentUuid: string | null, now: number) {
    return (await this.db.run('UPDATE events SET routed_at = ?, incident_uuid = ? WHERE uuid = ? AND routed_at IS NULL', [now, incidentUuid, uuid])) > 0;
  }

  // ---- incidents ----

  async getOpenIncident(kind: SubjectKind, subjectUuid: string, groupingKey: string) {
    const lock = this.db.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const rows = await this.db.query(`SELECT * FROM incidents WHERE open_key = ?${lock}`, [openIncidentKey(kind, subjectUuid, groupingKey)]);
    return rows[0] ? mapIncident(rows[0]) : null;
  }

  async getIncident(uuid: string) {
    const rows = await this.db.query('SELECT * FROM incidents WHERE uuid = ?', [uuid]);
    return rows[0] ? mapIncident(rows[0]) : null;
  }

  async openIncident(i: IncidentRecord) {
    await this.db.run(
      `INSERT INTO incidents (uuid, subject_kind, subject_uuid, subject_name, grouping_key, severity, open_key, event_count,
                              first_event_uuid, last_event_uuid, opened_at, last_event_at, resolved_at, resolved_by_event_uuid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
      [
        i.uuid,
        i.subject_kind,
        i.subject_uuid,
        i.subject_name,
        i.grouping_key,
        i.severity,
        openIncidentKey(i.subject_kind, i.subject_uuid, i.grouping_key),
        i.event_count,
        i.first_event_uuid,
        i.last_event_uuid,
        i.opened_at,
        i.last_event_at,
      ],
    );
  }

  async addIncidentEvent(uuid: string, eventUuid: string, at: number) {
    const rows = await this.db.query(
      'UPDATE incidents SET event_count = event_count + 1, last_event_uuid = ?, last_event_at = ? WHERE uuid = ? RETURNING *',
      [eventUuid, at, uuid],
    );
    return mapIncident(rows[0]!);
  }

  async resolveIncident(uuid: string, eventUuid: string, at: number) {
    await this.db.run('UPDATE incidents SET resolved_at = ?, resolved_by_event_uuid = ?, open_key = NULL WHERE uuid = ? AND resolved_at IS NULL', [
      at,
      eventUuid,
      uuid,
    ]);
  }

  async listOpenIncidents(kind: SubjectKind, subjectUuid: string) {
    const rows = await this.db.query(
      'SELECT * FROM incidents WHERE subject_kind = ? AND subject_uuid = ? AND resolved_at IS NULL ORDER BY opened_at',
      [kind, subjectUuid],
    );
    return rows.map(mapIncident);
  }

  // ---- alerts ----

  async listAlerts(incidentUuid: string) {
    const rows = await this.db.query('SELECT * FROM incident_alerts WHERE incident_uuid = ? ORDER BY profile_name', [incidentUuid]);
    return rows.map(mapAlert);
  }

  async putAlert(a: IncidentAlertRecord) {
    await this.db.run(
      `INSERT INTO incident_alerts (incident_uuid, profile_uuid, profile_name, state, due_at, triggered_at, methods)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (incident_uuid, profile_uuid) DO UPDATE SET state = excluded.state, due_at = excluded.due_at,
         triggered_at = excluded.triggered_at, methods = excluded.methods`,
      [a.incident_uuid, a.profile_uuid, a.profile_name, a.state, a.due_at, a.triggered_at, JSON.stringify(a.methods)],
    );
  }

  async listDueAlerts(now: number, limit: number) {
    const rows = await this.db.query(
      `SELECT a.* FROM incident_alerts a JOIN incidents i ON i.uuid = a.incident_uuid
        WHERE a.state = 'pending' AND a.due_at IS NOT NULL AND a.due_at <= ? AND i.resolved_at IS NULL
        ORDER BY a.due_at LIMIT ?`,
      [now, limit],
    );
    return rows.map(mapAlert);
  }

  async triggerAlert(incidentUuid: string, profileUuid: string, methods: readonly string[], now: number) {
    const changed = await this.db.run(
      `UPDATE incident_alerts SET state = 'triggered', triggered_at = ?, methods = ? WHERE incident_uuid = ? AND profile_uuid = ? AND state = 'pending'`,
      [now, JSON.stringify(methods), incidentUuid, profileUuid],
    );
    return changed > 0;
  }

  // ---- deliveries ----

  async enqueueDelivery(d: NewDelivery) {
    await this.db.run(
      `INSERT INTO notification_deliveries (uuid, event_uuid, incident_uuid, profile_uuid, profile_name, method_name, method_type, action,
                                            status, attempts, max_attempts, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
      [d.uuid, d.event_uuid, d.incident_uuid, d.profile_uuid, d.profile_name, d.method_name, d.method_type, d.action, d.max_attempts, d.next_attempt_at, d.created_at, d.created_at],
    );
  }

  async claimDeliveries(options: { instanceId: string; now: number; leaseMs: number; limit: number }) {
    if (options.limit <= 0) return [];
    const db = this.db;
    {
      const candidates = await db.query<{ uuid: string }>(
        `SELECT uuid FROM notification_deliveries
          WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?
          ORDER BY next_attempt_at, uuid LIMIT ?${this.lockClause()}`,
        [options.now, options.limit],
      );
      if (candidates.length === 0) return [];
      const uuids = candidates.map((c) => String(c.uuid));
      const rows = await db.query(
        `UPDATE notification_deliveries SET status = 'sending', claimed_by = ?, next_attempt_at = ?, updated_at = ?
          WHERE uuid IN (${placeholders(uuids.length)}) AND status IN ('pending', 'sending') AND next_attempt_at <= ? RETURNING *`,
        [options.instanceId, options.now + options.leaseMs, options.now, ...uuids, options.now],
      );
      return rows.map(mapDelivery).sort((a, b) => a.created_at - b.created_at);
    }
  }

  async finishDelivery(uuid: string, instanceId: string, outcome: DeliveryOutcome) {
    const rows = await this.db.query('SELECT history, attempts FROM notification_deliveries WHERE uuid = ? AND claimed_by = ? AND status = ?', [
      uuid,
      instanceId,
      'sending',
    ]);
    if (!rows[0]) return false;
    const history = fromJson<DeliveryRecord['history']>(rows[0].history, []);
    const attempts = num(rows[0].attempts);
    let sql: string;
    let params: SqlValue[];
    switch (outcome.kind) {
      case 'delivered':
        history.push({ at: outcome.now, ok: true, status: outcome.status, error: null });
        sql = `status = 'delivered', attempts = ?, delivered_at = ?, response_status = ?, last_error = NULL, history = ?, updated_at = ?`;
        params = [attempts + 1, outcome.now, outcome.status, JSON.stringify(history.slice(-HISTORY_KEPT)), outcome.now];
        break;
      case 'retry':
        history.push({ at: outcome.now, ok: false, status: outcome.status, error: outcome.error });
        sql = `status = 'pending', attempts = ?, next_attempt_at = ?, response_status = ?, last_error = ?, history = ?, updated_at = ?`;
        params = [attempts + 1, outcome.next_attempt_at, outcome.status, outcome.error, JSON.stringify(history.slice(-HISTORY_KEPT)), outcome.now];
        break;
      case 'failed':
        history.push({ at: outcome.now, ok: false, status: outcome.status, error: outcome.error });
        sql = `status = 'failed', attempts = ?, response_status = ?, last_error = ?, history = ?, updated_at = ?`;
        params = [attempts + 1, outcome.status, outcome.error, JSON.stringify(history.slice(-HISTORY_KEPT)), outcome.now];
        break;
      case 'deferred':
        sql = `status = 'pending', next_attempt_at = ?, last_error = ?, updated_at = ?`;
        params = [outcome.next_attempt_at, outcome.reason, outcome.now];
        break;
    }
    const changed = await this.db.run(`UPDATE notification_deliveries SET ${sql} WHERE uuid = ? AND claimed_by = ? AND status = 'sending'`, [
      ...params,
      uuid,
      instanceId,
    ]);
    return changed > 0;
  }

  async countDelivered(profileUuid: string, methodName: string, since: number) {
    const [row] = await this.db.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM notification_deliveries WHERE profile_uuid = ? AND method_name = ? AND delivered_at > ?',
      [profileUuid, methodName, since],
    );
    return num(row?.n ?? 0);
  }

  async oldestDeliveredSince(profileUuid: string, methodName: string, since: number) {
    const [row] = await this.db.query<{ t: unknown }>(
      'SELECT MIN(delivered_at) AS t FROM notification_deliveries WHERE profile_uuid = ? AND method_name = ? AND delivered_at > ?',
      [profileUuid, methodName, since],
    );
    return numOrNull(row?.t);
  }

  async listDeliveries(eventUuid: string) {
    const rows = await this.db.query('SELECT * FROM notification_deliveries WHERE event_uuid = ? ORDER BY created_at, profile_name, method_name', [eventUuid]);
    return rows.map(mapDelivery);
  }

  async listDeliveriesOfIncident(incidentUuid: string) {
    const rows = await this.db.query('SELECT * FROM notification_deliveries WHERE incident_uuid = ? ORDER BY created_at, profile_name, method_name', [
      incidentUuid,
    ]);
    return rows.map(mapDelivery);
  }
}

