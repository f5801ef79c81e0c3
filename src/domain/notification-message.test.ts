import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { emailMessage, pagerDutyEvent, slackMessage, webhookBody, webhookSignature } from './notification-message.js';
import type { NotificationContent } from './notification-message.js';

const at = Date.UTC(2026, 0, 2, 3, 4, 5);
const content: NotificationContent = {
  action: 'trigger',
  event: {
    uuid: '11111111-1111-4111-8111-111111111111',
    type: 'EXECUTION_TIMED_OUT',
    severity: 'error',
    message: 'Execution 2222 of Task "etl <prod>" ended TERMINATED_AFTER_TIME_OUT: ran longer than 3600 s & was stopped',
    created_at: at,
    grouping_key: 'failure',
    details: { exit_code: null },
  },
  task: { uuid: '33333333-3333-4333-8333-333333333333', name: 'etl <prod>' },
  task_execution: { uuid: '22222222-2222-4222-8222-222222222222' },
  workflow: null,
  workflow_execution: null,
  incident: { uuid: '44444444-4444-4444-8444-444444444444', opened_at: at, event_count: 3 },
  profile: 'ops',
  method: 'hook',
  links: { event: 'https://b.example/api/v1/events/1', execution: 'https://b.example/api/v1/task_executions/2/', subject: null },
};

describe('notification messages', () => {
  it('signs webhook bodies with HMAC-SHA256 over "<t>.<body>"', () => {
    const body = JSON.stringify(webhookBody(content, 'd-1', at));
    const header = webhookSignature('k3y', body, at);
    const t = Math.floor(at / 1000);
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', 'k3y').update(`${t}.${body}`).digest('hex')}`);
    expect(JSON.parse(body)).toMatchObject({ version: 1, delivery: 'd-1', action: 'trigger', event: { created_at: '2026-01-02T03:04:05.000Z' }, incident: { event_count: 3 } });
  });

  it('builds a Slack message with fallback text, escaped mrkdwn and a button to the execution', () => {
    const m = slackMessage(content) as { text: string; blocks: any[] };
    expect(m.text).toContain('EXECUTION_TIMED_OUT: Task "etl <prod>"');
    expect(m.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context', 'actions']);
    expect(m.blocks[1].text.text).toContain('etl &lt;prod&gt;');
    expect(m.blocks[1].text.text).toContain('&amp; was stopped');
    expect(m.blocks[4].elements[0]).toEqual({ type: 'button', text: { type: 'plain_text', text: 'Open execution' }, url: content.links.execution });
  });

  it('builds PagerDuty Events API v2 trigger and resolve events with one dedup key per incident', () => {
    const trigger = pagerDutyEvent(content, 'RK', 'https://b.example');
    expect(trigger).toMatchObject({
      routing_key: 'RK',
      event_action: 'trigger',
      dedup_key: 'berth-incident-44444444-4444-4444-8444-444444444444',
      payload: { source: 'etl <prod>', severity: 'error', timestamp: '2026-01-02T03:04:05.000Z', class: 'EXECUTION_TIMED_OUT', group: 'failure' },
      client: 'Berth',
      client_url: 'https://b.example',
    });
    expect(pagerDutyEvent({ ...content, action: 'resolve' }, 'RK', 'x')).toEqual({
      routing_key: 'RK',
      event_action: 'resolve',
      dedup_key: 'berth-incident-44444444-4444-4444-8444-444444444444',
    });
  });

  it('writes an e-mail whose subject and body name the Task, the execution and the reason', () => {
    const { subject, text } = emailMessage(content);
    expect(subject).toBe(
      '[Berth] EXECUTION_TIMED_OUT: Task "etl <prod>" execution 22222222-2222-4222-8222-222222222222 — Execution 2222 of Task "etl <prod>" ended TERMINATED_AFTER_TIME_OUT: ran longer than 3600 s & was stopped',
    );
    expect(text).toContain('Task:        etl <prod> (33333333-3333-4333-8333-333333333333)');
    expect(text).toContain('Execution:   22222222-2222-4222-8222-222222222222');
    expect(text).toContain('Open the execution: https://b.example/api/v1/task_executions/2/');
    expect(emailMessage({ ...content, action: 'resolve' }).subject).toMatch(/^\[Berth\] RESOLVED: Task "etl <prod>"/);
  });
});
