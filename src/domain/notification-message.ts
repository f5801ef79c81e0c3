import { createHmac } from 'node:crypto';
import type { EventSeverity, EventType } from './event.js';

/**
 * What each delivery method sends, built without I/O from one `NotificationContent`: the
 * generic webhook's JSON (and its HMAC signature), Slack's incoming-webhook message, the e-mail's
 * subject and body, and the PagerDuty Events API v2 event. The senders (server/notifier) only
 * move these bytes.
 */

/** trigger: an incident opened (or its postponement ended); resolve: it is over; test: `berth notify test`. */
export type DeliveryAction = 'trigger' | 'resolve' | 'test';

export interface NotificationContent {
  action: DeliveryAction;
  event: {
    uuid: string;
    type: EventType | 'TEST';
    severity: EventSeverity;
    message: string;
    created_at: number;
    grouping_key: string | null;
    details: Record<string, unknown>;
  };
  task: { uuid: string; name: string } | null;
  task_execution: { uuid: string } | null;
  workflow: { uuid: string; name: string } | null;
  workflow_execution: { uuid: string } | null;
  incident: { uuid: string; opened_at: number; event_count: number } | null;
  profile: string;
  method: string;
  /**
   * Links built from the public base URL: `execution` and `subject` are dashboard pages (for
   * people), `event` and `execution_api` API resources (for programs).
   */
  links: { event: string | null; execution: string | null; execution_api?: string | null; subject: string | null };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The subject's name for people: `Task "x"`, `Workflow "y"`, or `Berth`. */
export function subjectText(c: NotificationContent): string {
  if (c.task) return `Task "${c.task.name}"`;
  if (c.workflow) return `Workflow "${c.workflow.name}"`;
  return 'Berth';
}

/** One line: what happened to what. */
export function headline(c: NotificationContent): string {
  const who = subjectText(c);
  const exec = c.task_execution ? ` execution ${c.task_execution.uuid}` : c.workflow_execution ? ` execution ${c.workflow_execution.uuid}` : '';
  switch (c.action) {
    case 'test':
      return `Test notification from Berth (profile "${c.profile}", method "${c.method}")`;
    case 'resolve':
      return `RESOLVED: ${who}${exec ? `,${exec},` : ''} is back to normal (${c.event.grouping_key ?? 'incident'})`;
    case 'trigger':
      return `${c.event.type}: ${who}${exec}`;
  }
}

/** The generic webhook's JSON body. Stable field names: receivers parse it. */
export function webhookBody(c: NotificationContent, deliveryUuid: string, now: number): Record<string, unknown> {
  return {
    version: 1,
    delivery: deliveryUuid,
    action: c.action,
    summary: headline(c),
    event: { ...c.event, created_at: iso(c.event.created_at) },
    task: c.task,
    task_execution: c.task_execution ? { uuid: c.task_execution.uuid, url: c.links.execution, api_url: c.links.execution_api ?? null } : null,
    workflow: c.workflow,
    workflow_execution: c.workflow_execution,
    incident: c.incident ? { uuid: c.incident.uuid, opened_at: iso(c.incident.opened_at), event_count: c.incident.event_count } : null,
    profile: c.profile,
    method: c.method,
    url: c.links.event,
    sent_at: iso(now),
  };
}

/**
 * The webhook signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * Receivers recompute it with the shared secret and compare in constant time; the time lets
 * them refuse replays.
 */
export function webhookSignature(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

/** Slack mrkdwn escaping: only &, < and > are special. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const SLACK_EMOJI: Record<DeliveryAction, string> = { trigger: ':red_circle:', resolve: ':large_green_circle:', test: ':information_source:' };

/** A Slack incoming-webhook message: `text` (the notification's fallback) and Block Kit `blocks`. */
export function slackMessage(c: NotificationContent): Record<string, unknown> {
  const title = headline(c);
  const fields: string[] = [];
  if (c.task) fields.push(`*Task:* ${slackEscape(c.task.name)}`);
  if (c.workflow) fields.push(`*Workflow:* ${slackEscape(c.workflow.name)}`);
  if (c.task_execution) {
    const id = c.task_execution.uuid;
    fields.push(`*Execution:* ${c.links.execution ? `<${c.links.execution}|${id}>` : id}`);
  }
  if (c.incident && c.action === 'trigger' && c.incident.event_count > 1) fields.push(`*Events in this incident:* ${c.incident.event_count}`);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: `${SLACK_EMOJI[c.action]} ${slackEscape(c.event.message).slice(0, 2900)}` } },
  ];
  if (fields.length) blocks.push({ type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `${c.event.severity} · ${iso(c.event.created_at)} · profile ${slackEscape(c.profile)}` }],
  });
  const target = c.links.execution ?? c.links.subject;
  if (target) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: c.links.execution ? 'Open execution' : 'Open in Berth' }, url: target }],
    });
  }
  const link = target ? ` <${target}|open>` : '';
  return { text: `${title}: ${c.event.message}${link}`.slice(0, 3000), blocks };
}

/** The e-mail's subject and plain-text body: they name the Task, the execution and the reason. */
export function emailMessage(c: NotificationContent): { subject: string; text: string } {
  const reason = c.event.message.replace(/\s+/g, ' ').trim();
  const shortReason = reason.length > 120 ? `${reason.slice(0, 117)}…` : reason;
  const subject = `[Berth] ${headline(c)}${c.action === 'trigger' ? ` — ${shortReason}` : ''}`;
  const lines = [headline(c), '', reason, ''];
  if (c.task) lines.push(`Task:        ${c.task.name} (${c.task.uuid})`);
  if (c.workflow) lines.push(`Workflow:    ${c.workflow.name} (${c.workflow.uuid})`);
  if (c.task_execution) lines.push(`Execution:   ${c.task_execution.uuid}`);
  if (c.workflow_execution) lines.push(`Workflow execution: ${c.workflow_execution.uuid}`);
  lines.push(`Event:       ${c.event.type} (${c.event.severity}) at ${iso(c.event.created_at)}`);
  if (c.incident) lines.push(`Incident:    ${c.incident.uuid}, open since ${iso(c.incident.opened_at)}, ${c.incident.event_count} event(s)`);
  if (c.links.execution) lines.push('', `Open the execution: ${c.links.execution}`);
  if (c.links.event) lines.push(`Event details: ${c.links.event}`);
  lines.push('', `Sent by Berth through Notification Profile "${c.profile}", method "${c.method}".`);
  return { subject: subject.replace(/[\r\n]+/g, ' '), text: `${lines.join('\n')}\n` };
}

const PD_SEVERITY: Record<EventSeverity, string> = { error: 'error', warning: 'warning', info: 'info' };

/** The incident's PagerDuty dedup key: trigger and resolve name the same alert. */
export function pagerDutyDedupKey(c: NotificationContent): string {
  return c.incident ? `berth-incident-${c.incident.uuid}` : `berth-event-${c.event.uuid}`;
}

/** A PagerDuty Events API v2 event (trigger or resolve). The routing key is added by the sender. */
export function pagerDutyEvent(c: NotificationContent, routingKey: string, publicUrl: string): Record<string, unknown> {
  const dedup_key = pagerDutyDedupKey(c);
  if (c.action === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key };
  const links = [c.links.execution && { href: c.links.execution, text: 'Execution in Berth' }, c.links.event && { href: c.links.event, text: 'Event in Berth' }].filter(
    Boolean,
  );
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: `${headline(c)}: ${c.event.message}`.slice(0, 1024),
      source: c.task?.name ?? c.workflow?.name ?? 'berth',
      severity: PD_SEVERITY[c.event.severity],
      timestamp: iso(c.event.created_at),
      component: c.task ? 'task' : c.workflow ? 'workflow' : 'berth',
      group: c.event.grouping_key ?? undefined,
      class: c.event.type,
      custom_details: {
        event: c.event.uuid,
        task_execution: c.task_execution?.uuid ?? null,
        workflow_execution: c.workflow_execution?.uuid ?? null,
        incident_events: c.incident?.event_count ?? 1,
        ...c.event.details,
      },
    },
    client: 'Berth',
    client_url: publicUrl,
    links,
  };
}
