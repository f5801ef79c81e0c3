/**
 * The Workflow part of the Store (`store.workflows`). Glossary of its records:
 *
 * - workflow: a named, versioned definition (`workflows`); `version` goes up by one each time
 *   the definition changes.
 * - workflow execution: one run of a workflow (`workflow_executions`), with a copy of the
 *   definition it runs and a `revision` that goes up on every change: writers compare-and-set
 *   on it, so two servers cannot both advance it from the same state.
 * - run: one Task Execution started for an instance (`workflow_task_executions`), keyed by
 *   (workflow execution, instance, run number): that key is what makes a start happen once.
 *
 * Times are epoch milliseconds, like the rest of the Store.
 */
import type { WorkflowExecutionStatus, WorkflowFailure, WorkflowRunReason, WorkflowSpec, WorkflowStopReason } from '../domain/workflow.js';
import type { ExecutionRecord, Page } from './store.js';

export interface WorkflowRecord {
  uuid: string;
  name: string;
  version: number;
  spec: WorkflowSpec;
  created_at: number;
  updated_at: number;
}

export interface WorkflowExecutionRecord {
  uuid: string;
  workflow_uuid: string;
  workflow_version: number;
  /** The definition as it was when the execution was created. */
  spec: WorkflowSpec;
  status: WorkflowExecutionStatus;
  run_reason: WorkflowRunReason;
  stop_reason: WorkflowStopReason | null;
  failure: WorkflowFailure | null;
  /** Instances whose execution could not be created in the current attempt: name → why. */
  start_failures: Record<string, string>;
  /** Given at start, added to every instance's environment. */
  environment: Record<string, string>;
  attempt: number;
  revision: number;
  created_at: number;
  updated_at: number;
  started_at: number;
  attempt_started_at: number;
  finished_at: number | null;
  stop_requested_at: number | null;
}

export type NewWorkflowExecution = Omit<WorkflowExecutionRecord, 'revision' | 'updated_at' | 'finished_at' | 'stop_requested_at' | 'failure' | 'start_failures' | 'stop_reason'>;

/** Fields a compare-and-set update may change. */
export type WorkflowExecutionPatch = Partial<
  Pick<
    WorkflowExecutionRecord,
    'status' | 'stop_reason' | 'failure' | 'start_failures' | 'attempt' | 'attempt_started_at' | 'finished_at' | 'stop_requested_at' | 'updated_at'
  >
>;

export interface WorkflowRunRecord {
  workflow_execution_uuid: string;
  instance_name: string;
  run_number: number;
  workflow_attempt: number;
  task_execution_uuid: string;
  created_at: number;
  /** The Task Execution, or null when it was deleted (with its Task). */
  execution: ExecutionRecord | null;
}

export interface WorkflowExecutionFilter {
  workflow_uuid?: string;
  statuses?: readonly WorkflowExecutionStatus[];
  limit: number;
  offset: number;
}

export interface WorkflowStore {
  /**
   * Creates the Workflow `spec.name`, or replaces its definition; the version goes up only when
   * the definition changed (`changed`).
   */
  upsertWorkflow(spec: WorkflowSpec, now: number): Promise<{ record: WorkflowRecord; created: boolean; changed: boolean }>;
  getWorkflow(uuidOrName: string): Promise<WorkflowRecord | null>;
  getWorkflows(uuids: readonly string[]): Promise<Map<string, WorkflowRecord>>;
  /** By name; `search` is a case-insensitive substring of the name. */
  listWorkflows(filter: { search?: string; limit: number; offset: number }): Promise<Page<WorkflowRecord>>;
  /** Deletes the Workflow with its executions and their runs (not the Task Executions). */
  deleteWorkflow(uuid: string): Promise<boolean>;

  createWorkflowExecution(execution: NewWorkflowExecution): Promise<WorkflowExecutionRecord>;
  getWorkflowExecution(uuid: string): Promise<WorkflowExecutionRecord | null>;
  /** Newest first. */
  listWorkflowExecutions(filter: WorkflowExecutionFilter): Promise<Page<WorkflowExecutionRecord>>;
  /** Executions still RUNNING or STOPPING, in uuid order after `afterUuid`: the engine's work. */
  listActiveWorkflowExecutions(limit: number, afterUuid?: string): Promise<WorkflowExecutionRecord[]>;
  /** Number of the Workflow's executions still RUNNING or STOPPING. */
  countActiveWorkflowExecutions(workflowUuid: string): Promise<number>;
  /**
   * Inside a transaction: takes the row lock of the execution (PostgreSQL), so that one server
   * at a time advances it. With `skipLocked`, returns false at once when another holds it.
   * SQLite transactions are serial already: always true there (false only when the row is gone).
   */
  lockWorkflowExecution(uuid: string, options: { skipLocked: boolean }): Promise<boolean>;
  /**
   * Compare-and-set: applies `patch` and bumps `revision` only if the row still has
   * `expectedRevision`; returns the new row, or null when another writer changed it first.
   * Never throws for that.
   */
  updateWorkflowExecution(uuid: string, expectedRevision: number, patch: WorkflowExecutionPatch): Promise<WorkflowExecutionRecord | null>;

  /** Records a run. Throws a unique violation when that run (or that Task Execution) exists already. */
  createRun(run: Omit<WorkflowRunRecord, 'execution'>): Promise<void>;
  /** Runs of the given workflow executions with their Task Executions, by workflow execution uuid. */
  listRuns(workflowExecutionUuids: readonly string[]): Promise<Map<string, WorkflowRunRecord[]>>;
  /** The run a Task Execution belongs to, if any. */
  getRunOfExecution(taskExecutionUuid: string): Promise<Omit<WorkflowRunRecord, 'execution'> | null>;
}
