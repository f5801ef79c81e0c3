import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { canonicalTimeZone, fireTimesBetween, parseSchedule, timeZoneOffset } from '../../domain/schedule.js';
import { intArg } from '../common.js';
import { UsageError } from '../errors.js';
import { renderTable } from '../output.js';

interface PreviewFlags {
  tz?: string;
  count: number;
  from?: number;
  json?: boolean;
}

/** One previewed fire time, as `--json` prints it. */
export interface PreviewedFire {
  utc: string;
  /** Wall time in the preview's zone with its offset, e.g. 2025-03-30T03:00:00+02:00. */
  local: string;
  time_zone: string;
}

/** `t` as wall time in `zone` with its UTC offset (ISO-8601, seconds). */
export function wallTime(t: number, zone: string): string {
  const offset = timeZoneOffset(zone, t);
  const wall = new Date(t + offset).toISOString().slice(0, 19);
  const minutes = Math.round(offset / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${wall}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * The next `count` fire times of `expression` after `from`. `tz` evaluates a cron expression that
 * has no TZ= of its own in that zone, and is the zone times are shown in. Throws UsageError with
 * the parser's message (which names the bad field) when the expression is invalid.
 */
export function previewSchedule(expression: string, options: { tz?: string; count: number; from: number }): { expression: string; fires: PreviewedFire[] } {
  let text = expression.trim();
  let zone: string | null = null;
  if (options.tz !== undefined) {
    zone = canonicalTimeZone(options.tz);
    if (zone === null) throw new UsageError(`--tz: unknown timezone "${options.tz}"; use an IANA name such as Europe/Paris, America/New_York or UTC.`);
    const isRate = /^rate[ (]/i.test(text);
    if (!isRate && !/^(?:CRON_)?TZ=/i.test(text)) text = `TZ=${zone} ${text}`;
  }
  const parsed = parseSchedule(text);
  if (!parsed.ok) throw new UsageError(`invalid schedule "${expression}": ${parsed.error}`);
  const schedule = parsed.schedule;
  const shownZone = zone ?? (schedule.kind === 'cron' ? schedule.timeZone : 'UTC');
  // Far enough for any schedule that fires at all (AWS year fields reach 2199).
  const fires = fireTimesBetween(schedule, options.from, Date.UTC(2200, 0, 1), options.count);
  return {
    expression: schedule.expression,
    fires: fires.map((t) => ({ utc: new Date(t).toISOString(), local: wallTime(t, shownZone), time_zone: shownZone })),
  };
}

function parseFrom(raw: string): number {
  const t = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw.trim()) || Number.isNaN(t)) {
    throw new InvalidArgumentError(`must be an ISO-8601 time such as 2025-03-30T00:00:00Z; got "${raw}".`);
  }
  return t;
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .summary('work with schedule expressions (offline)')
    .description('Check schedule expressions without a server: see when one fires.');

  schedule
    .command('preview')
    .argument('<expression>', 'a schedule: "0 3 * * *", "TZ=Europe/Paris 30 2 * * MON-FRI", "cron(0 12 ? * MON#1 *)", "rate(5 minutes)"')
    .description('Print the next fire times of a schedule expression, in UTC and in its timezone. Works offline.')
    .option('--tz <zone>', 'IANA timezone: evaluates a cron expression without TZ= in it, and shows times there (default: the expression\'s, else UTC)')
    .option('-n, --count <n>', 'how many fire times (1–1000)', intArg(1, 1000), 10)
    .option('--from <time>', 'list fire times after this ISO-8601 time (default: now)', parseFrom)
    .option('--json', 'print JSON instead of a table')
    .addHelpText(
      'after',
      `
Syntax (docs/schedules.md): 5-field cron, @hourly/@daily/@weekly/@monthly/@yearly, AWS cron(...) with ? L W #
and a year field, rate(N seconds|minutes|hours|days), optionally after TZ=<IANA zone>.
An invalid expression exits with code 2 and says which field is wrong.

Examples:
  $ berth schedule preview "0 3 * * *"
  $ berth schedule preview "30 2 * * *" --tz Europe/Paris -n 5
  $ berth schedule preview "cron(0 12 ? * MON#1 *)" --json`,
    )
    .action((expression: string, flags: PreviewFlags) => {
      const preview = previewSchedule(expression, { ...(flags.tz !== undefined ? { tz: flags.tz } : {}), count: flags.count, from: flags.from ?? Date.now() });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(preview, null, 2)}\n`);
        return;
      }
      if (preview.fires.length === 0) {
        process.stdout.write(`${preview.expression}: no more fire times.\n`);
        return;
      }
      const zone = preview.fires[0]!.time_zone;
      const rows = preview.fires.map((f) => [f.utc, f.local]);
      const lines = zone === 'UTC' ? renderTable([{ header: 'UTC' }], rows.map((r) => [r[0]!])) : renderTable([{ header: 'UTC' }, { header: zone }], rows);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
