import { randomUUID } from 'node:crypto';
import { coerceError } from '../../domain/errors.js';
import { EVENT_DEFAULTS } from '../../domain/event.js';
import type { EventType } from '../../domain/event.js';
import { methodsFor, postponedDueAt, postponementAllows } from '../../domain/notification-profile.js';
import type { StoredMethod, StoredSecret, SubjectKind } from '../../domain/notification-profile.js';
import type { DeliveryAction, NotificationContent } from '../../domain/notification-message.js';
import type { DeliveryRecord, IncidentRecord, NotificationProfileRecord, UnnotifiedExecution } from '../../store/notification-store.js';
import type { EventRecord, Store } from '../../store/store.js';
import type { ServerContext } from '../context.js';
import { raiseEvent } from '../event-recorder.js';
import { Loop, LoopRunner } from '../loop.js';
import { isUniqueViolation } from '../../store/sql-store.js';
import type { SecretBox } from '../secret-box.js';
import { readDeliverySecret } from './delivery-secrets.js';
import type { HostEnvironment } from './delivery-secrets.js';
import { sendThroughMethod } from './senders.js';
import type { SendResult } from './senders.js';

export interface NotifierOptions {
  /** Milliseconds between passes. */
  intervalMs: number;
  /** Base URL of links in messages, e.g. https://berth.example.com. */
  publicUrl: () => string;
  box: SecretBox;
  /** Where `ENV:` references of delivery secrets are read. */
  hostEnvironment: HostEnvironment;
  /** Deliveries sent at once. (Default: 8) */
  concurrency?: number;
  /** First retry delay in ms; each next one doubles, up to `maxBackoffMs`. (Default: 10000) */
  initialBackoffMs?: number;
  /** (Default: 3600000, one hour) */
  maxBackoffMs?: number;
  /** One try's time limit in ms. (Default: 10000) */
  sendTimeoutMs?: number;
}

/** Rows handled per step per pass; a full batch asks for another pass at once. */
const BATCH = 100;
const RATE_WINDOW_MS = 3_600_000;

/** Thrown inside a routing transaction to roll it back: another server routed the event first. */
class AlreadyRouted extends Error {}

/** How an ended execution becomes an event (null: it does not; liveness recorded its own). */
function executionEventType(e: UnnotifiedExecution): EventType | 'SUCCEEDED' | null {
  switch (e.status) {
    case 'SUCCEEDED':
      return 'SUCCEEDED';
    case 'FAILED':
      return e.stop_reason === 'FAILED_TO_START' ? null : 'EXECUTION_FAILED';
    case 'TERMINATED_AFTER_TIME_OUT':
      return 'EXECUTION_TIMED_OUT';
    case 'ABANDONED':
      return e.stop_reason === 'MISSING_HEARTBEAT' ? null : 'EXECUTION_ABANDONED';
    default:
      return null;
  }
}

/** The backoff before try `attempts + 1`, after `attempts` failed tries. */
export function backoffMs(attempts: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * The notifier: turns ended executions into events, groups events into incidents, and delivers
 * them through Notification Profiles (docs/notifications.md).
 *
 * Each pass, in order, each step in batches:
 * 1. ended Task and Workflow Executions not looked at yet become events (EXECUTION_FAILED, …) or,
 *    for a success, RESOLVED events of the subject's open incidents — marked looked-at by
 *    compare-and-set in the same transaction, so exactly one server does it;
 * 2. unrouted events (from step 1, the liveness checker, or any `raiseEvent` caller) join or open
 *    their incident, or resolve it; the profiles that should hear of it get queued deliveries;
 * 3. postponed alerts whose time has come are triggered;
 * 4. due deliveries are claimed (row locks on PostgreSQL), sent concurrently with a time limit,
 *    and recorded: delivered, retried with exponential backoff, or failed after `max_attempts`.
 *    A method over its `max_per_hour` waits, without losing the delivery.
 * Nothing here throws out of a pass for one bad row: it is logged and the rest carry on.
 */
export class Notifier extends LoopRunner {
  protected readonly loop: Loop;
  private readonly concurrency: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly ctx: ServerContext,
    private readonly options: NotifierOptions,
  ) {
    super();
    this.concurrency = options.concurrency ?? 8;
    this.initialBackoffMs = options.initialBackoffMs ?? 10_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 3_600_000;
    this.loop = new Loop('notifier', options.intervalMs, () => this.pass(), ctx.log);
  }

  /** One pass; true when a step had a full batch (more to do at once). */
  async pass(): Promise<boolean> {
    let more = false;
    more = (await this.step('executions', () => this.sweepExecutions())) || more;
    more = (await this.step('workflow executions', () => this.sweepWorkflowExecutions())) || more;
    more = (await this.step('routing', () => this.routeEvents())) || more;
    more = (await this.step('postponed alerts', () => this.triggerDueAlerts())) || more;
    more = (await this.step('deliveries', () => this.deliver())) || more;
    return more;
  }

  private async step(name: string, fn: () => Promise<boolean>): Promise<boolean> {
    try {
      return await fn();
    } catch (thrown) {
      this.ctx.log.error(`notifier: ${name} step failed; will retry`, { error: coerceError(thrown) });
      return false;
    }
  }

  private async guarded(what: Record<string, unknown>, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (thrown) {
      if (thrown instanceof AlreadyRouted) return;
      if (isUniqueViolation(thrown)) {
        // Another server opened the same incident at the same moment: joined on the next pass.
        this.ctx.log.debug('notifier: a row was handled concurrently by another server; retried on the next pass', what);
        return;
      }
      this.ctx.log.error('notifier: could not handle a row; it is retried on the next pass', { ...what, error: coerceError(thrown) });
    }
  }

  // ---- 1. ended executions → events ----

  private async sweepExecutions(): Promise<boolean> {
    const ended = await this.ctx.store.notifications.listUnnotifiedExecutions(BATCH);
    // Tasks with a success put off to the next pass: their later executions wait too, in order.
    const waiting = new Set<string>();
    for (const e of ended) {
      if (waiting.has(e.task_uuid)) continue;
      await this.guarded({ execution: e.uuid }, async () => {
        if ((await this.executionEnded(e)) === 'later') waiting.add(e.task_uuid);
      });
    }
    return ended.length === BATCH && waiting.size === 0;
  }

  /**
   * Records the event of an ended execution. A success whose Task has failure events not routed
   * yet waits for the next pass ('later'): it must see the incident they open, to resolve it.
   */
  private async executionEnded(e: UnnotifiedExecution): Promise<'done' | 'later'> {
    const now = this.ctx.clock.now();
    return this.ctx.store.transaction(async (tx) => {
      const kind = executionEventType(e);
      if (kind === 'SUCCEEDED' && (await tx.notifications.hasUnroutedEvents(e.task_uuid))) return 'later';
      if (!(await tx.notifications.markExecutionNotified(e.uuid, now))) return 'done';
      if (kind === null) return 'done';
      // Most executions succeed with nothing open: that costs no read of the Task.
      const resolvable =
        kind === 'SUCCEEDED'
          ? (await tx.notifications.listOpenIncidents('task', e.task_uuid)).filter((i) => i.grouping_key === 'failure' || i.grouping_key === 'missed_schedule')
          : [];
      if (kind === 'SUCCEEDED' && resolvable.length === 0) return 'done';
      const task = await tx.getTask(e.task_uuid);
      if (!task) return 'done';
      const subject = { uuid: task.uuid, name: task.name };
      if (kind === 'SUCCEEDED') {
        for (const incident of resolvable) {
          await raiseEvent(tx, now, {
            type: 'RESOLVED',
            grouping_key: incident.grouping_key,
            task: subject,
            execution_uuid: e.uuid,
            message: `Task "${task.name}" succeeded again (execution ${e.uuid}) after ${incident.event_count} ${incident.grouping_key === 'failure' ? 'failure' : 'missed run'} event(s).`,
            details: { incident_opened_at: new Date(incident.opened_at).toISOString(), incident_events: incident.event_count },
            dedupe_key: `RESOLVED:${incident.uuid}`,
          });
        }
        return 'done';
      }
      const reason = e.failure?.message ?? `The execution ended ${e.status}.`;
      await raiseEvent(tx, now, {
        type: kind,
        task: subject,
        execution_uuid: e.uuid,
        message: `Execution ${e.uuid} of Task "${task.name}" ended ${e.status}: ${reason}`,
        details: {
          status: e.status,
          exit_code: e.exit_code,
          attempts: e.attempt,
          run_reason: e.run_reason,
          stop_reason: e.stop_reason,
          failure_type: e.failure?.type ?? null,
          finished_at: new Date(e.finished_at).toISOString(),
        },
        dedupe_key: `${kind}:${e.uuid}`,
      });
      return 'done';
    });
  }

  private async sweepWorkflowExecutions(): Promise<boolean> {
    const ended = await this.ctx.store.notifications.listUnnotifiedWorkflowExecutions(BATCH);
    const waiting = new Set<string>();
    for (const e of ended) {
      if (waiting.has(e.workflow_uuid)) continue;
      await this.guarded({ workflow_execution: e.uuid }, async () => {
        const now = this.ctx.clock.now();
        await this.ctx.store.transaction(async (tx) => {
          // As for Tasks: a success waits until the failures before it are routed.
          if (e.status === 'SUCCEEDED' && (await tx.notifications.hasUnroutedEvents(e.workflow_uuid, 'workflow'))) {
            waiting.add(e.workflow_uuid);
            return;
          }
          if (!(await tx.notifications.markWorkflowExecutionNotified(e.uuid, now))) return;
          const workflow = await tx.workflows.getWorkflow(e.workflow_uuid);
          if (!workflow) return;
          const subject = { uuid: workflow.uuid, name: workflow.name };
          if (e.status === 'SUCCEEDED') {
            for (const incident of await tx.notifications.listOpenIncidents('workflow', workflow.uuid)) {
              await raiseEvent(tx, now, {
                type: 'RESOLVED',
                grouping_key: incident.grouping_key,
                workflow: subject,
                workflow_execution_uuid: e.uuid,
                message: `Workflow "${workflow.name}" succeeded again (execution ${e.uuid}).`,
                dedupe_key: `RESOLVED:${incident.uuid}`,
              });
            }
          } else if (e.status === 'FAILED' || e.status === 'TERMINATED_AFTER_TIME_OUT') {
            const failure = e.failure as { message?: string } | null;
            await raiseEvent(tx, now, {
              type: 'WORKFLOW_FAILED',
              workflow: subject,
              workflow_execution_uuid: e.uuid,
              message: `Workflow Execution ${e.uuid} of Workflow "${workflow.name}" ended ${e.status}${failure?.message ? `: ${failure.message}` : '.'}`,
              details: { status: e.status },
              dedupe_key: `WORKFLOW_FAILED:${e.uuid}`,
            });
          }
        });
      });
    }
    return ended.length === BATCH && waiting.size === 0;
  }

  // ---- 2. events → incidents and deliveries ----

  private async routeEvents(): Promise<boolean> {
    const events = await this.ctx.store.notifications.listUnroutedEvents(BATCH);
    for (const event of events) await this.guarded({ event: event.uuid }, () => this.route(event));
    return events.length === BATCH;
  }

  /** Profiles that hear about the subject's events: the nearest level that names any (explicit [] included). */
  private async profilesFor(tx: Store, event: EventRecord): Promise<NotificationProfileRecord[]> {
    let names: string[] | undefined;
    if (event.task_uuid) {
      const task = await tx.getTask(event.task_uuid);
      if (!task) return [];
      names = task.spec.notification_profiles;
      if (names === undefined && event.execution_uuid) {
        const run = await tx.notifications.workflowOfExecution(event.execution_uuid);
        if (run) names = (await tx.workflows.getWorkflow(run.workflow_uuid))?.spec.notification_profiles;
      }
      if (names === undefined) names = (await tx.getRunEnvironment(task.run_environment_uuid))?.spec.notification_profiles;
    } else if (event.workflow_uuid) {
      names = (await tx.workflows.getWorkflow(event.workflow_uuid))?.spec.notification_profiles;
    }
    return names && names.length > 0 ? tx.notifications.getProfilesByName(names) : [];
  }

  private async route(event: EventRecord): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.store.transaction(async (tx) => {
      const subject: { kind: SubjectKind; uuid: string; name: string } | null = event.task_uuid
        ? { kind: 'task', uuid: event.task_uuid, name: event.task_name ?? event.task_uuid }
        : event.workflow_uuid
          ? { kind: 'workflow', uuid: event.workflow_uuid, name: event.workflow_name ?? event.workflow_uuid }
          : null;
      const groupingKey = event.grouping_key ?? EVENT_DEFAULTS[event.type]?.grouping_key ?? null;
      if (!subject || !groupingKey) {
        if (!(await tx.notifications.markEventRouted(event.uuid, null, now))) throw new AlreadyRouted();
        return;
      }
      const open = await tx.notifications.getOpenIncident(subject.kind, subject.uuid, groupingKey);
      if (event.type === 'RESOLVED') {
        if (!(await tx.notifications.markEventRouted(event.uuid, open?.uuid ?? null, now))) throw new AlreadyRouted();
        if (open) await this.resolve(tx, open, event, now);
        return;
      }
      let incident: IncidentRecord;
      if (open) incident = await tx.notifications.addIncidentEvent(open.uuid, event.uuid, event.created_at);
      else {
        incident = {
          uuid: randomUUID(),
          subject_kind: subject.kind,
          subject_uuid: subject.uuid,
          subject_name: subject.name,
          grouping_key: groupingKey,
          severity: event.severity,
          event_count: 1,
          first_event_uuid: event.uuid,
          last_event_uuid: event.uuid,
          opened_at: event.created_at,
          last_event_at: event.created_at,
          resolved_at: null,
          resolved_by_event_uuid: null,
        };
        // A unique violation (another server opened it first) rolls back; the next pass joins it.
        await tx.notifications.openIncident(incident);
      }
      if (!(await tx.notifications.markEventRouted(event.uuid, incident.uuid, now))) throw new AlreadyRouted();
      const alerts = new Map((await tx.notifications.listAlerts(incident.uuid)).map((a) => [a.profile_uuid, a]));
      for (const profile of await this.profilesFor(tx, event)) {
        const methods = methodsFor(profile.spec, event.type, event.severity);
        if (methods.length === 0) continue;
        const alert = alerts.get(profile.uuid);
        // Told already (or given up on): one incident, one alert per profile.
        if (alert && alert.state !== 'pending') continue;
        if (postponementAllows(profile.spec, incident.event_count, incident.opened_at, now)) {
          await tx.notifications.putAlert({
            incident_uuid: incident.uuid,
            profile_uuid: profile.uuid,
            profile_name: profile.name,
            state: 'triggered',
            due_at: null,
            triggered_at: now,
            methods,
          });
          await this.enqueue(tx, profile, methods, event.uuid, incident.uuid, 'trigger', now);
        } else if (!alert) {
          await tx.notifications.putAlert({
            incident_uuid: incident.uuid,
            profile_uuid: profile.uuid,
            profile_name: profile.name,
            state: 'pending',
            due_at: postponedDueAt(profile.spec, incident.opened_at),
            triggered_at: null,
            methods: [],
          });
        }
      }
    });
  }

  private async resolve(tx: Store, incident: IncidentRecord, event: EventRecord, now: number): Promise<void> {
    await tx.notifications.resolveIncident(incident.uuid, event.uuid, event.created_at);
    for (const alert of await tx.notifications.listAlerts(incident.uuid)) {
      if (alert.state === 'pending') {
        await tx.notifications.putAlert({ ...alert, state: 'cancelled', due_at: null });
        continue;
      }
      if (alert.state !== 'triggered') continue;
      const profile = await tx.notifications.getProfile(alert.profile_uuid);
      if (!profile) continue;
      const methods = alert.methods.filter((name) => profile.spec.methods.some((m) => m.name === name));
      await this.enqueue(tx, profile, methods, event.uuid, incident.uuid, 'resolve', now);
    }
  }

  private async enqueue(
    tx: Store,
    profile: NotificationProfileRecord,
    methodNames: readonly string[],
    eventUuid: string,
    incidentUuid: string | null,
    action: DeliveryAction,
    now: number,
  ): Promise<void> {
    for (const name of methodNames) {
      const method = profile.spec.methods.find((m) => m.name === name);
      if (!method) continue;
      await tx.notifications.enqueueDelivery({
        uuid: randomUUID(),
        event_uuid: eventUuid,
        incident_uuid: incidentUuid,
        profile_uuid: profile.uuid,
        profile_name: profile.name,
        method_name: method.name,
        method_type: method.type,
        action,
        max_attempts: Number(method.max_attempts ?? 8),
        next_attempt_at: now,
        created_at: now,
      });
    }
  }

  // ---- 3. postponed alerts ----

  private async triggerDueAlerts(): Promise<boolean> {
    const now = this.ctx.clock.now();
    const due = await this.ctx.store.notifications.listDueAlerts(now, BATCH);
    for (const alert of due) {
      await this.guarded({ incident: alert.incident_uuid, profile: alert.profile_name }, async () => {
        await this.ctx.store.transaction(async (tx) => {
          const incident = await tx.notifications.getIncident(alert.incident_uuid);
          const profile = await tx.notifications.getProfile(alert.profile_uuid);
          const event = incident ? await tx.notifications.getEvent(incident.last_event_uuid) : null;
          if (!incident || incident.resolved_at !== null || !profile || !event) {
            await tx.notifications.putAlert({ ...alert, state: 'cancelled', due_at: null });
            return;
          }
          const methods = methodsFor(profile.spec, event.type, event.severity);
          if (!(await tx.notifications.triggerAlert(incident.uuid, profile.uuid, methods, now))) return;
          await this.enqueue(tx, profile, methods, event.uuid, incident.uuid, 'trigger', now);
        });
      });
    }
    return due.length === BATCH;
  }

  // ---- 4. deliveries ----

  private async deliver(): Promise<boolean> {
    const now = this.ctx.clock.now();
    const limit = this.concurrency * 4;
    const claimed = await this.ctx.store.transaction((tx) =>
      tx.notifications.claimDeliveries({ instanceId: this.ctx.instanceId, now, leaseMs: 120_000, limit }),
    );
    // One method's deliveries go one after the other (its rate limit counts each before the
    // next); different methods' in parallel.
    const groups = new Map<string, DeliveryRecord[]>();
    for (const d of claimed) {
      const key = `${d.profile_uuid}\u0000${d.method_name}`;
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    const queue = [...groups.values()];
    const worker = async () => {
      for (let group = queue.shift(); group; group = queue.shift()) {
        for (const delivery of group) await this.guarded({ delivery: delivery.uuid }, () => this.deliverOne(delivery));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));
    return claimed.length === limit;
  }

  private async deliverOne(d: DeliveryRecord): Promise<void> {
    const store = this.ctx.store.notifications;
    const now = this.ctx.clock.now();
    const fail = (error: string) => store.finishDelivery(d.uuid, this.ctx.instanceId, { kind: 'failed', status: null, error, now });
    const profile = await store.getProfile(d.profile_uuid);
    const method = profile?.spec.methods.find((m) => m.name === d.method_name);
    if (!profile || !method) {
      await fail(`Notification Profile "${d.profile_name}" or its method "${d.method_name}" no longer exists`);
      return;
    }
    const maxPerHour = Number(method.max_per_hour ?? 60);
    const since = now - RATE_WINDOW_MS;
    if ((await store.countDelivered(profile.uuid, method.name, since)) >= maxPerHour) {
      const oldest = (await store.oldestDeliveredSince(profile.uuid, method.name, since)) ?? now;
      await store.finishDelivery(d.uuid, this.ctx.instanceId, {
        kind: 'deferred',
        reason: `rate limited: method "${method.name}" sent ${maxPerHour} in the last hour (max_per_hour); waiting`,
        now,
        next_attempt_at: Math.max(now + 1000, oldest + RATE_WINDOW_MS),
      });
      return;
    }
    const content = await this.content(d, profile.name, method.name);
    if (!content) {
      await fail('the event no longer exists');
      return;
    }
    const result = await this.send(method, content, d.uuid, now);
    const after = this.ctx.clock.now();
    if (result.ok) {
      await store.finishDelivery(d.uuid, this.ctx.instanceId, { kind: 'delivered', status: result.status, now: after });
      this.ctx.log.info('notification delivered', { delivery: d.uuid, profile: d.profile_name, method: d.method_name, action: d.action });
      return;
    }
    const error = result.error ?? 'failed';
    if (result.retryable && d.attempts + 1 < d.max_attempts) {
      const nextAt = after + backoffMs(d.attempts + 1, this.initialBackoffMs, this.maxBackoffMs);
      await store.finishDelivery(d.uuid, this.ctx.instanceId, { kind: 'retry', status: result.status, error, now: after, next_attempt_at: nextAt });
      this.ctx.log.warn('notification delivery failed; will retry', {
        delivery: d.uuid,
        profile: d.profile_name,
        method: d.method_name,
        attempt: d.attempts + 1,
        next_attempt_at: new Date(nextAt).toISOString(),
        error,
      });
    } else {
      await store.finishDelivery(d.uuid, this.ctx.instanceId, { kind: 'failed', status: result.status, error, now: after });
      this.ctx.log.error('notification delivery failed; giving up', { delivery: d.uuid, profile: d.profile_name, method: d.method_name, attempts: d.attempts + 1, error });
    }
  }

  /** Sends through one method (also `berth notify test`). Never throws. */
  send(method: StoredMethod, content: NotificationContent, deliveryUuid: string, now: number): Promise<SendResult> {
    return sendThroughMethod(method, content, {
      secret: (stored: StoredSecret) => readDeliverySecret(stored, this.options.box, this.options.hostEnvironment),
      deliveryUuid,
      now,
      publicUrl: this.options.publicUrl(),
      ...(this.options.sendTimeoutMs !== undefined ? { timeoutMs: this.options.sendTimeoutMs } : {}),
    });
  }

  /**
   * Links from the public base URL: the dashboard's pages for people (the execution, the Task or
   * Workflow), the API's for programs (the event, the execution).
   */
  links(event: EventRecord) {
    const base = this.options.publicUrl().replace(/\/+$/, '');
    const execution = event.execution_uuid
      ? `${base}/executions/${event.execution_uuid}`
      : event.workflow_execution_uuid
        ? `${base}/workflow-executions/${event.workflow_execution_uuid}`
        : null;
    const subject = event.task_name
      ? `${base}/tasks/${encodeURIComponent(event.task_name)}`
      : event.workflow_name
        ? `${base}/workflows/${encodeURIComponent(event.workflow_name)}`
        : null;
    return {
      event: `${base}/api/v1/events/${event.uuid}`,
      execution,
      execution_api: event.execution_uuid ? `${base}/api/v1/task_executions/${event.execution_uuid}/` : null,
      subject,
    };
  }

  private async content(d: DeliveryRecord, profile: string, method: string): Promise<NotificationContent | null> {
    const store = this.ctx.store.notifications;
    const event = await store.getEvent(d.event_uuid);
    if (!event) return null;
    const incident = d.incident_uuid ? await store.getIncident(d.incident_uuid) : null;
    const task = event.task_uuid ? { uuid: event.task_uuid, name: event.task_name ?? event.task_uuid } : null;
    const workflow = event.workflow_uuid ? { uuid: event.workflow_uuid, name: event.workflow_name ?? event.workflow_uuid } : null;
    return {
      action: d.action,
      event: {
        uuid: event.uuid,
        type: event.type,
        severity: event.severity,
        message: event.message,
        created_at: event.created_at,
        grouping_key: event.grouping_key ?? null,
        details: event.details,
      },
      task,
      task_execution: event.execution_uuid ? { uuid: event.execution_uuid } : null,
      workflow,
      workflow_execution: event.workflow_execution_uuid ? { uuid: event.workflow_execution_uuid } : null,
      incident: incident ? { uuid: incident.uuid, opened_at: incident.opened_at, event_count: incident.event_count } : null,
      profile,
      method,
      links: this.links(event),
    };
  }
}

