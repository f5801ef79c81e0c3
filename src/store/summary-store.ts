/**
 * Read-only aggregates for overviews (the dashboard's Tasks table and Overview page), kept apart
 * from the write paths of `store.ts`. Every query is bounded: it reads one page of Tasks' latest
 * executions, or one time window through an index, never the whole history.
 *
 * Glossary:
 * - window: how many of a Task's newest executions its success rate is computed from.
 * - upcoming fire: a `schedules` row (a Task or Workflow the scheduler will start) and its time.
 */
import type { ExecutionStatus } from '../domain/execution-status.js';
import type { ScheduleTargetKind } from './store.js';

/** The newest execution of a Task, in the few columns a table row shows. */
export interface LatestExecutionRecord {
  uuid: string;
  status: ExecutionStatus;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface TaskSummaryRecord {
  task_uuid: string;
  /** Null when the Task has never run. */
  last_execution: LatestExecutionRecord | null;
  /** Of the Task's newest `window` executions, how many have finished … */
  finished: number;
  /** … and how many of those SUCCEEDED. */
  succeeded: number;
  /** The scheduler's next fire time; null when Berth's scheduler does not start it. */
  next_fire_at: number | null;
}

export interface UpcomingFireRecord {
  target_kind: ScheduleTargetKind;
  target_uuid: string;
  /** The Task's or Workflow's name. */
  name: string;
  expression: string;
  next_fire_at: number;
}

export interface SummaryStore {
  /**
   * For each of the given Tasks (one page of a list): its newest execution, the success count
   * among its newest `window` executions, and its next fire time. Tasks with no executions are
   * in the map too. One query per part, whatever the number of Tasks.
   */
  taskSummaries(taskUuids: readonly string[], window: number): Promise<Map<string, TaskSummaryRecord>>;
  /** Executions created at or after `since`, counted by status (an index-only range scan). */
  countExecutionsByStatus(since: number): Promise<Partial<Record<ExecutionStatus, number>>>;
  /** The next `limit` scheduled fires (Tasks and Workflows), earliest first. */
  listUpcomingFires(limit: number): Promise<UpcomingFireRecord[]>;
}
