/**
 * The scheduler's tables (`schedules`, `schedule_fires`), shared by the Task and Workflow stores.
 *
 * - `schedules`: one row per scheduled target (a non-passive enabled Task, or a Workflow, with a
 *   `schedule`) holding its next fire time. Written in the same statement as every change to the
 *   target's spec: a changed expression recomputes the next fire from the change's time; the same
 *   expression keeps it. The index on `next_fire_at` is the scheduler's "due" query.
 * - `schedule_fires`: one row per fire the scheduler acted on (started, skipped), primary key
 *   (target, fire time): a second insert of the same fire fails, so it is also the exactly-once
 *   backstop behind the compare-and-set on `next_fire_at`.
 */
import { nextFireTime, parseSchedule } from '../domain/schedule.js';
import type { Row, SqlExecutor } from './sql-driver.js';
import { num } from './sql-values.js';
import type { ScheduleFireRecord, ScheduleStateRecord, ScheduleTargetKind } from './store.js';

/** The first fire time after `now`, or null when the expression is invalid or never fires again. */
export function firstFireAfter(expression: string, now: number): number | null {
  const parsed = parseSchedule(expression);
  if (!parsed.ok) return null;
  return nextFireTime(parsed.schedule, now);
}

/**
 * Makes the target's `schedules` row match its expression (null: not scheduled, the row goes).
 * An unchanged expression keeps the stored next fire time; a new one starts from `now`.
 */
export async function syncSchedule(
  db: SqlExecutor,
  kind: ScheduleTargetKind,
  uuid: string,
  expression: string | null,
  now: number,
): Promise<void> {
  if (expression === null) {
    await db.run('DELETE FROM schedules WHERE target_kind = ? AND target_uuid = ?', [kind, uuid]);
    return;
  }
  await db.run(
    `INSERT INTO schedules (target_kind, target_uuid, expression, next_fire_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (target_kind, target_uuid) DO UPDATE SET expression = excluded.expression, next_fire_at = excluded.next_fire_at, updated_at = excluded.updated_at
     WHERE schedules.expression <> excluded.expression`,
    [kind, uuid, expression, firstFireAfter(expression, now), now],
  );
}

export function mapScheduleState(row: Row): ScheduleStateRecord {
  return {
    target_kind: String(row.target_kind) as ScheduleTargetKind,
    target_uuid: String(row.target_uuid),
    expression: String(row.expression),
    next_fire_at: row.next_fire_at === null || row.next_fire_at === undefined ? null : num(row.next_fire_at),
    updated_at: num(row.updated_at),
  };
}

export function mapScheduleFire(row: Row): ScheduleFireRecord {
  return {
    target_kind: String(row.target_kind) as ScheduleTargetKind,
    target_uuid: String(row.target_uuid),
    fire_at: num(row.fire_at),
    outcome: String(row.outcome) as ScheduleFireRecord['outcome'],
    execution_uuid: row.execution_uuid === null || row.execution_uuid === undefined ? null : String(row.execution_uuid),
    covered: num(row.covered),
    decided_by: String(row.decided_by),
    created_at: num(row.created_at),
  };
}
