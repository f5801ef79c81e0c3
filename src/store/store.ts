/**
 * The Store: Berth's whole persistence seam, one interface over an embedded SQLite file and
 * PostgreSQL.
 *
 * Glossary of the records:
 * - run environment: where Tasks run (`run_environments` table), its spec kept as JSON.
 * - task: a named unit of work (`tasks`), its spec kept as JSON next to the columns queries use.
 * - execution: one run of a Task (`task_executions`); `status` moves only along the domain's
 *   transition table, guarded by compare-and-set on the stored status.
 * - owner: the server instance (`server_instances`) whose monitor watches an execution. A
 *   server that stops heart-beating loses its executions to one that adopts them.
 * - launch token: `<execution uuid>-<attempt>`, stored before the executor is asked to start, so
 *   a start can be made idempotent across a crash (it is the ECS RunTask clientToken).
 * - event: something Berth noticed that a person may need to act on (`events`): a missed scheduled
 *   run, a missing heartbeat, a failed start. Recorded once per `dedupe_key`, whoever notices it.
 *
 * Times are epoch milliseconds (`number`) everywhere below; the API converts them to ISO-8601.
 */
import type { ApiKeyScope } from '../domain/api-key.js';
import type { EventSeverity, EventType } from '../domain/event.js';
import type { ExecutionStatus, RunReason, StopReason } from '../domain/execution-status.js';
import type { Failure } from '../domain/failure.js';
import type { RunEnvironmentSpec } from '../domain/run-environment.js';
import type { TaskSpec } from '../domain/task.js';
import type { WrapperReportRecord } from '../domain/wrapper-report.js';
import type { TaskOverrides } from '../domain/workflow.js';
import type { WorkflowStore } from './workflow-store.js';
import type { ServiceStore } from './service-store.js';
import type { SummaryStore } from './summary-store.js';
import type { NotificationStore } from './notification-store.js';

export interface RunEnvironmentRecord {
  uuid: string;
  name: string;
  kind: RunEnvironmentSpec['kind'];
  spec: RunEnvironmentSpec;
  created_at: number;
  updated_at: number;
}

export interface TaskRecord {
  uuid: string;
  name: string;
  run_environment_uuid: string;
  /** The validated spec; `spec.run_environment` holds the environment's name as last written. */
  spec: TaskSpec;
  created_at: number;
  updated_at: number;
}

export interface AttemptRecord {
  number: number;
  status: ExecutionStatus;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  failure: Failure | null;
  /** The executor's handle of this attempt (its logs stay readable after a retry). */
  executor_handle: Record<string, unknown> | null;
}

export interface ExecutionRecord {
  uuid: string;
  task_uuid: string;
  run_environment_uuid: string;
  status: ExecutionStatus;
  run_reason: RunReason;
  stop_reason: StopReason | null;
  failure: Failure | null;
  created_at: number;
  updated_at: number;
  launch_after: number | null;
  started_at: number | null;
  finished_at: number | null;
  stop_requested_at: number | null;
  /** When the owner last asked the executor to stop it (the request may come from another server). */
  stop_sent_at: number | null;
  attempt: number;
  max_attempts: number;
  failed_attempts: number;
  timed_out_attempts: number;
  attempts: AttemptRecord[];
  exit_code: number | null;
  environment_overrides: Record<string, string>;
  input_value: unknown;
  output_value: unknown;
  success_count: number | null;
  error_count: number | null;
  skipped_count: number | null;
  expected_count: number | null;
  last_status_message: string | null;
  last_heartbeat_at: number | null;
  executor_kind: string | null;
  executor_handle: Record<string, unknown> | null;
  launch_token: string | null;
  owner_instance: string | null;
  /** From a wrapper (see `domain/wrapper-report.ts`): the app's own heartbeat time, as it reported it. */
  last_app_heartbeat_at: number | null;
  /** Process id of the wrapped command, as the wrapper reported it. */
  pid: number | null;
  other_runtime_metadata: unknown;
  /** The last lines of the command's output, capped (`LOG_TAIL_MAX_BYTES`, the end kept). */
  debug_log_tail: string | null;
  error_log_tail: string | null;
  /** What the wrapper said about itself (family, version, hostname, its settings). */
  wrapper: Record<string, unknown> | null;
  /** The wrapper's own latest account of the run (status, exit code, its attempt counts). */
  wrapper_report: WrapperReportRecord | null;
  /** cpu, memory or timeout_seconds instead of the Task's, for this execution (a Workflow's task instance sets them). */
  task_overrides?: TaskOverrides | null;
}

/** Fields a caller may change on an execution; everything else is fixed at creation. */
export type ExecutionPatch = Partial<
  Omit<ExecutionRecord, 'uuid' | 'task_uuid' | 'run_environment_uuid' | 'created_at' | 'run_reason'>
>;

export interface NewExecution {
  uuid: string;
  task_uuid: string;
  run_environment_uuid: string;
  status: ExecutionStatus;
  run_reason: RunReason;
  max_attempts: number;
  environment_overrides: Record<string, string>;
  input_value: unknown;
  created_at: number;
  started_at?: number | null;
  owner_instance?: string | null;
  executor_kind?: string | null;
  /** (Default: 0, not launched yet.) A reported run is attempt 1 from the start. */
  attempt?: number;
  wrapper?: Record<string, unknown> | null;
}

/** The few columns the monitor needs on every pass, for executions that have a handle. */
export interface ObservedExecution {
  uuid: string;
  task_uuid: string;
  status: ExecutionStatus;
  executor_kind: string | null;
  executor_handle: Record<string, unknown>;
  started_at: number | null;
  stop_reason: StopReason | null;
  stop_sent_at: number | null;
  /** The execution's own timeout (and size), when it overrides its Task's. */
  task_overrides?: TaskOverrides | null;
}

export interface ExecutionFilter {
  task_uuid?: string;
  run_environment_uuid?: string;
  statuses?: readonly ExecutionStatus[];
  /** Only executions created at or after this time. */
  created_after?: number;
  limit: number;
  offset: number;
}

export interface TaskFilter {
  run_environment_uuid?: string;
  /** Case-insensitive substring of the name. */
  search?: string;
  enabled?: boolean;
  passive?: boolean;
  limit: number;
  offset: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface ApiKeyRecord {
  uuid: string;
  name: string;
  scope: ApiKeyScope;
  prefix: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  key_hash: string;
  run_environment_uuid: string | null;
  /** Reporter keys: may a wrapper with this key create passive Tasks (in its Run Environment)? */
  may_create_passive_tasks: boolean;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A task definition revision an executor registered, found again by the hash of its content. */
export interface DefinitionRevisionRecord {
  run_environment_uuid: string;
  family: string;
  hash: string;
  arn: string;
  revision: number;
  registered_at: number;
}

export interface ServerInstanceRecord {
  id: string;
  hostname: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

/** Guard for a compare-and-set update: the update happens only if the row still matches. */
export interface ExecutionGuard {
  statuses?: readonly ExecutionStatus[];
  owner_instance?: string | null;
}

/** A Task and a time: the liveness queries' per-Task threshold. */
export interface TaskCutoff {
  task_uuid: string;
  /** Epoch ms: executions quiet since before this are returned. */
  before: number;
}

/** Something Berth noticed that a person may need to act on (see `domain/event.ts`). */
export interface EventRecord {
  uuid: string;
  type: EventType;
  severity: EventSeverity;
  message: string;
  task_uuid: string | null;
  /** The Task's name when the event was recorded (kept if the Task is deleted). */
  task_name: string | null;
  execution_uuid: string | null;
  details: Record<string, unknown>;
  /** Unique: an event with a key already recorded is not recorded again (e.g. `MISSED_SCHEDULED_RUN:<task>:<expected time>`). */
  dedupe_key: string;
  created_at: number;
  /** The incident it belongs to, with its Task or Workflow (Default: the type's, `EVENT_DEFAULTS`). */
  grouping_key?: string | null;
  /** A Workflow's event (WORKFLOW_FAILED, or RESOLVED of a Workflow): the Workflow, its name as it was, the execution. */
  workflow_uuid?: string | null;
  workflow_name?: string | null;
  workflow_execution_uuid?: string | null;
  /** Set by the notifier when it routes the event (read-only for recorders). */
  incident_uuid?: string | null;
  routed_at?: number | null;
}

export interface EventFilter {
  types?: readonly EventType[];
  task_uuid?: string;
  execution_uuid?: string;
  /** Only events created at or after this time. */
  created_after?: number;
  /** Only events created before this time. */
  created_before?: number;
  limit: number;
  offset: number;
}

export interface ClaimOptions {
  instanceId: string;
  now: number;
  limit: number;
  /** Executor kinds this server may launch (e.g. without `local` when the local executor is off). */
  executorKinds: readonly string[];
}

/** What a schedule starts: a Task or a Workflow. */
export type ScheduleTargetKind = 'task' | 'workflow';

/** A scheduled target's next fire time (`schedules`). */
export interface ScheduleStateRecord {
  target_kind: ScheduleTargetKind;
  target_uuid: string;
  /** The expression the next fire time was computed from. */
  expression: string;
  /** Null when the schedule never fires again (an AWS year range that has passed). */
  next_fire_at: number | null;
  updated_at: number;
}

/** One fire the scheduler acted on (`schedule_fires`). */
export interface ScheduleFireRecord {
  target_kind: ScheduleTargetKind;
  target_uuid: string;
  /** The fire time the scheduler acted for (the latest of those it covered). */
  fire_at: number;
  /**
   * started: an execution was created; skipped_overlap: an earlier run was still in progress;
   * skipped_missed: found too late with schedule_missed: skip; failed: the start was refused.
   */
  outcome: 'started' | 'skipped_overlap' | 'skipped_missed' | 'failed';
  execution_uuid: string | null;
  /** How many fire times this one decision covered (more than 1 after downtime or a slow pass). */
  covered: number;
  /** The server instance whose scheduler decided it. */
  decided_by: string;
  /** When the scheduler acted (its lateness is `created_at - fire_at`). */
  created_at: number;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** Workflows, their executions and runs (`workflow-store.ts`), bound to the same connection or transaction. */
  readonly workflows: WorkflowStore;
  /** What Berth remembers of each Service between monitor passes (`service-store.ts`). */
  readonly services: ServiceStore;
  /** Read-only aggregates for overviews (`summary-store.ts`): latest executions per Task, counts by status, upcoming fires. */
  readonly summaries: SummaryStore;
  /** Notification Profiles, incidents and the delivery queue (`notification-store.ts`), bound like `workflows`. */
  readonly notifications: NotificationStore;

  /** Runs `fn` in one database transaction; everything it does through `tx` commits or none. */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  upsertRunEnvironment(spec: RunEnvironmentSpec, now: number): Promise<{ record: RunEnvironmentRecord; created: boolean }>;
  getRunEnvironment(uuidOrName: string): Promise<RunEnvironmentRecord | null>;
  listRunEnvironments(page: { limit: number; offset: number }): Promise<Page<RunEnvironmentRecord>>;
  deleteRunEnvironment(uuid: string): Promise<boolean>;
  countTasksInRunEnvironment(uuid: string): Promise<number>;

  /** Creates or replaces the Task with `spec.name`. */
  upsertTask(spec: TaskSpec, runEnvironmentUuid: string, now: number): Promise<{ record: TaskRecord; created: boolean }>;
  /**
   * Creates the Task with `spec.name` unless one exists; never replaces it. Safe when many
   * callers create the same name at once: one creates it (`created: true`), all get that Task.
   */
  createTaskIfAbsent(spec: TaskSpec, runEnvironmentUuid: string, now: number): Promise<{ record: TaskRecord; created: boolean }>;
  getTask(uuidOrName: string): Promise<TaskRecord | null>;
  getTasks(uuids: readonly string[]): Promise<Map<string, TaskRecord>>;
  listTasks(filter: TaskFilter): Promise<Page<TaskRecord>>;
  deleteTask(uuid: string): Promise<boolean>;

  createExecution(execution: NewExecution): Promise<ExecutionRecord>;
  getExecution(uuid: string): Promise<ExecutionRecord | null>;
  listExecutions(filter: ExecutionFilter): Promise<Page<ExecutionRecord>>;
  /**
   * Inside a transaction: serialises with other writers deciding about this Task's executions
   * (a row lock on PostgreSQL; SQLite transactions are serial already).
   */
  lockTask(uuid: string): Promise<void>;
  /** Number of executions of the Task in the given statuses. */
  countExecutions(taskUuid: string, statuses: readonly ExecutionStatus[]): Promise<number>;
  /**
   * Applies `patch` if the row matches `guard`; returns the updated row, or null when the row
   * is missing or no longer matches (another process changed it first). Never throws for that.
   */
  updateExecution(uuid: string, patch: ExecutionPatch, guard?: ExecutionGuard): Promise<ExecutionRecord | null>;
  /** Like `updateExecution`, for callers that only need to know whether it applied (cheaper). */
  updateExecutionIf(uuid: string, patch: ExecutionPatch, guard?: ExecutionGuard): Promise<boolean>;

  /**
   * Claims due QUEUED executions for launching: at most `limit`, never more per Task than its
   * `max_concurrency` leaves free, each moved to MANUALLY_STARTED with a new attempt number, a
   * launch token and `owner_instance`. Safe with many servers on one PostgreSQL database: a row
   * is claimed by exactly one of them.
   */
  claimQueued(options: ClaimOptions): Promise<ExecutionRecord[]>;
  /** Executions in `statuses` owned by `instanceId`, in uuid order after `afterUuid`. */
  listOwnedExecutions(
    instanceId: string,
    statuses: readonly ExecutionStatus[],
    limit: number,
    afterUuid?: string,
  ): Promise<ExecutionRecord[]>;
  /**
   * The monitor's view: executions owned by `instanceId` in `statuses` that have an executor
   * handle, in uuid order after `afterUuid`, with only the columns it needs to observe them.
   */
  listObservedExecutions(
    instanceId: string,
    statuses: readonly ExecutionStatus[],
    limit: number,
    afterUuid?: string,
  ): Promise<ObservedExecution[]>;
  /** The same view for just the given executions (those an executor said may have changed). */
  listObservedExecutionsByUuid(
    instanceId: string,
    statuses: readonly ExecutionStatus[],
    uuids: readonly string[],
  ): Promise<ObservedExecution[]>;
  /** Executions owned by `instanceId`, claimed (MANUALLY_STARTED or STOPPING) but with no handle yet. */
  listUnlaunchedExecutions(instanceId: string, limit: number): Promise<ExecutionRecord[]>;
  /** Moves every non-terminal execution owned by `from` to `to`; returns how many moved. */
  adoptExecutions(from: string, to: string): Promise<number>;

  registerInstance(instance: ServerInstanceRecord): Promise<void>;
  /** Records that the instance is alive; false when its row is gone (another server declared it dead). */
  heartbeatInstance(id: string, now: number): Promise<boolean>;
  listInstances(): Promise<ServerInstanceRecord[]>;
  deleteInstance(id: string): Promise<void>;
  /** Owners of non-terminal executions that are not registered instances (left by a crash). */
  listOrphanOwners(): Promise<string[]>;

  getDefinitionRevision(runEnvironmentUuid: string, family: string, hash: string): Promise<DefinitionRevisionRecord | null>;
  /** Records (or replaces) the revision for this content hash. */
  putDefinitionRevision(record: DefinitionRevisionRecord): Promise<void>;
  deleteDefinitionRevision(arn: string): Promise<void>;
  /** Task definition ARNs that non-terminal executions of the Run Environment run on (from their handles). */
  listDefinitionArnsInUse(runEnvironmentUuid: string): Promise<string[]>;

  createApiKey(record: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  getApiKey(uuidOrPrefix: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  revokeApiKey(uuid: string, now: number): Promise<boolean>;
  touchApiKey(uuid: string, now: number): Promise<void>;
  countApiKeys(): Promise<number>;

  // ---- liveness (src/server/liveness.ts) and events ----

  /** Tasks that have executions in `statuses`, read from an index (the liveness pass starts here). */
  listTaskUuidsWithExecutionsIn(statuses: readonly ExecutionStatus[]): Promise<string[]>;
  /**
   * Executions in `statuses` of the given Tasks whose last sign of life (the latest of
   * `last_heartbeat_at`, `started_at` and `created_at`) is before their Task's cutoff, at most
   * `limit`, oldest sign of life first.
   */
  listSilentExecutions(cutoffs: readonly TaskCutoff[], statuses: readonly ExecutionStatus[], limit: number): Promise<ExecutionRecord[]>;
  /**
   * MANUALLY_STARTED executions of the given Tasks whose current attempt was launched (claimed by
   * a launcher; else created) before their Task's cutoff, at most `limit`, oldest first.
   */
  listUnstartedExecutions(cutoffs: readonly TaskCutoff[], limit: number): Promise<(ExecutionRecord & { launched_at: number | null })[]>;
  /** Every enabled passive Task that has a schedule. */
  listScheduledPassiveTasks(): Promise<TaskRecord[]>;
  /** Creation time of the Task's newest execution, or null when it has none. */
  latestExecutionCreatedAt(taskUuid: string): Promise<number | null>;
  /** Whether the Task has an execution created in `[from, to]`. */
  hasExecutionCreatedBetween(taskUuid: string, from: number, to: number): Promise<boolean>;
  /**
   * Records the event unless one with the same `dedupe_key` exists. True when this call recorded
   * it: with several servers noticing the same thing, exactly one gets true. Never throws for that.
   */
  recordEvent(event: EventRecord): Promise<boolean>;
  /** Events newest first, with filters and a total. */
  listEvents(filter: EventFilter): Promise<Page<EventRecord>>;

  /** Schedules whose next fire time is at or before `now`, earliest first (an index range). */
  listDueSchedules(now: number, limit: number): Promise<ScheduleStateRecord[]>;
  /** The earliest next fire time of any schedule, or null when none is scheduled. */
  nextScheduleFireAt(): Promise<number | null>;
  /**
   * Compare-and-set of a schedule's next fire time: true when the row still had `expected`'s
   * expression and next fire time, so this caller (and no other server) owns the fires before it.
   */
  advanceSchedule(expected: ScheduleStateRecord, nextFireAt: number | null, now: number): Promise<boolean>;
  /** Removes a target's schedule row (its Task or Workflow is gone or no longer scheduled). */
  deleteSchedule(kind: ScheduleTargetKind, uuid: string): Promise<void>;
  /**
   * Scheduled, non-passive, enabled Tasks and scheduled Workflows that have no `schedules` row
   * (stored before the scheduler existed), at most `limit`.
   */
  listUnsyncedScheduleTargets(limit: number): Promise<{ kind: ScheduleTargetKind; uuid: string; expression: string }[]>;
  /** Creates or refreshes a target's schedule row (see `syncSchedule`). */
  syncSchedule(kind: ScheduleTargetKind, uuid: string, expression: string | null, now: number): Promise<void>;
  /** Records a fire; throws when the same (target, fire time) is already recorded. */
  recordScheduleFire(fire: ScheduleFireRecord): Promise<void>;
  /** Fires, oldest first, optionally of one target and from a time. */
  listScheduleFires(filter: { target_uuid?: string; since?: number; limit: number }): Promise<ScheduleFireRecord[]>;

  close(): Promise<void>;
}
