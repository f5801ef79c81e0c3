import type { SqlDriver } from './sql-driver.js';

/**
 * Versioned schema migrations, applied in order on start inside one transaction (both SQLite and
 * PostgreSQL have transactional DDL), so a failed migration leaves the previous schema intact.
 * On PostgreSQL an advisory lock makes servers that start together migrate one at a time.
 *
 * Column conventions, chosen so the same SQL and the same row mapping work on both databases:
 * times are BIGINT epoch milliseconds, booleans INTEGER 0/1, JSON documents TEXT.
 * Never edit a migration that has shipped; add a new one.
 */
export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'core: run environments, tasks, executions, api keys, server instances',
    statements: [
      `CREATE TABLE run_environments (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE TABLE tasks (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        run_environment_uuid TEXT NOT NULL REFERENCES run_environments (uuid),
        enabled INTEGER NOT NULL,
        passive INTEGER NOT NULL,
        max_concurrency INTEGER,
        spec TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      `CREATE INDEX tasks_run_environment ON tasks (run_environment_uuid)`,
      `CREATE TABLE task_executions (
        uuid TEXT PRIMARY KEY,
        task_uuid TEXT NOT NULL REFERENCES tasks (uuid) ON DELETE CASCADE,
        run_environment_uuid TEXT NOT NULL,
        status TEXT NOT NULL,
        run_reason TEXT NOT NULL,
        stop_reason TEXT,
        failure TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        launch_after BIGINT,
        started_at BIGINT,
        finished_at BIGINT,
        stop_requested_at BIGINT,
        stop_sent_at BIGINT,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        timed_out_attempts INTEGER NOT NULL DEFAULT 0,
        attempts TEXT NOT NULL DEFAULT '[]',
        exit_code INTEGER,
        environment_overrides TEXT NOT NULL DEFAULT '{}',
        input_value TEXT,
        output_value TEXT,
        success_count BIGINT,
        error_count BIGINT,
        skipped_count BIGINT,
        expected_count BIGINT,
        last_status_message TEXT,
        last_heartbeat_at BIGINT,
        executor_kind TEXT,
        executor_handle TEXT,
        launch_token TEXT,
        owner_instance TEXT
      )`,
      `CREATE INDEX task_executions_created ON task_executions (created_at)`,
      `CREATE INDEX task_executions_task_created ON task_executions (task_uuid, created_at)`,
      `CREATE INDEX task_executions_task_status ON task_executions (task_uuid, status)`,
      `CREATE INDEX task_executions_status_launch ON task_executions (status, launch_after)`,
      `CREATE INDEX task_executions_owner_status ON task_executions (owner_instance, status)`,
      `CREATE TABLE api_keys (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        prefix TEXT NOT NULL UNIQUE,
        key_hash TEXT NOT NULL UNIQUE,
        run_environment_uuid TEXT REFERENCES run_environments (uuid),
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT
      )`,
      `CREATE TABLE server_instances (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'index for the launcher: queued executions in claim order',
    statements: [
      // The claim reads QUEUED rows oldest first; without this it sorted every queued row on
      // each pass (most of the database time with a deep queue).
      `CREATE INDEX task_executions_status_created ON task_executions (status, created_at, uuid)`,
    ],
  },
  {
    version: 3,
    name: 'task definition revisions Berth registered, by content hash',
    statements: [
      `CREATE TABLE task_definition_revisions (
        run_environment_uuid TEXT NOT NULL,
        family TEXT NOT NULL,
        hash TEXT NOT NULL,
        arn TEXT NOT NULL,
        revision INTEGER NOT NULL,
        registered_at BIGINT NOT NULL,
        PRIMARY KEY (run_environment_uuid, family, hash)
      )`,
      `CREATE INDEX task_definition_revisions_arn ON task_definition_revisions (arn)`,
    ],
  },
  {
    version: 4,
    name: 'wrapper protocol: what proc_wrapper reports on executions; reporter keys that may create passive Tasks',
    statements: [
      // One column per statement: SQLite's ALTER TABLE adds one at a time.
      `ALTER TABLE task_executions ADD COLUMN last_app_heartbeat_at BIGINT`,
      `ALTER TABLE task_executions ADD COLUMN pid BIGINT`,
      `ALTER TABLE task_executions ADD COLUMN other_runtime_metadata TEXT`,
      `ALTER TABLE task_executions ADD COLUMN debug_log_tail TEXT`,
      `ALTER TABLE task_executions ADD COLUMN error_log_tail TEXT`,
      `ALTER TABLE task_executions ADD COLUMN wrapper TEXT`,
      `ALTER TABLE task_executions ADD COLUMN wrapper_report TEXT`,
      `ALTER TABLE api_keys ADD COLUMN may_create_passive_tasks INTEGER NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 5,
    name: 'liveness: when each attempt was launched, the in-progress index, and events',
    statements: [
      // The start deadline counts from the claim of the current attempt (created_at would be the
      // first attempt's, updated_at moves with every change).
      `ALTER TABLE task_executions ADD COLUMN launched_at BIGINT`,
      // The liveness pass reads which Tasks have executions in progress from the index alone.
      `CREATE INDEX task_executions_status_task ON task_executions (status, task_uuid)`,
      // Events outlive their Task and execution (no foreign keys): they are history.
      `CREATE TABLE events (
        uuid TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        task_uuid TEXT,
        task_name TEXT,
        execution_uuid TEXT,
        details TEXT NOT NULL DEFAULT '{}',
        dedupe_key TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      )`,
      `CREATE INDEX events_created ON events (created_at, uuid)`,
      `CREATE INDEX events_task_created ON events (task_uuid, created_at)`,
      `CREATE INDEX events_type_created ON events (type, created_at)`,
      `CREATE INDEX events_execution ON events (execution_uuid)`,
    ],
  },
  {
    version: 6,
    name: 'workflows: definitions, executions, the link from task executions to their instance; per-execution task overrides',
    statements: [
      `CREATE TABLE workflows (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        spec TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      // A workflow execution keeps the definition it runs (spec, version): editing the Workflow
      // never changes one in flight, and a retry re-runs the same graph. `revision` goes up on
      // every change: the engine's compare-and-set.
      `CREATE TABLE workflow_executions (
        uuid TEXT PRIMARY KEY,
        workflow_uuid TEXT NOT NULL REFERENCES workflows (uuid) ON DELETE CASCADE,
        workflow_version INTEGER NOT NULL,
        spec TEXT NOT NULL,
        status TEXT NOT NULL,
        run_reason TEXT NOT NULL,
        stop_reason TEXT,
        failure TEXT,
        start_failures TEXT NOT NULL DEFAULT '{}',
        environment TEXT NOT NULL DEFAULT '{}',
        attempt INTEGER NOT NULL DEFAULT 1,
        revision INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        started_at BIGINT NOT NULL,
        attempt_started_at BIGINT NOT NULL,
        finished_at BIGINT,
        stop_requested_at BIGINT
      )`,
      `CREATE INDEX workflow_executions_workflow_created ON workflow_executions (workflow_uuid, created_at)`,
      `CREATE INDEX workflow_executions_created ON workflow_executions (created_at)`,
      `CREATE INDEX workflow_executions_status ON workflow_executions (status)`,
      // One row per run of an instance. The primary key is what makes a start happen once: two
      // servers deciding to start the same run cannot both insert it. No foreign key to
      // task_executions: a run whose execution was deleted (with its Task) stays, as lost.
      `CREATE TABLE workflow_task_executions (
        workflow_execution_uuid TEXT NOT NULL REFERENCES workflow_executions (uuid) ON DELETE CASCADE,
        instance_name TEXT NOT NULL,
        run_number INTEGER NOT NULL,
        workflow_attempt INTEGER NOT NULL,
        task_execution_uuid TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (workflow_execution_uuid, instance_name, run_number)
      )`,
      `ALTER TABLE task_executions ADD COLUMN task_overrides TEXT`,
    ],
  },
  {
    version: 7,
    name: 'scheduler',
    statements: [
      // One row per scheduled Task or Workflow: its next fire time, advanced by compare-and-set
      // so one server (of many) acts on each fire. The index is the scheduler's "due" query.
      `CREATE TABLE schedules (
        target_kind TEXT NOT NULL,
        target_uuid TEXT NOT NULL,
        expression TEXT NOT NULL,
        next_fire_at BIGINT,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (target_kind, target_uuid)
      )`,
      `CREATE INDEX schedules_next_fire ON schedules (next_fire_at)`,
      // One row per fire acted on; the primary key refuses a second decision for the same fire.
      `CREATE TABLE schedule_fires (
        target_kind TEXT NOT NULL,
        target_uuid TEXT NOT NULL,
        fire_at BIGINT NOT NULL,
        outcome TEXT NOT NULL,
        execution_uuid TEXT,
        covered INTEGER NOT NULL,
        decided_by TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (target_kind, target_uuid, fire_at)
      )`,
      `CREATE INDEX schedule_fires_created ON schedule_fires (created_at)`,
    ],
  },
  {
    version: 8,
    name: 'notifications: profiles, incidents, the delivery queue; events routed by the notifier',
    statements: [
      `ALTER TABLE events ADD COLUMN grouping_key TEXT`,
      `ALTER TABLE events ADD COLUMN workflow_uuid TEXT`,
      `ALTER TABLE events ADD COLUMN workflow_name TEXT`,
      `ALTER TABLE events ADD COLUMN workflow_execution_uuid TEXT`,
      `ALTER TABLE events ADD COLUMN incident_uuid TEXT`,
      // Set once the notifier has grouped the event into an incident and queued its deliveries.
      // History recorded before notifications existed is not sent.
      `ALTER TABLE events ADD COLUMN routed_at BIGINT`,
      `UPDATE events SET routed_at = created_at`,
      `CREATE INDEX events_unrouted ON events (created_at) WHERE routed_at IS NULL`,
      // Ended executions the notifier has not looked at yet (it turns them into events).
      `ALTER TABLE task_executions ADD COLUMN notified_at BIGINT`,
      `UPDATE task_executions SET notified_at = finished_at WHERE finished_at IS NOT NULL`,
      `CREATE INDEX task_executions_unnotified ON task_executions (finished_at) WHERE notified_at IS NULL AND finished_at IS NOT NULL`,
      `ALTER TABLE workflow_executions ADD COLUMN notified_at BIGINT`,
      `UPDATE workflow_executions SET notified_at = finished_at WHERE finished_at IS NOT NULL`,
      `CREATE INDEX workflow_executions_unnotified ON workflow_executions (finished_at) WHERE notified_at IS NULL AND finished_at IS NOT NULL`,
      // The spec is JSON; inline delivery secrets in it are encrypted (AES-256-GCM).
      `CREATE TABLE notification_profiles (
        uuid TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        spec TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      // open_key is "<subject kind>:<subject uuid>:<grouping key>" while open and NULL once
      // resolved: its unique constraint keeps one open incident per subject and key.
      `CREATE TABLE incidents (
        uuid TEXT PRIMARY KEY,
        subject_kind TEXT NOT NULL,
        subject_uuid TEXT NOT NULL,
        subject_name TEXT NOT NULL,
        grouping_key TEXT NOT NULL,
        severity TEXT NOT NULL,
        open_key TEXT UNIQUE,
        event_count INTEGER NOT NULL,
        first_event_uuid TEXT NOT NULL,
        last_event_uuid TEXT NOT NULL,
        opened_at BIGINT NOT NULL,
        last_event_at BIGINT NOT NULL,
        resolved_at BIGINT,
        resolved_by_event_uuid TEXT
      )`,
      `CREATE INDEX incidents_subject ON incidents (subject_kind, subject_uuid, opened_at)`,
      // Per incident and profile: told yet (triggered), waiting for its postponement (pending,
      // due_at when time alone can end it), or no longer (cancelled: resolved before it was due).
      `CREATE TABLE incident_alerts (
        incident_uuid TEXT NOT NULL,
        profile_uuid TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        state TEXT NOT NULL,
        due_at BIGINT,
        triggered_at BIGINT,
        methods TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (incident_uuid, profile_uuid)
      )`,
      `CREATE INDEX incident_alerts_due ON incident_alerts (due_at) WHERE state = 'pending' AND due_at IS NOT NULL`,
      // The durable queue: claimed with a lease (next_attempt_at moves to the lease's end while
      // sending, so a crashed sender's rows come back), retried with backoff, kept as history.
      `CREATE TABLE notification_deliveries (
        uuid TEXT PRIMARY KEY,
        event_uuid TEXT NOT NULL,
        incident_uuid TEXT,
        profile_uuid TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        method_name TEXT NOT NULL,
        method_type TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        claimed_by TEXT,
        last_error TEXT,
        response_status INTEGER,
        history TEXT NOT NULL DEFAULT '[]',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        delivered_at BIGINT
      )`,
      `CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending')`,
      `CREATE INDEX notification_deliveries_event ON notification_deliveries (event_uuid)`,
      `CREATE INDEX notification_deliveries_rate ON notification_deliveries (profile_uuid, method_name, delivered_at)`,
    ],
  },
  {
    version: 9,
    name: 'services: what Berth last observed of each Service, its below-minimum spell, deployed revisions, known ECS tasks',
    statements: [
      // One row per Task with service: settings; written under the Task's row lock.
      `CREATE TABLE service_states (
        task_uuid TEXT PRIMARY KEY REFERENCES tasks (uuid) ON DELETE CASCADE,
        observation TEXT,
        observed_at BIGINT,
        below_minimum_since BIGINT,
        below_minimum_event TEXT,
        deployed_task_definition TEXT,
        previous_task_definition TEXT,
        deployed_at BIGINT,
        known_tasks TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 10,
    name: 'dashboard: executions by creation time with their status',
    statements: [
      // The Overview counts the last 24 hours' executions by status: with the status in the
      // index that is an index-only range scan instead of one table read per execution.
      `CREATE INDEX task_executions_created_status ON task_executions (created_at, status)`,
    ],
  },
];

/** Advisory lock key for migrations on PostgreSQL ("berth" in ASCII). */
const MIGRATION_LOCK_KEY = 0x6265727468;

export interface MigrationResult {
  applied: number[];
  current: number;
}

/** Brings the schema to the newest version. Refuses a database newer than this Berth. */
export async function migrate(driver: SqlDriver, now: number = Date.now()): Promise<MigrationResult> {
  return driver.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    await tx.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const done = new Set(rows.map((r) => Number(r.version)));
    const newest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    const highest = Math.max(0, ...done);
    if (highest > newest) {
      throw new Error(
        `The database schema is at version ${highest}, newer than this Berth understands (${newest}). Upgrade Berth, or point it at another database.`,
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        now,
      ]);
      applied.push(migration.version);
    }
    return { applied, current: newest };
  });
}
