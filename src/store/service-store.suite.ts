/**
 * Store cases for Services (`service_states`), run by `storeSuite` (store.suite.ts) on SQLite and
 * PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { newServiceState } from './service-store.js';
import type { Store, TaskRecord } from './store.js';

const NOW = 1_700_000_000_000;

export interface ServiceStoreCaseContext {
  store(): Store;
  newTask(name: string): Promise<TaskRecord>;
}

export function serviceStoreCases(c: ServiceStoreCaseContext): void {
  describe('service states', () => {
    it('creates, replaces, reads many and deletes a Service\'s state; it goes with its Task', async () => {
      const store = c.store();
      const web = await c.newTask('web');
      const worker = await c.newTask('worker');
      expect(await store.services.get(web.uuid)).toBeNull();
      await store.services.put(newServiceState(web.uuid, NOW));
      expect(await store.services.get(web.uuid)).toEqual({ ...newServiceState(web.uuid, NOW) });
      const observed = {
        ...newServiceState(web.uuid, NOW + 1),
        observation: { status: 'ACTIVE', running_count: 1, desired_count: 2, events: [{ message: 'has reached a steady state.' }] },
        observed_at: NOW + 1,
        below_minimum_since: NOW,
        below_minimum_event: 'SERVICE_BELOW_DESIRED_COUNT:x:1',
        deployed_task_definition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/berth-web:2',
        previous_task_definition: 'arn:aws:ecs:us-east-1:123456789012:task-definition/berth-web:1',
        deployed_at: NOW + 1,
        known_tasks: { 'arn:aws:ecs:us-east-1:123456789012:task/c/1': '0b6f3c9e-1d2a-4c5b-9e8f-7a6b5c4d3e2f' },
      };
      await store.services.put(observed);
      expect(await store.services.get(web.uuid)).toEqual(observed);
      await store.services.put(newServiceState(worker.uuid, NOW));
      const many = await store.services.getMany([web.uuid, worker.uuid, '00000000-0000-4000-8000-000000000000']);
      expect([...many.keys()].sort()).toEqual([web.uuid, worker.uuid].sort());
      expect(many.get(web.uuid)?.known_tasks).toEqual(observed.known_tasks);
      await store.services.delete(worker.uuid);
      expect(await store.services.get(worker.uuid)).toBeNull();
      // Inside a transaction, the same rows.
      await store.transaction(async (tx) => {
        await tx.lockTask(web.uuid);
        expect((await tx.services.get(web.uuid))?.observed_at).toBe(NOW + 1);
      });
      await store.deleteTask(web.uuid);
      expect(await store.services.get(web.uuid)).toBeNull();
    });
  });
}
