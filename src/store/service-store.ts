/**
 * What Berth remembers of each Service between monitor passes (`service_states`, one row per
 * Task with `service:` settings that was deployed or observed):
 *
 * - the last observation (ECS's counts, deployments and recent events, as `ServiceStatus`) and
 *   when it was made, so `berth services ls` answers without calling AWS;
 * - since when the running count has been below the Service's minimum, and whether the
 *   SERVICE_BELOW_DESIRED_COUNT event for that spell was recorded (its resolution is recorded
 *   when the count comes back);
 * - the revision Berth last deployed (and the one before), and when;
 * - the Service's ECS tasks already turned into executions (task ARN → execution uuid), so each
 *   becomes exactly one execution.
 *
 * Writers hold the Task's row lock (`Store.lockTask`) inside a transaction, so two servers never
 * decide about one Service at once.
 */
import type { SqlExecutor, Row } from './sql-driver.js';
import { fromJson, num, numOrNull, placeholders } from './sql-values.js';

export interface ServiceStateRecord {
  task_uuid: string;
  /** The last `ServiceStatus` seen (JSON), or null before the first observation. */
  observation: Record<string, unknown> | null;
  observed_at: number | null;
  /** When the running count was first seen below the minimum in the current spell; null when it is not. */
  below_minimum_since: number | null;
  /** The dedupe key of the event recorded for the current spell, or null when none was. */
  below_minimum_event: string | null;
  deployed_task_definition: string | null;
  previous_task_definition: string | null;
  deployed_at: number | null;
  /** ECS task ARN → the execution it became. */
  known_tasks: Record<string, string>;
  updated_at: number;
}

export interface ServiceStore {
  get(taskUuid: string): Promise<ServiceStateRecord | null>;
  /** The states of these Tasks (those without one are absent). */
  getMany(taskUuids: readonly string[]): Promise<Map<string, ServiceStateRecord>>;
  /** Creates or replaces the Task's row. */
  put(record: ServiceStateRecord): Promise<void>;
  delete(taskUuid: string): Promise<void>;
}

/** An empty state for a Service not seen before. */
export function newServiceState(taskUuid: string, now: number): ServiceStateRecord {
  return {
    task_uuid: taskUuid,
    observation: null,
    observed_at: null,
    below_minimum_since: null,
    below_minimum_event: null,
    deployed_task_definition: null,
    previous_task_definition: null,
    deployed_at: null,
    known_tasks: {},
    updated_at: now,
  };
}

function mapState(row: Row): ServiceStateRecord {
  return {
    task_uuid: String(row.task_uuid),
    observation: fromJson<Record<string, unknown> | null>(row.observation, null),
    observed_at: numOrNull(row.observed_at),
    below_minimum_since: numOrNull(row.below_minimum_since),
    below_minimum_event: (row.below_minimum_event ?? null) as string | null,
    deployed_task_definition: (row.deployed_task_definition ?? null) as string | null,
    previous_task_definition: (row.previous_task_definition ?? null) as string | null,
    deployed_at: numOrNull(row.deployed_at),
    known_tasks: fromJson<Record<string, string>>(row.known_tasks, {}),
    updated_at: num(row.updated_at),
  };
}

export class SqlServiceStore implements ServiceStore {
  constructor(private readonly db: SqlExecutor) {}

  async get(taskUuid: string): Promise<ServiceStateRecord | null> {
    const rows = await this.db.query('SELECT * FROM service_states WHERE task_uuid = ?', [taskUuid]);
    return rows[0] ? mapState(rows[0]) : null;
  }

  async getMany(taskUuids: readonly string[]): Promise<Map<string, ServiceStateRecord>> {
    const out = new Map<string, ServiceStateRecord>();
    for (let i = 0; i < taskUuids.length; i += 500) {
      const chunk = taskUuids.slice(i, i + 500);
      const rows = await this.db.query(`SELECT * FROM service_states WHERE task_uuid IN (${placeholders(chunk.length)})`, [...chunk]);
      for (const row of rows) out.set(String(row.task_uuid), mapState(row));
    }
    return out;
  }

  async put(r: ServiceStateRecord): Promise<void> {
    const values = [
      r.observation === null ? null : JSON.stringify(r.observation),
      r.observed_at,
      r.below_minimum_since,
      r.below_minimum_event,
      r.deployed_task_definition,
      r.previous_task_definition,
      r.deployed_at,
      JSON.stringify(r.known_tasks),
      r.updated_at,
    ];
    await this.db.run(
      `INSERT INTO service_states (task_uuid, observation, observed_at, below_minimum_since, below_minimum_event,
                                   deployed_task_definition, previous_task_definition, deployed_at, known_tasks, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (task_uuid) DO UPDATE SET observation = excluded.observation, observed_at = excluded.observed_at,
         below_minimum_since = excluded.below_minimum_since, below_minimum_event = excluded.below_minimum_event,
         deployed_task_definition = excluded.deployed_task_definition, previous_task_definition = excluded.previous_task_definition,
         deployed_at = excluded.deployed_at, known_tasks = excluded.known_tasks, updated_at = excluded.updated_at`,
      [r.task_uuid, ...values],
    );
  }

  async delete(taskUuid: string): Promise<void> {
    await this.db.run('DELETE FROM service_states WHERE task_uuid = ?', [taskUuid]);
  }
}
