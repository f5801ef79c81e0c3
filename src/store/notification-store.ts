/**
 * The notifications part of the Store (`store.notifications`). Glossary of its records:
 *
 * - profile: a Notification Profile (`notification_profiles`), its spec as JSON with inline
 *   delivery secrets encrypted.
 * - incident: the events of one Task or Workflow with one grouping key (`incidents`), open until
 *   resolved; `open_key` is unique while open, so there is one open incident per subject and key.
 * - alert: per incident and profile, whether the profile was told (`incident_alerts`).
 * - delivery: one message to one method of one profile (`notification_deliveries`), a durable
 *   queue row: claimed with a lease, retried with backoff, kept as history of the event.
 * - routing: the notifier's step from an event to its incident and deliveries; `routed_at` on the
 *   event makes it happen once, whoever records the event and however many servers run.
 *
 * Times are epoch milliseconds, like the rest of the Store.
 */
import type { StoredProfileSpec, SubjectKind } from '../domain/notification-profile.js';
import type { DeliveryAction } from '../domain/notification-message.js';
import type { ExecutionStatus, RunReason, StopReason } from '../domain/execution-status.js';
import type { Failure } from '../domain/failure.js';
import type { EventRecord, Page } from './store.js';

export interface NotificationProfileRecord {
  uuid: string;
  name: string;
  spec: StoredProfileSpec;
  created_at: number;
  updated_at: number;
}

export interface IncidentRecord {
  uuid: string;
  subject_kind: SubjectKind;
  subject_uuid: string;
  subject_name: string;
  grouping_key: string;
  severity: string;
  event_count: number;
  first_event_uuid: string;
  last_event_uuid: string;
  opened_at: number;
  last_event_at: number;
  resolved_at: number | null;
  resolved_by_event_uuid: string | null;
}

export type AlertState = 'pending' | 'triggered' | 'cancelled';

export interface IncidentAlertRecord {
  incident_uuid: string;
  profile_uuid: string;
  profile_name: string;
  state: AlertState;
  /** A pending alert that time alone makes due (notify_after_seconds); null otherwise. */
  due_at: number | null;
  triggered_at: number | null;
  /** The methods that were sent the trigger: they get the resolve. */
  methods: string[];
}

export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

/** One try of a delivery, kept on the row (the last 20). */
export interface DeliveryTry {
  at: number;
  ok: boolean;
  /** HTTP status, or SMTP reply code, when the receiver answered. */
  status: number | null;
  error: string | null;
}

export interface DeliveryRecord {
  uuid: string;
  event_uuid: string;
  incident_uuid: string | null;
  profile_uuid: string;
  profile_name: string;
  method_name: string;
  method_type: string;
  action: DeliveryAction;
  status: DeliveryStatus;
  attempts: number;
  max_attempts: number;
  /** When it may be tried next; while `sending`, when its lease ends (then another server may take it). */
  next_attempt_at: number;
  claimed_by: string | null;
  last_error: string | null;
  response_status: number | null;
  history: DeliveryTry[];
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export type NewDelivery = Pick<
  DeliveryRecord,
  'uuid' | 'event_uuid' | 'incident_uuid' | 'profile_uuid' | 'profile_name' | 'method_name' | 'method_type' | 'action' | 'max_attempts' | 'next_attempt_at' | 'created_at'
>;

/** What the sender says after one try. */
export type DeliveryOutcome =
  | { kind: 'delivered'; status: number | null; now: number }
  | { kind: 'retry'; status: number | null; error: string; now: number; next_attempt_at: number }
  | { kind: 'failed'; status: number | null; error: string; now: number }
  /** Not tried (rate limit): back to pending without counting an attempt. */
  | { kind: 'deferred'; reason: string; now: number; next_attempt_at: number };

/** An ended Task Execution the notifier has not looked at yet. */
export interface UnnotifiedExecution {
  uuid: string;
  task_uuid: string;
  status: ExecutionStatus;
  run_reason: RunReason;
  stop_reason: StopReason | null;
  failure: Failure | null;
  exit_code: number | null;
  attempt: number;
  finished_at: number;
}

/** An ended Workflow Execution the notifier has not looked at yet. */
export interface UnnotifiedWorkflowExecution {
  uuid: string;
  workflow_uuid: string;
  status: string;
  failure: unknown;
  finished_at: number;
}

export interface NotificationStore {
  upsertProfile(name: string, spec: StoredProfileSpec, now: number): Promise<{ record: NotificationProfileRecord; created: boolean }>;
  getProfile(uuidOrName: string): Promise<NotificationProfileRecord | null>;
  /** The profiles with these names that exist (a missing name is simply absent). */
  getProfilesByName(names: readonly string[]): Promise<NotificationProfileRecord[]>;
  listProfiles(page: { limit: number; offset: number }): Promise<Page<NotificationProfileRecord>>;
  deleteProfile(uuid: string): Promise<boolean>;
  /** Names of Run Environments, Tasks and Workflows that name this profile (refused deletes say who). */
  listProfileUsers(name: string): Promise<{ kind: 'run_environment' | 'task' | 'workflow'; name: string }[]>;

  /** Ended executions not yet turned into events, oldest end first. */
  listUnnotifiedExecutions(limit: number): Promise<UnnotifiedExecution[]>;
  /** Marks it looked at; true for exactly one caller (compare-and-set). */
  markExecutionNotified(uuid: string, now: number): Promise<boolean>;
  listUnnotifiedWorkflowExecutions(limit: number): Promise<UnnotifiedWorkflowExecution[]>;
  markWorkflowExecutionNotified(uuid: string, now: number): Promise<boolean>;
  /** The Workflow that started this Task Execution, if any. */
  workflowOfExecution(executionUuid: string): Promise<{ workflow_uuid: string; workflow_execution_uuid: string } | null>;

  getEvent(uuid: string): Promise<EventRecord | null>;
  /** Whether a Task's (or with `workflow`, a Workflow's) events include some not routed yet. */
  hasUnroutedEvents(subjectUuid: string, kind?: SubjectKind): Promise<boolean>;
  /** Events not routed yet, oldest first. */
  listUnroutedEvents(limit: number): Promise<EventRecord[]>;
  /** Marks the event routed (with its incident); true for exactly one caller. */
  markEventRouted(uuid: string, incidentUuid: string | null, now: number): Promise<boolean>;

  /** The open incident of a subject and grouping key; locks its row on PostgreSQL inside a transaction. */
  getOpenIncident(kind: SubjectKind, subjectUuid: string, groupingKey: string): Promise<IncidentRecord | null>;
  getIncident(uuid: string): Promise<IncidentRecord | null>;
  /** Opens an incident; throws a unique violation when one is open already for the subject and key. */
  openIncident(incident: IncidentRecord): Promise<void>;
  /** Adds an event to an open incident; returns it updated. */
  addIncidentEvent(uuid: string, eventUuid: string, at: number): Promise<IncidentRecord>;
  resolveIncident(uuid: string, eventUuid: string, at: number): Promise<void>;
  /** Open incidents of a subject (all grouping keys). */
  listOpenIncidents(kind: SubjectKind, subjectUuid: string): Promise<IncidentRecord[]>;

  listAlerts(incidentUuid: string): Promise<IncidentAlertRecord[]>;
  putAlert(alert: IncidentAlertRecord): Promise<void>;
  /** Pending alerts whose postponement time has come, on incidents still open. */
  listDueAlerts(now: number, limit: number): Promise<IncidentAlertRecord[]>;
  /** Compare-and-set from pending to triggered; true for exactly one caller. */
  triggerAlert(incidentUuid: string, profileUuid: string, methods: readonly string[], now: number): Promise<boolean>;

  enqueueDelivery(delivery: NewDelivery): Promise<void>;
  /**
   * Claims due deliveries (pending, or sending with an expired lease): at most `limit`, each
   * moved to `sending` with `claimed_by` and a lease until `now + leaseMs`. Call it inside
   * `store.transaction`: then it is safe with many servers on one PostgreSQL database (row
   * locks, SKIP LOCKED), each row going to one of them.
   */
  claimDeliveries(options: { instanceId: string; now: number; leaseMs: number; limit: number }): Promise<DeliveryRecord[]>;
  /** Records a try's outcome if the row is still claimed by `instanceId`; false otherwise. */
  finishDelivery(uuid: string, instanceId: string, outcome: DeliveryOutcome): Promise<boolean>;
  /** Deliveries through a method delivered after `since` (the rate limit's window, `(since, now]`). */
  countDelivered(profileUuid: string, methodName: string, since: number): Promise<number>;
  /** The earliest delivery through the method after `since` (it leaves the window first). */
  oldestDeliveredSince(profileUuid: string, methodName: string, since: number): Promise<number | null>;
  listDeliveries(eventUuid: string): Promise<DeliveryRecord[]>;
  listDeliveriesOfIncident(incidentUuid: string): Promise<DeliveryRecord[]>;
}
