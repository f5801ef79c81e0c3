/**
 * Schedules as EventBridge rules: which Berth schedule expressions a plain EventBridge rule can
 * run, and the rule's `ScheduleExpression` for them. Pure, like schedule.ts.
 *
 * EventBridge rules take `cron(minutes hours day-of-month month day-of-week year)` and
 * `rate(N minute|minutes|hour|hours|day|days)`, always in UTC, with minute resolution. So:
 * - `cron(...)` and `rate(...)` in minutes, hours or days pass through (normalised);
 * - a 5-field cron or a macro is converted when exactly representable: at most one of the day
 *   fields is restricted (standard cron fires when *either* restricted day field matches, which
 *   EventBridge cannot say);
 * - a `TZ=` other than UTC, and rates in seconds, are refused with what to write instead.
 */
import { parseSchedule } from './schedule.js';
import type { CronSchedule } from './schedule.js';

export type EventBridgeExpressionResult = { ok: true; expression: string } | { ok: false; error: string };

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** `1-5` for one contiguous run, `*` for the whole range, else a comma list. */
function formatSet(values: readonly number[], min: number, max: number, name: (v: number) => string = String): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  if (sorted.length === max - min + 1) return '*';
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  if (sorted.length === 1) return name(first);
  if (last - first + 1 === sorted.length) return `${name(first)}-${name(last)}`;
  return sorted.map(name).join(',');
}

function awsInnerOf(expression: string): string {
  const m = /cron\((.*)\)\s*$/i.exec(expression);
  return (m?.[1] ?? '').trim().replace(/\s+/g, ' ');
}

function convertStandard(s: CronSchedule): EventBridgeExpressionResult {
  if (s.dayMode === 'or') {
    return {
      ok: false,
      error:
        `"${s.expression}" restricts both day-of-month and day-of-week, so standard cron runs when either matches; an EventBridge rule cannot express that. Restrict only one of them, or write two Tasks, or write cron(...) with "?" in one day field`,
    };
  }
  const minutes = formatSet(s.minutes, 0, 59);
  const hours = formatSet(s.hours, 0, 23);
  const months = formatSet([...s.months], 1, 12);
  const days = s.dayOfMonth?.kind === 'set' ? [...s.dayOfMonth.days] : [];
  const weekdays = s.dayOfWeek?.kind === 'set' ? [...s.dayOfWeek.weekdays] : [];
  const allDays = new Set(days).size === 31;
  const allWeekdays = new Set(weekdays).size === 7;
  let dom: string;
  let dow: string;
  if (allDays && allWeekdays) [dom, dow] = ['*', '?'];
  else if (allDays) [dom, dow] = ['?', formatSet(weekdays, 0, 6, (v) => DAY_NAMES[v]!)];
  else [dom, dow] = [formatSet(days, 1, 31), '?'];
  return { ok: true, expression: `cron(${minutes} ${hours} ${dom} ${months} ${dow} *)` };
}

function rateOf(periodMs: number): string | null {
  const unit = periodMs % DAY_MS === 0 ? (['day', DAY_MS] as const) : periodMs % HOUR_MS === 0 ? (['hour', HOUR_MS] as const) : periodMs % MINUTE_MS === 0 ? (['minute', MINUTE_MS] as const) : null;
  if (!unit) return null;
  const n = periodMs / unit[1];
  return `rate(${n} ${unit[0]}${n === 1 ? '' : 's'})`;
}

/**
 * The EventBridge `ScheduleExpression` for a Berth schedule, or why a plain EventBridge rule
 * cannot run it (the message says what to write instead).
 *
 * @example toEventBridgeExpression('30 2 * * MON-FRI') // {ok: true, expression: 'cron(30 2 ? * MON-FRI *)'}
 */
export function toEventBridgeExpression(text: string): EventBridgeExpressionResult {
  const parsed = parseSchedule(text);
  if (!parsed.ok) return parsed;
  const s = parsed.schedule;
  if (s.kind === 'rate') {
    const rate = rateOf(s.periodMs);
    if (!rate) {
      return {
        ok: false,
        error: `"${s.expression}": EventBridge rules fire at most once a minute and only in whole minutes, hours or days; write e.g. rate(1 minute) or rate(5 minutes)`,
      };
    }
    return { ok: true, expression: rate };
  }
  if (s.timeZone !== 'UTC') {
    return {
      ok: false,
      error: `"${s.expression}": EventBridge rules run in UTC only; remove TZ=${s.timeZone} and write the times in UTC (or keep this Task on Berth's scheduler with schedules: berth)`,
    };
  }
  if (s.dialect === 'aws') return { ok: true, expression: `cron(${awsInnerOf(s.expression)})` };
  return convertStandard(s);
}

/**
 * An EventBridge rule name for a Task: `<prefix><task name>` when it fits EventBridge's 64
 * characters, else shortened with a hash of the full name so distinct Tasks keep distinct rules.
 */
export function ruleNameFor(prefix: string, taskName: string): string {
  const full = `${prefix}${taskName}`;
  if (full.length <= 64) return full;
  let hash = 0x811c9dc5;
  for (const ch of full) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const suffix = `-${hash.toString(16).padStart(8, '0')}`;
  return `${full.slice(0, 64 - suffix.length)}${suffix}`;
}
