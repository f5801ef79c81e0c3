import type { Command } from 'commander';
import type { NotificationProfile } from '../../domain/notification-profile.js';
import { seg } from '../client.js';
import { contextFor, withCommonOptions, withPaging } from '../common.js';
import type { CommonFlags, Page } from '../common.js';
import { orDash, relativeTime, timeWithRelative, truncate } from '../output.js';

interface ListFlags extends CommonFlags {
  limit: number;
  offset: number;
}

type Method = Record<string, unknown> & { name: string; type: string };

/** Where a method delivers, for people; secrets appear only as "(secret set)" or their reference. */
function target(m: Method): string {
  const secret = (field: string) => {
    const v = m[field] as { reference?: string } | undefined;
    return v ? (v.reference ?? '(secret set)') : '-';
  };
  switch (m.type) {
    case 'webhook':
      return `${String(m.url)}${m.secret ? ', signed' : ''}`;
    case 'slack':
      return `webhook URL ${secret('webhook_url')}`;
    case 'email':
      return `${(m.to as string[]).join(', ')} via ${String(m.host)}:${String(m.port)} (${String(m.security)})`;
    case 'pagerduty':
      return `routing key ${secret('routing_key')} → ${String(m.events_url)}`;
    default:
      return '-';
  }
}

function postponement(p: NotificationProfile): string {
  const parts: string[] = [];
  if (p.notify_after_failures > 1) parts.push(`after ${p.notify_after_failures} failures`);
  if (p.notify_after_seconds !== null) parts.push(`after ${p.notify_after_seconds} s still failing`);
  return parts.length ? parts.join(' or ') : 'none (at once)';
}

export function registerNotificationProfiles(program: Command): void {
  const profiles = program
    .command('notification-profiles')
    .alias('profiles')
    .summary('list and show Notification Profiles')
    .description(
      'List and show Notification Profiles: which events go to which delivery methods (webhook, Slack, e-mail, PagerDuty). Create and change them with `berth apply` (notification_profiles:). Secrets are never shown.',
    );
  profiles.addHelpText('after', '\nExamples:\n  $ berth notification-profiles ls\n  $ berth profiles show oncall\n  $ berth notify test oncall');

  const ls = profiles.command('ls').alias('list').description('List Notification Profiles by name.');
  withPaging(ls);
  withCommonOptions(ls);
  ls.action(async (flags: ListFlags) => {
    const { client, out } = contextFor(flags);
    const page = await client.get<Page<NotificationProfile>>('/api/v1/notification_profiles', { limit: flags.limit, offset: flags.offset });
    out.listPage(page, flags.offset, 'Notification Profiles', [{ header: 'NAME' }, { header: 'ENABLED' }, { header: 'METHODS' }, { header: 'MIN SEVERITY' }, { header: 'UPDATED' }, { header: 'DESCRIPTION' }], (p) => [
      p.name,
      p.enabled ? 'yes' : 'no',
      (p.methods as Method[]).map((m) => `${m.name} (${m.type})`).join(', '),
      p.min_severity,
      relativeTime(p.updated_at),
      truncate(orDash(p.description), 40),
    ]);
  });

  const show = profiles.command('show').description('Show a Notification Profile: its methods, rules and postponement.').argument('<profile>', 'name or uuid');
  withCommonOptions(show);
  show.addHelpText('after', '\nExamples:\n  $ berth profiles show oncall\n  $ berth profiles show oncall --json');
  show.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    const p = await client.get<NotificationProfile>(`/api/v1/notification_profiles/${seg(name)}`);
    if (out.json) return out.printJson(p);
    const methods = p.methods as Method[];
    out.fields([
      ['Name', p.name],
      ['UUID', p.uuid],
      ['Description', orDash(p.description)],
      ['Enabled', p.enabled ? 'yes' : 'no'],
      ['Events', p.events.join(', ')],
      ['Min severity', p.min_severity],
      ['Methods', methods.map((m) => `${m.name} (${m.type}): ${target(m)}; at most ${String(m.max_per_hour)}/h, ${String(m.max_attempts)} tries`).join('\n')],
      ['Rules', p.rules.length ? p.rules.map((r) => `${(r.events ?? ['(profile events)']).join(', ')} ≥ ${r.min_severity ?? p.min_severity} → ${r.methods.join(', ')}`).join('\n') : '- (every method gets the events above)'],
      ['Postponement', postponement(p)],
      ['Created', timeWithRelative(p.created_at)],
      ['Updated', timeWithRelative(p.updated_at)],
    ]);
  });

  const del = profiles.command('delete').alias('rm').description('Delete a Notification Profile that nothing names.').argument('<profile>', 'name or uuid');
  withCommonOptions(del);
  del.action(async (name: string, flags: CommonFlags) => {
    const { client, out } = contextFor(flags);
    await client.delete(`/api/v1/notification_profiles/${seg(name)}`);
    if (out.json) return out.printJson({ deleted: name });
    out.line(`Deleted Notification Profile "${name}".`);
  });
}
