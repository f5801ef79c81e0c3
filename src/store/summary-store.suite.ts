/**
 * Store cases for the summary queries (summary-store.ts), run by `storeSuite` (store.suite.ts)
 * on SQLite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import type { TaskSpecInput } from '../domain/task.js';
import type { ExecutionRecord, NewExecution, Store, TaskRecord } from './store.js';

const NOW = 1_700_000_000_000;

export interface SummaryStoreCaseContext {
  store(): Store;
  newTask(name: string, extra?: Partial<TaskSpecInput>): Promise<TaskRecord>;
  newExecution(taskUuid: string, overrides?: Partial<NewExecution>): Promise<ExecutionRecord>;
}

export function summaryStoreCases(c: SummaryStoreCaseContext): void {
  describe('summaries', () => {
    it("gives each Task its newest execution and the success of its newest ones, in one call", async () => {
      const a = await c.newTask('a');
      const b = await c.newTask('b');
      const never = await c.newTask('never');
      // a: 25 executions, oldest first: 20 SUCCEEDED, then FAILED, SUCCEEDED, FAILED, STOPPED, RUNNING.
      const statuses = [...Array(20).fill('SUCCEEDED'), 'FAILED', 'SUCCEEDED', 'FAILED', 'STOPPED', 'RUNNING'];
      let newest: ExecutionRecord | null = null;
      for (const [i, status] of statuses.entries()) {
        newest = await c.newExecution(a.uuid, { created_at: NOW + i * 1000, status, started_at: NOW + i * 1000 });
      }
      await c.newExecution(b.uuid, { created_at: NOW, status: 'FAILED' });
      const summaries = await c.store().summaries.taskSummaries([a.uuid, b.uuid, never.uuid], 20);
      expect(summaries.size).toBe(3);
      const sa = summaries.get(a.uuid)!;
      expect(sa.last_execution?.uuid).toBe(newest!.uuid);
      expect(sa.last_execution?.status).toBe('RUNNING');
      expect(sa.last_execution?.created_at).toBe(NOW + 24_000);
      // The newest 20: the RUNNING one is not finished; of the other 19, 2 FAILED and 1 STOPPED.
      expect(sa.finished).toBe(19);
      expect(sa.succeeded).toBe(16);
      expect(summaries.get(b.uuid)).toMatchObject({ finished: 1, succeeded: 0, next_fire_at: null });
      expect(summaries.get(never.uuid)).toEqual({ task_uuid: never.uuid, last_execution: null, finished: 0, succeeded: 0, next_fire_at: null });
      expect((await c.store().summaries.taskSummaries([], 20)).size).toBe(0);
    });

    it("reads a scheduled Task's next fire time, and lists the next fires of Tasks and Workflows", async () => {
      const nightly = await c.newTask('nightly', { schedule: '0 3 * * *' });
      const hourly = await c.newTask('hourly', { schedule: '@hourly' });
      await c.newTask('unscheduled');
      await c.newTask('paused', { schedule: '@hourly', enabled: false });
      const summaries = await c.store().summaries.taskSummaries([nightly.uuid, hourly.uuid], 20);
      const nightlyFire = summaries.get(nightly.uuid)!.next_fire_at!;
      expect(new Date(nightlyFire).toISOString()).toMatch(/T03:00:00\.000Z$/);
      expect(nightlyFire).toBeGreaterThan(NOW);
      const upcoming = await c.store().summaries.listUpcomingFires(10);
      expect(upcoming.map((u) => u.name)).toEqual(['hourly', 'nightly']);
      expect(upcoming[0]).toMatchObject({ target_kind: 'task', target_uuid: hourly.uuid, expression: '@hourly' });
      expect(upcoming[0]!.next_fire_at).toBeLessThanOrEqual(upcoming[1]!.next_fire_at);
      expect(await c.store().summaries.listUpcomingFires(1)).toHaveLength(1);
    });

    it('counts executions by status from a time on', async () => {
      const t = await c.newTask('counted');
      await c.newExecution(t.uuid, { created_at: NOW - 1, status: 'FAILED' });
      await c.newExecution(t.uuid, { created_at: NOW, status: 'SUCCEEDED' });
      await c.newExecution(t.uuid, { created_at: NOW + 5, status: 'SUCCEEDED' });
      await c.newExecution(t.uuid, { created_at: NOW + 6, status: 'RUNNING' });
      expect(await c.store().summaries.countExecutionsByStatus(NOW)).toEqual({ SUCCEEDED: 2, RUNNING: 1 });
      expect(await c.store().summaries.countExecutionsByStatus(NOW + 1000)).toEqual({});
    });
  });
}
