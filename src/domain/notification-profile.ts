import { z } from 'zod';
import { Name, Timestamp, Uuid } from './common.js';
import { EVENT_TYPES, EventSeverity, SEVERITY_RANK } from './event.js';
import type { EventType, GroupingKey } from './event.js';
import { parseSecretRef } from './secret-ref.js';

/**
 * Notification Profiles: who is told about which events, and how.
 *
 * Glossary:
 * - profile: a named set of delivery methods and rules (`notification_profiles` table), attached by
 *   name to Run Environments, Tasks and Workflows (`notification_profiles: [name, …]`). A Task
 *   without the field inherits its Run Environment's (or, when a Workflow started it, the
 *   Workflow's); an explicit list, even an empty one, overrides.
 * - method: one way to deliver (`webhook`, `slack`, `email`, `pagerduty`), named within its profile.
 * - rule: which event types at which severity go to which methods (without rules: every method
 *   gets the profile's `events` at `min_severity` and above).
 * - incident: the events of one Task or Workflow with one grouping key, open until RESOLVED. A
 *   profile is told once when an incident opens (or, when postponed, once the postponement
 *   allows) and once when it is resolved.
 * - delivery secret: a webhook's HMAC secret, an SMTP password, a PagerDuty routing key, a Slack
 *   webhook URL. Given as a reference (`ENV:NAME`, `FILE:/path`, an AWS secret ARN) or inline as
 *   `{value: "…"}`, which is stored encrypted. The API never returns one: it shows
 *   `{"secret_set": true}` instead, and accepts that back to mean "keep the stored value".
 */

/** Where a delivery secret comes from, as written in berth.yaml or sent to the API. */
export const SecretInput = z
  .union([
    z.string(),
    z.strictObject({ value: z.string().min(1, { message: 'an inline secret must not be empty' }) }),
    z.strictObject({ secret_set: z.literal(true), reference: z.string().optional() }),
  ])
  .superRefine((value, ctx) => {
    const reference = typeof value === 'string' ? value : 'reference' in value ? value.reference : undefined;
    if (reference === undefined) return;
    const parsed = parseSecretRef(reference);
    if (!parsed.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `${parsed.message}; to give the secret itself write {value: "…"} (stored encrypted, never shown again)`,
      });
    }
  })
  .describe(
    'A reference (ENV:NAME, FILE:/absolute/path, a Secrets Manager or SSM parameter ARN), or {"value": "…"} stored encrypted. What the API shows, {"secret_set": true} (keeps the stored value) or {"secret_set": true, "reference": "…"} (that reference), may be sent back.',
  );
export type SecretInput = z.infer<typeof SecretInput>;

/** A delivery secret as stored: a reference, or an encrypted value (`secret-box.ts`). */
export type StoredSecret = { reference: string } | { encrypted: string };

/** A delivery secret as the API shows it: never the value. */
export const SecretView = z
  .object({ secret_set: z.literal(true), reference: z.string().optional().describe('Where it is read from, when it is a reference.') })
  .describe('The secret itself is never returned.');
export type SecretView = z.infer<typeof SecretView>;

/**
 * Ports that HTTP clients following the Fetch standard (Node's fetch among them) refuse to connect
 * to, because other protocols use them (SMTP on 25/465/587, SSH on 22, …). Read off Node 20's
 * fetch, which answers "bad port" for exactly these.
 */
const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113,
  115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556,
  563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667,
  6668, 6669, 6679, 6697, 10080,
]);

const HttpUrl = (what: string) =>
  z
    .string({ message: `${what} must be a URL string` })
    .superRefine((text, ctx) => {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: `${what} "${text}" is not a valid URL; write it like https://hooks.example.com/berth` });
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: `${what} must be an http:// or https:// URL, got ${url.protocol}` });
        return;
      }
      if (url.port !== '' && FETCH_BLOCKED_PORTS.has(Number(url.port))) {
        ctx.addIssue({
          code: 'custom',
          message: `${what} uses port ${url.port}, which HTTP clients refuse to connect to (it belongs to another protocol, e.g. SMTP or SSH); serve the receiver on another port, such as 443 or 8443`,
        });
      }
    });

const Email = z.email({ message: 'must be an e-mail address like ops@example.com' });

export const METHOD_TYPES = ['webhook', 'slack', 'email', 'pagerduty'] as const;
export type MethodType = (typeof METHOD_TYPES)[number];

const MethodName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, { message: 'must be 1–63 letters, digits, "_" or "-", starting with a letter or digit' })
  .describe('Name of the method within its profile, used by rules and in results.');

const common = {
  name: MethodName,
  max_per_hour: z
    .number()
    .int()
    .min(1, { message: 'max_per_hour must be at least 1' })
    .max(100_000)
    .default(60)
    .describe('Most deliveries through this method per rolling hour; more wait (never dropped). (Default: 60)'),
  max_attempts: z
    .number()
    .int()
    .min(1)
    .max(50, { message: 'max_attempts must be at most 50' })
    .default(8)
    .describe('Tries per delivery before it is given up as failed; waits double from 10 s, capped at 1 hour. (Default: 8)'),
};

export const WebhookMethod = z.strictObject({
  ...common,
  type: z.literal('webhook').describe('webhook: an HTTP POST of the event as JSON.'),
  url: HttpUrl('url').describe('Where to POST the event (JSON).'),
  secret: SecretInput.optional().describe(
    'HMAC-SHA256 key: each request carries X-Berth-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">. (Default: unsigned)',
  ),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, { message: 'header names are letters, digits and "-"' }), z.string())
    .default({})
    .describe('Extra request headers (not secrets: they are shown by the API).'),
});

export const SlackMethod = z.strictObject({
  ...common,
  type: z.literal('slack').describe('slack: a message through a Slack incoming webhook.'),
  webhook_url: SecretInput.describe('The incoming webhook URL (a secret: anyone with it can post): a reference or {value: "https://hooks.slack.com/…"}.'),
});

export const EmailMethod = z.strictObject({
  ...common,
  type: z.literal('email').describe('email: a message through an SMTP server.'),
  host: z.string().min(1, { message: 'host must name the SMTP server' }).describe('SMTP server host name.'),
  port: z
    .number({ message: 'port must be a number' })
    .int({ message: 'port must be a whole number' })
    .min(1, { message: 'port must be between 1 and 65535 (587 for STARTTLS, 465 for TLS)' })
    .max(65535, { message: 'port must be between 1 and 65535 (587 for STARTTLS, 465 for TLS)' })
    .default(587)
    .describe('SMTP port. (Default: 587)'),
  security: z
    .enum(['starttls', 'tls', 'none'])
    .default('starttls')
    .describe('starttls: upgrade with STARTTLS, refusing a server that does not offer it; tls: TLS from the start (port 465); none: plain text. (Default: starttls)'),
  username: z.string().min(1).optional().describe('SMTP AUTH user name. (Default: no AUTH)'),
  password: SecretInput.optional().describe('SMTP AUTH password; needs username.'),
  ca_file: z
    .string()
    .regex(/^\//, { message: 'ca_file must be an absolute path on the Berth host' })
    .optional()
    .describe('PEM file of the certificate authority the SMTP server\'s certificate is checked against. (Default: the system\'s)'),
  from: Email.describe('Sender address.'),
  to: z.array(Email).min(1, { message: 'give at least one recipient' }).max(50).describe('Recipients.'),
});

export const PagerDutyMethod = z.strictObject({
  ...common,
  type: z.literal('pagerduty').describe('pagerduty: PagerDuty Events API v2 (trigger, then resolve, with one dedup key per incident).'),
  routing_key: SecretInput.describe('The integration\'s routing key (a secret).'),
  events_url: HttpUrl('events_url')
    .default('https://events.pagerduty.com/v2/enqueue')
    .describe('Events API v2 endpoint. (Default: https://events.pagerduty.com/v2/enqueue)'),
});

export const DeliveryMethod = z.discriminatedUnion('type', [WebhookMethod, SlackMethod, EmailMethod, PagerDutyMethod], {
  error: (issue) => (issue.code === 'invalid_union' ? `type must be one of: ${METHOD_TYPES.join(', ')}` : undefined),
});
export type DeliveryMethod = z.infer<typeof DeliveryMethod>;

const MinSeverity = EventSeverity.describe('Only events of this severity or worse: info < warning < error.');

/** The event types a profile can choose (RESOLVED follows the incidents a method was told about). */
export const NOTIFIABLE_EVENT_TYPES = EVENT_TYPES.filter((t): t is Exclude<EventType, 'RESOLVED'> => t !== 'RESOLVED');
const NotifiableEventType = z.enum(NOTIFIABLE_EVENT_TYPES as [Exclude<EventType, 'RESOLVED'>, ...Exclude<EventType, 'RESOLVED'>[]], {
  error: (issue) =>
    issue.input === 'RESOLVED'
      ? 'RESOLVED is not chosen: it goes to the methods that were told about the incident'
      : `unknown event type; use ${NOTIFIABLE_EVENT_TYPES.join(', ')}`,
});

export const NotificationRule = z.strictObject({
  events: z
    .array(NotifiableEventType)
    .min(1)
    .optional()
    .describe('Event types this rule sends. (Default: the profile\'s events)'),
  min_severity: MinSeverity.optional().describe('Least severity this rule sends. (Default: the profile\'s min_severity)'),
  methods: z.array(MethodName).min(1, { message: 'a rule needs at least one method' }).describe('Names of the profile\'s methods that get them.'),
});
export type NotificationRule = z.infer<typeof NotificationRule>;

export const NotificationProfileSpecObject = z.strictObject({
  name: Name,
  description: z.string().max(2000).nullable().optional().describe('Free text for people.'),
  enabled: z.boolean().default(true).describe('A disabled profile sends nothing. (Default: true)'),
  events: z
    .array(NotifiableEventType)
    .min(1)
    .default([...NOTIFIABLE_EVENT_TYPES])
    .describe('Event types sent to every method (when there are no rules). (Default: all)'),
  min_severity: MinSeverity.default('warning').describe('Least severity sent. (Default: warning)'),
  methods: z.array(DeliveryMethod).min(1, { message: 'a profile needs at least one delivery method' }).max(20).describe('How to deliver.'),
  rules: z
    .array(NotificationRule)
    .default([])
    .describe('Which events at which severity go to which methods. Without rules, every method gets the profile\'s events.'),
  notify_after_failures: z
    .number()
    .int()
    .min(1, { message: 'notify_after_failures must be at least 1' })
    .max(1000)
    .default(1)
    .describe('Postponement: tell only once an incident has this many events (consecutive failures). (Default: 1, at once)'),
  notify_after_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .nullable()
    .default(null)
    .describe(
      'Postponement: tell only if the incident is still open this many seconds after it opened (a failure not followed by a success). With notify_after_failures too, whichever comes first. (Default: none)',
    ),
});

/** A profile as `berth.yaml` and `POST /api/v1/notification_profiles/` take it. */
export const NotificationProfileSpec = NotificationProfileSpecObject.superRefine((spec, ctx) => {
  const names = new Map<string, number>();
  spec.methods.forEach((m, i) => {
    const earlier = names.get(m.name);
    if (earlier !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['methods', i, 'name'], message: `duplicate method name "${m.name}" (also methods[${earlier}])` });
    } else names.set(m.name, i);
    if (m.type === 'email' && m.password !== undefined && m.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['methods', i, 'username'], message: 'a password needs a username (SMTP AUTH sends both)' });
    }
  });
  spec.rules.forEach((rule, r) => {
    rule.methods.forEach((name, j) => {
      if (!names.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', r, 'methods', j],
          message: `no method named "${name}" in this profile; its methods are: ${[...names.keys()].join(', ')}`,
        });
      }
    });
  });
});
export type NotificationProfileSpec = z.infer<typeof NotificationProfileSpec>;
export type NotificationProfileSpecInput = z.input<typeof NotificationProfileSpec>;

/** The fields of a method that hold secrets, by type. */
export const SECRET_FIELDS: Record<MethodType, readonly string[]> = {
  webhook: ['secret'],
  slack: ['webhook_url'],
  email: ['password'],
  pagerduty: ['routing_key'],
};

/** A method as stored: its secret fields are `StoredSecret`s. */
export type StoredMethod = Omit<DeliveryMethod, 'secret' | 'webhook_url' | 'password' | 'routing_key'> & Record<string, unknown>;

/** A profile as stored (`notification_profiles.spec`). */
export type StoredProfileSpec = Omit<NotificationProfileSpec, 'methods'> & { methods: StoredMethod[] };

/** A profile as the API returns it: secrets replaced by `{secret_set: true}`. */
export const NotificationProfile = NotificationProfileSpecObject.extend({
  uuid: Uuid,
  description: z.string().nullable(),
  methods: z.array(z.record(z.string(), z.unknown())).describe('The methods, with each secret shown as {"secret_set": true, "reference"?}.'),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type NotificationProfile = z.infer<typeof NotificationProfile>;

/** `notification_profiles: [...]` on Run Environments, Tasks and Workflows. */
export const NotificationProfileRefs = z
  .array(Name)
  .max(20)
  .optional()
  .describe(
    'Names of the Notification Profiles told about this one\'s events (docs/notifications.md). Omitted: inherited (Task ← Workflow that started it ← Run Environment); [] turns inherited ones off.',
  );

/**
 * The methods of `profile` that get an event of this type and severity (none when disabled).
 * RESOLVED is not chosen here: it goes to the methods that were told about the incident.
 */
export function methodsFor(profile: Pick<StoredProfileSpec, 'enabled' | 'events' | 'min_severity' | 'rules' | 'methods'>, type: EventType, severity: EventSeverity): string[] {
  if (!profile.enabled || type === 'RESOLVED') return [];
  const atLeast = (min: EventSeverity) => SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
  if (profile.rules.length === 0) {
    return profile.events.includes(type) && atLeast(profile.min_severity) ? profile.methods.map((m) => m.name) : [];
  }
  const chosen = new Set<string>();
  for (const rule of profile.rules) {
    const events = rule.events ?? profile.events;
    if (events.includes(type) && atLeast(rule.min_severity ?? profile.min_severity)) for (const m of rule.methods) chosen.add(m);
  }
  return profile.methods.map((m) => m.name).filter((n) => chosen.has(n));
}

/**
 * Postponement: whether an incident that has `eventCount` events and opened at `openedAt` should
 * be told to a profile now. Without postponement settings, at once.
 */
export function postponementAllows(
  profile: Pick<StoredProfileSpec, 'notify_after_failures' | 'notify_after_seconds'>,
  eventCount: number,
  openedAt: number,
  now: number,
): boolean {
  const byCount = profile.notify_after_failures > 1 ? eventCount >= profile.notify_after_failures : null;
  const byTime = profile.notify_after_seconds !== null ? now - openedAt >= profile.notify_after_seconds * 1000 : null;
  if (byCount === null && byTime === null) return true;
  return byCount === true || byTime === true;
}

/** When a postponed alert falls due by time alone (null: only the count can trigger it). */
export function postponedDueAt(profile: Pick<StoredProfileSpec, 'notify_after_seconds'>, openedAt: number): number | null {
  return profile.notify_after_seconds === null ? null : openedAt + profile.notify_after_seconds * 1000;
}

/** The subject of an incident: a Task or a Workflow. */
export type SubjectKind = 'task' | 'workflow';

/** The key that keeps one incident open per subject and grouping key. */
export function openIncidentKey(kind: SubjectKind, uuid: string, groupingKey: GroupingKey | string): string {
  return `${kind}:${uuid}:${groupingKey}`;
}
