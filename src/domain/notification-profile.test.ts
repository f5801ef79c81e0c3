import { describe, expect, it } from 'vitest';
import { formatIssues } from './common.js';
import { methodsFor, NotificationProfileSpec, postponedDueAt, postponementAllows } from './notification-profile.js';

const hook = { name: 'hook', type: 'webhook', url: 'https://example.com/h' };
const pager = { name: 'pager', type: 'pagerduty', routing_key: 'ENV:PD_KEY' };

function issues(input: unknown) {
  const parsed = NotificationProfileSpec.safeParse(input);
  return parsed.success ? [] : formatIssues(parsed.error).map((i) => `${i.path}: ${i.message}`);
}

describe('NotificationProfileSpec', () => {
  it('fills defaults: every event but RESOLVED, warning and worse, no postponement, 60 per hour, 8 tries', () => {
    const p = NotificationProfileSpec.parse({ name: 'ops', methods: [hook] });
    expect(p).toMatchObject({ enabled: true, min_severity: 'warning', rules: [], notify_after_failures: 1, notify_after_seconds: null });
    expect(p.events).toContain('EXECUTION_FAILED');
    expect(p.events).not.toContain('RESOLVED');
    expect(p.methods[0]).toMatchObject({ max_per_hour: 60, max_attempts: 8, headers: {} });
    const mail = NotificationProfileSpec.parse({ name: 'm', methods: [{ name: 'm', type: 'email', host: 'smtp.example.com', from: 'a@example.com', to: ['b@example.com'] }] });
    expect(mail.methods[0]).toMatchObject({ port: 587, security: 'starttls' });
    const pd = NotificationProfileSpec.parse({ name: 'p', methods: [pager] });
    expect(pd.methods[0]).toMatchObject({ events_url: 'https://events.pagerduty.com/v2/enqueue' });
  });

  it('says what is wrong with each bad field', () => {
    expect(issues({ name: 'x', methods: [{ ...hook, url: 'hooks.example.com/x' }] })).toEqual([
      'methods[0].url: url "hooks.example.com/x" is not a valid URL; write it like https://hooks.example.com/berth',
    ]);
    expect(issues({ name: 'x', methods: [{ ...hook, url: 'http://127.0.0.1:587/hook' }] })).toEqual([
      'methods[0].url: url uses port 587, which HTTP clients refuse to connect to (it belongs to another protocol, e.g. SMTP or SSH); serve the receiver on another port, such as 443 or 8443',
    ]);
    expect(issues({ name: 'x', methods: [{ ...hook, url: 'https://hooks.example.com:8443/x' }] })).toEqual([]);
    expect(issues({ name: 'x', methods: [{ name: 'm', type: 'email', host: 'h', port: 0, from: 'a@example.com', to: ['b@example.com'] }] })[0]).toBe(
      'methods[0].port: port must be between 1 and 65535 (587 for STARTTLS, 465 for TLS)',
    );
    expect(issues({ name: 'x', methods: [{ name: 'm', type: 'email', host: 'h', from: 'not-an-address', to: [] }] })).toEqual([
      'methods[0].from: must be an e-mail address like ops@example.com',
      'methods[0].to: give at least one recipient',
    ]);
    expect(issues({ name: 'x', methods: [hook], rules: [{ methods: ['mail'] }] })).toEqual([
      'rules[0].methods[0]: no method named "mail" in this profile; its methods are: hook',
    ]);
    expect(issues({ name: 'x', methods: [hook, hook] })).toEqual(['methods[1].name: duplicate method name "hook" (also methods[0])']);
    expect(issues({ name: 'x', methods: [{ name: 'z', type: 'telegram' }] })).toEqual(['methods[0].type: type must be one of: webhook, slack, email, pagerduty']);
    expect(issues({ name: 'x', methods: [{ ...pager, routing_key: 'R0UTING' }] })[0]).toContain('to give the secret itself write {value: "…"}');
    expect(issues({ name: 'x', methods: [{ ...pager, routing_key: 'ENV:' }] })[0]).toContain('"ENV:" must be followed by an environment variable name');
    expect(issues({ name: 'x', methods: [] })).toEqual(['methods: a profile needs at least one delivery method']);
    expect(issues({ name: 'x', events: ['RESOLVED'], methods: [hook] })).toEqual([
      'events[0]: RESOLVED is not chosen: it goes to the methods that were told about the incident',
    ]);
    expect(issues({ name: 'x', events: ['EXECUTION_EXPLODED'], methods: [hook] })[0]).toContain('events[0]: unknown event type; use MISSED_SCHEDULED_RUN');
    expect(issues({ name: 'x', methods: [{ name: 'm', type: 'email', host: 'h', from: 'a@example.com', to: ['b@example.com'], password: { value: 'p' } }] })).toEqual([
      'methods[0].username: a password needs a username (SMTP AUTH sends both)',
    ]);
  });
});

describe('methodsFor', () => {
  const profile = NotificationProfileSpec.parse({
    name: 'p',
    methods: [hook, pager],
    rules: [
      { methods: ['hook'] },
      { events: ['EXECUTION_FAILED', 'MISSING_HEARTBEAT'], min_severity: 'error', methods: ['pager'] },
    ],
  });

  it('sends each event to the methods of the rules it matches', () => {
    expect(methodsFor(profile, 'EXECUTION_FAILED', 'error')).toEqual(['hook', 'pager']);
    expect(methodsFor(profile, 'EXECUTION_FAILED', 'warning')).toEqual(['hook']);
    expect(methodsFor(profile, 'MISSED_SCHEDULED_RUN', 'error')).toEqual(['hook']);
    expect(methodsFor(profile, 'EXECUTION_FAILED', 'info')).toEqual([]);
    expect(methodsFor({ ...profile, enabled: false }, 'EXECUTION_FAILED', 'error')).toEqual([]);
  });

  it('without rules, every method gets the profile\'s events', () => {
    const simple = NotificationProfileSpec.parse({ name: 's', events: ['EXECUTION_TIMED_OUT'], methods: [hook, pager] });
    expect(methodsFor(simple, 'EXECUTION_TIMED_OUT', 'error')).toEqual(['hook', 'pager']);
    expect(methodsFor(simple, 'EXECUTION_FAILED', 'error')).toEqual([]);
    expect(methodsFor(simple, 'RESOLVED', 'info')).toEqual([]);
  });
});

describe('postponement', () => {
  const at = 1_000_000;
  it('tells at once without settings, after N events, after T seconds, or whichever comes first', () => {
    expect(postponementAllows({ notify_after_failures: 1, notify_after_seconds: null }, 1, at, at)).toBe(true);
    expect(postponementAllows({ notify_after_failures: 3, notify_after_seconds: null }, 2, at, at + 10 ** 9)).toBe(false);
    expect(postponementAllows({ notify_after_failures: 3, notify_after_seconds: null }, 3, at, at)).toBe(true);
    expect(postponementAllows({ notify_after_failures: 1, notify_after_seconds: 60 }, 5, at, at + 59_999)).toBe(false);
    expect(postponementAllows({ notify_after_failures: 1, notify_after_seconds: 60 }, 1, at, at + 60_000)).toBe(true);
    expect(postponementAllows({ notify_after_failures: 3, notify_after_seconds: 60 }, 3, at, at)).toBe(true);
    expect(postponementAllows({ notify_after_failures: 3, notify_after_seconds: 60 }, 1, at, at + 60_000)).toBe(true);
    expect(postponedDueAt({ notify_after_seconds: 60 }, at)).toBe(at + 60_000);
    expect(postponedDueAt({ notify_after_seconds: null }, at)).toBeNull();
  });
});
