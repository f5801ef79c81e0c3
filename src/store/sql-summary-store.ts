import { TERMINAL_STATUSES } from '../domain/execution-status.js';
import type { ExecutionStatus } from '../domain/execution-status.js';
import type { SqlExecutor } from './sql-driver.js';
import { num, numOrNull, placeholders } from './sql-values.js';
import type { ScheduleTargetKind } from './store.js';
import type { SummaryStore, TaskSummaryRecord, UpcomingFireRecord } from './summary-store.js';

/** Tasks per statement (SQLite allows 500 terms in a compound SELECT); a page of the API is at most 1,000. */
const CHUNK = 100;

/** The summary queries over any SqlExecutor (same SQL on SQLite and PostgreSQL). */
export class SqlSummaryStore implements SummaryStore {
  constructor(private readonly db: SqlExecutor) {}

  async taskSummaries(taskUuids: readonly string[], window: number): Promise<Map<string, TaskSummaryRecord>> {
    const out = new Map<string, TaskSummaryRecord>();
    const unique = [...new Set(taskUuids)];
    for (const uuid of unique) out.set(uuid, { task_uuid: uuid, last_execution: null, finished: 0, succeeded: 0, next_fire_at: null });
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      // Each Task's newest `window` executions, one index range with a LIMIT per Task (the
      // (task_uuid, created_at) index), in one statement: the work is bounded by the page size
      // and the window, however long a Task's history is.
      const rows = await this.db.query(
        chunk
          .map(
            (_, n) =>
              `SELECT * FROM (SELECT task_uuid, uuid, status, created_at, started_at, finished_at FROM task_executions
               WHERE task_uuid = ? ORDER BY created_at DESC, uuid DESC LIMIT ?) AS newest_${n}`,
          )
          .join(' UNION ALL '),
        chunk.flatMap((uuid) => [uuid, window]),
      );
      for (const row of rows) {
        const summary = out.get(String(row.task_uuid));
        if (!summary) continue;
        const status = row.status as ExecutionStatus;
        const created = num(row.created_at);
        const last = summary.last_execution;
        if (!last || created > last.created_at || (created === last.created_at && String(row.uuid) > last.uuid)) {
          summary.last_execution = {
            uuid: String(row.uuid),
            status,
            created_at: created,
            started_at: numOrNull(row.started_at),
            finished_at: numOrNull(row.finished_at),
          };
        }
        if (TERMINAL_STATUSES.has(status)) {
          summary.finished += 1;
          if (status === 'SUCCEEDED') summary.succeeded += 1;
        }
      }
      const fires = await this.db.query(
        `SELECT target_uuid, next_fire_at FROM schedules WHERE target_kind = 'task' AND target_uuid IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const row of fires) {
        const summary = out.get(String(row.target_uuid));
        if (summary) summary.next_fire_at = numOrNull(row.next_fire_at);
      }
    }
    return out;
  }

  async countExecutionsByStatus(since: number): Promise<Partial<Record<ExecutionStatus, number>>> {
    const rows = await this.db.query('SELECT status, COUNT(*) AS n FROM task_executions WHERE created_at >= ? GROUP BY status', [since]);
    const out: Partial<Record<ExecutionStatus, number>> = {};
    for (const row of rows) out[row.status as ExecutionStatus] = num(row.n);
    return out;
  }

  async listUpcomingFires(limit: number): Promise<UpcomingFireRecord[]> {
    const rows = await this.db.query(
      `SELECT s.target_kind, s.target_uuid, s.expression, s.next_fire_at, COALESCE(t.name, w.name) AS name
       FROM schedules s
       LEFT JOIN tasks t ON s.target_kind = 'task' AND t.uuid = s.target_uuid
       LEFT JOIN workflows w ON s.target_kind = 'workflow' AND w.uuid = s.target_uuid
       WHERE s.next_fire_at IS NOT NULL
       ORDER BY s.next_fire_at, s.target_uuid LIMIT ?`,
      [limit],
    );
    return rows
      .filter((row) => row.name !== null && row.name !== undefined)
      .map((row) => ({
        target_kind: row.target_kind as ScheduleTargetKind,
        target_uuid: String(row.target_uuid),
        name: String(row.name),
        expression: String(row.expression),
        next_fire_at: num(row.next_fire_at),
      }));
  }
}
