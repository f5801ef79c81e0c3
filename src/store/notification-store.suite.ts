/**
 * Store cases for notifications, run by `storeSuite` (store.suite.ts) on SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NotificationProfileSpec } from '../domain/notification-profile.js';
import type { StoredProfileSpec } from '../domain/notification-profile.js';
import { isUniqueViolation } from './sql-store.js';
import type { IncidentRecord } from './notification-store.js';
import type { EventRecord, ExecutionRecord, NewExecution, Store, TaskRecord } from './store.js';

const NOW = 1_700_000_000_000;

export interface NotificationStoreCaseContext {
  store(): Store;
  newTask(name: string): Promise<TaskRecord>;
  newExecution(taskUuid: string, overrides?: Partial<NewExecution>): Promise<ExecutionRecord>;
}

function profile(name: string): StoredProfileSpec {
  const spec = NotificationProfileSpec.parse({ name, methods: [{ name: 'hook', type: 'webhook', url: 'https://example.com/hook' }] });
  return spec as unknown as StoredProfileSpec;
}

function incident(subjectUuid: string, overrides: Partial<IncidentRecord> = {}): IncidentRecord {
  const event = randomUUID();
  return {
    uuid: randomUUID(),
    subject_kind: 'task',
    subject_uuid: subjectUuid,
    subject_name: 't',
    grouping_key: 'failure',
    severity: 'error',
    event_count: 1,
    first_event_uuid: event,
    last_event_uuid: event,
    opened_at: NOW,
    last_event_at: NOW,
    resolved_at: null,
    resolved_by_event_uuid: null,
    ...overrides,
  };
}

export function notificationStoreCases(c: NotificationStoreCaseContext): void {
  describe('notifications', () => {
    it('upserts profiles by name, lists them, finds who names them, and deletes them', async () => {
      const store = c.store();
      const a = await store.notifications.upsertProfile('ops', profile('ops'), NOW);
      expect(a.created).toBe(true);
      const again = await store.notifications.upsertProfile('ops', { ...profile('ops'), min_severity: 'error' }, NOW + 1);
      expect(again).toMatchObject({ created: false, record: { uuid: a.record.uuid, updated_at: NOW + 1, spec: { min_severity: 'error' } } });
      await store.notifications.upsertProfile('data', profile('data'), NOW);
      expect((await store.notifications.listProfiles({ limit: 10, offset: 0 })).items.map((p) => p.name)).toEqual(['data', 'ops']);
      expect((await store.notifications.getProfile(a.record.uuid))?.name).toBe('ops');
      expect((await store.notifications.getProfilesByName(['ops', 'missing', 'ops'])).map((p) => p.name)).toEqual(['ops']);

      const task = await c.newTask('watched');
      await store.upsertTask({ ...task.spec, notification_profiles: ['ops'] }, task.run_environment_uuid, NOW);
      expect(await store.notifications.listProfileUsers('ops')).toEqual([{ kind: 'task', name: 'watched' }]);
      expect(await store.notifications.listProfileUsers('data')).toEqual([]);
      expect(await store.notifications.deleteProfile(a.record.uuid)).toBe(true);
      expect(await store.notifications.getProfile('ops')).toBeNull();
    });

    it('hands each ended execution to exactly one notifier', async () => {
      const store = c.store();
      const task = await c.newTask('ends');
      const running = await c.newExecution(task.uuid, { status: 'RUNNING' });
      const ended = await c.newExecution(task.uuid);
      await store.updateExecution(ended.uuid, { status: 'FAILED', finished_at: NOW + 5, updated_at: NOW + 5 });
      const listed = await store.notifications.listUnnotifiedExecutions(10);
      expect(listed.map((e) => e.uuid)).toEqual([ended.uuid]);
      expect(listed[0]).toMatchObject({ status: 'FAILED', task_uuid: task.uuid, finished_at: NOW + 5 });
      const wins = await Promise.all(Array.from({ length: 4 }, () => store.notifications.markExecutionNotified(ended.uuid, NOW + 6)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await store.notifications.listUnnotifiedExecutions(10)).toEqual([]);
      expect(running.status).toBe('RUNNING');
    });

    it('routes each event once and keeps its grouping key (the type\'s default when not given)', async () => {
      const store = c.store();
      const task = await c.newTask('evented');
      const base: EventRecord = {
        uuid: randomUUID(),
        type: 'EXECUTION_FAILED',
        severity: 'error',
        message: 'failed',
        task_uuid: task.uuid,
        task_name: task.name,
        execution_uuid: null,
        details: {},
        dedupe_key: `EXECUTION_FAILED:${randomUUID()}`,
        created_at: NOW,
      };
      expect(await store.recordEvent(base)).toBe(true);
      const resolved = { ...base, uuid: randomUUID(), type: 'RESOLVED' as const, severity: 'info' as const, grouping_key: 'failure', dedupe_key: 'RESOLVED:x', created_at: NOW + 1 };
      expect(await store.recordEvent(resolved)).toBe(true);
      const unrouted = await store.notifications.listUnroutedEvents(10);
      expect(unrouted.map((e) => [e.type, e.grouping_key])).toEqual([
        ['EXECUTION_FAILED', 'failure'],
        ['RESOLVED', 'failure'],
      ]);
      expect(await store.notifications.hasUnroutedEvents(task.uuid)).toBe(true);
      expect(await store.notifications.hasUnroutedEvents(randomUUID())).toBe(false);
      const wins = await Promise.all([1, 2, 3].map(() => store.notifications.markEventRouted(base.uuid, null, NOW + 2)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect((await store.notifications.listUnroutedEvents(10)).map((e) => e.uuid)).toEqual([resolved.uuid]);
      expect((await store.notifications.getEvent(base.uuid))?.routed_at).toBe(NOW + 2);
      await store.notifications.markEventRouted(resolved.uuid, null, NOW + 3);
      expect(await store.notifications.hasUnroutedEvents(task.uuid)).toBe(false);
    });

    it('keeps one open incident per subject and grouping key until it is resolved', async () => {
      const store = c.store();
      const subject = randomUUID();
      const first = incident(subject);
      await store.notifications.openIncident(first);
      await store.notifications.openIncident(incident(subject, { grouping_key: 'missed_schedule' }));
      let refused: unknown;
      try {
        await store.notifications.openIncident(incident(subject));
      } catch (error) {
        refused = error;
      }
      expect(isUniqueViolation(refused)).toBe(true);
      const added = await store.notifications.addIncidentEvent(first.uuid, randomUUID(), NOW + 10);
      expect(added).toMatchObject({ event_count: 2, last_event_at: NOW + 10 });
      expect((await store.notifications.getOpenIncident('task', subject, 'failure'))?.uuid).toBe(first.uuid);
      expect(await store.notifications.listOpenIncidents('task', subject)).toHaveLength(2);
      await store.notifications.resolveIncident(first.uuid, randomUUID(), NOW + 20);
      expect(await store.notifications.getOpenIncident('task', subject, 'failure')).toBeNull();
      expect((await store.notifications.getIncident(first.uuid))?.resolved_at).toBe(NOW + 20);
      // A new one may open now.
      await store.notifications.openIncident(incident(subject));
      expect(await store.notifications.listOpenIncidents('task', subject)).toHaveLength(2);
    });

    it('triggers a postponed alert once, when it is due and its incident still open', async () => {
      const store = c.store();
      const open = incident(randomUUID());
      await store.notifications.openIncident(open);
      const profileUuid = randomUUID();
      await store.notifications.putAlert({ incident_uuid: open.uuid, profile_uuid: profileUuid, profile_name: 'p', state: 'pending', due_at: NOW + 300_000, triggered_at: null, methods: [] });
      expect(await store.notifications.listDueAlerts(NOW + 299_999, 10)).toEqual([]);
      expect((await store.notifications.listDueAlerts(NOW + 300_000, 10)).map((a) => a.incident_uuid)).toEqual([open.uuid]);
      const wins = await Promise.all([1, 2].map(() => store.notifications.triggerAlert(open.uuid, profileUuid, ['hook'], NOW + 300_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await store.notifications.listAlerts(open.uuid)).toEqual([
        expect.objectContaining({ state: 'triggered', methods: ['hook'], triggered_at: NOW + 300_000 }),
      ]);
      expect(await store.notifications.listDueAlerts(NOW + 400_000, 10)).toEqual([]);
    });

    it('claims each due delivery for one server at a time, retries, reclaims expired leases, and counts for rate limits', async () => {
      const store = c.store();
      const profileUuid = randomUUID();
      const uuids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const uuid = randomUUID();
        uuids.push(uuid);
        await store.notifications.enqueueDelivery({
          uuid,
          event_uuid: randomUUID(),
          incident_uuid: null,
          profile_uuid: profileUuid,
          profile_name: 'p',
          method_name: 'hook',
          method_type: 'webhook',
          action: 'trigger',
          max_attempts: 3,
          next_attempt_at: i < 25 ? NOW : NOW + 60_000,
          created_at: NOW + i,
        });
      }
      // Three servers claim at once: every due row once, none twice.
      const claims = await Promise.all(
        ['a', 'b', 'c'].map((instanceId) =>
          store.transaction((tx) => tx.notifications.claimDeliveries({ instanceId, now: NOW, leaseMs: 120_000, limit: 10 })),
        ),
      );
      const claimed = claims.flat().map((d) => d.uuid);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.length).toBeGreaterThanOrEqual(20);
      const rest = await store.transaction((tx) => tx.notifications.claimDeliveries({ instanceId: 'a', now: NOW, leaseMs: 120_000, limit: 100 }));
      expect(new Set([...claimed, ...rest.map((d) => d.uuid)])).toEqual(new Set(uuids.slice(0, 25)));

      const [first, second, third] = claims[0]!;
      const owner = 'a';
      expect(await store.notifications.finishDelivery(first!.uuid, 'b', { kind: 'delivered', status: 200, now: NOW + 1 })).toBe(false);
      expect(await store.notifications.finishDelivery(first!.uuid, owner, { kind: 'delivered', status: 200, now: NOW + 1 })).toBe(true);
      await store.notifications.finishDelivery(second!.uuid, owner, { kind: 'retry', status: 500, error: 'HTTP 500', now: NOW + 1, next_attempt_at: NOW + 10_001 });
      await store.notifications.finishDelivery(third!.uuid, owner, { kind: 'failed', status: 400, error: 'HTTP 400', now: NOW + 1 });
      const [delivered] = await store.notifications.listDeliveries(first!.event_uuid);
      expect(delivered).toMatchObject({ status: 'delivered', attempts: 1, delivered_at: NOW + 1, response_status: 200, history: [{ at: NOW + 1, ok: true, status: 200, error: null }] });
      const [retried] = await store.notifications.listDeliveries(second!.event_uuid);
      expect(retried).toMatchObject({ status: 'pending', attempts: 1, next_attempt_at: NOW + 10_001, last_error: 'HTTP 500' });
      expect((await store.notifications.listDeliveries(third!.event_uuid))[0]).toMatchObject({ status: 'failed', attempts: 1 });

      // Not due before its time; due after, with the expired leases of the others.
      const early = await store.transaction((tx) => tx.notifications.claimDeliveries({ instanceId: 'b', now: NOW + 10_000, leaseMs: 120_000, limit: 100 }));
      expect(early.map((d) => d.uuid)).not.toContain(second!.uuid);
      const later = await store.transaction((tx) => tx.notifications.claimDeliveries({ instanceId: 'b', now: NOW + 130_001, leaseMs: 120_000, limit: 100 }));
      expect(later.map((d) => d.uuid)).toContain(uuids[29]);
      // The leases a crashed server left are taken over once they end.
      expect(later.length).toBeGreaterThan(20);

      expect(await store.notifications.countDelivered(profileUuid, 'hook', NOW)).toBe(1);
      expect(await store.notifications.countDelivered(profileUuid, 'hook', NOW + 2)).toBe(0);
      expect(await store.notifications.oldestDeliveredSince(profileUuid, 'hook', NOW)).toBe(NOW + 1);
    });
  });
}
