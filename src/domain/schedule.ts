/**
 * Schedules: when a Task is expected to run. Pure: no I/O and no clock (every function takes the
 * time it reasons about), so the same input always gives the same answer.
 *
 * Glossary:
 * - schedule expression: the Task's `schedule` string, in one of the syntaxes below.
 * - fire time: an instant (epoch ms) at which the schedule says a run is due.
 * - wall time: the date and time a clock on the wall of the schedule's timezone shows.
 *
 * Syntaxes (see docs/liveness.md for the user-facing description):
 * - standard cron, 5 fields `minute hour day-of-month month day-of-week`, with `*`, ranges
 *   `1-5`, steps `*\/15` `0-30/10` `5/15`, lists `1,15,30`, names `JAN`–`DEC` and `SUN`–`SAT`
 *   (day-of-week 0 and 7 are Sunday). When both day fields are restricted (neither starts with
 *   `*`), a day matches when either does, as in Vixie cron.
 * - macros: `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`), `@hourly`.
 * - AWS EventBridge forms: `cron(minutes hours day-of-month month day-of-week year)` with AWS's
 *   rules (one of the day fields must be `?`, day-of-week 1–7 is SUN–SAT, and the wildcards `L`,
 *   `W` and `#`), and `rate(5 minutes)` / `rate(1 hour)` / `rate(2 days)`. Berth also takes
 *   seconds in a rate, `rate(30 seconds)` (AWS does not): cron forms have minute resolution.
 * - an optional timezone before a cron form: `TZ=Europe/Paris 0 3 * * *` (or `CRON_TZ=`). Any
 *   IANA name the runtime's Intl knows. (Default: UTC)
 *
 * Daylight saving time, for cron forms in a timezone that has it: a wall time that happens twice
 * (clocks go back) fires once, at its first occurrence; a wall time that does not exist (clocks
 * go forward) fires once, at the instant right after the jump. So a daily job never runs twice
 * and is never skipped. A `rate(...)` has no wall times: it fires every period from an anchor.
 */

/** A parsed `rate(...)`: fires every `periodMs` from an anchor the caller chooses. */
export interface RateSchedule {
  readonly kind: 'rate';
  /** The expression as written (trimmed). */
  readonly expression: string;
  readonly periodMs: number;
}

type DayOfMonthRule =
  | { kind: 'set'; days: ReadonlySet<number> }
  | { kind: 'last' }
  | { kind: 'last-weekday' }
  | { kind: 'nearest-weekday'; day: number };

type DayOfWeekRule =
  | { kind: 'set'; weekdays: ReadonlySet<number> }
  | { kind: 'last-of-month'; weekday: number }
  | { kind: 'nth'; weekday: number; nth: number };

/** A parsed cron form (standard, macro or AWS `cron(...)`). */
export interface CronSchedule {
  readonly kind: 'cron';
  readonly expression: string;
  /** IANA timezone the wall times are in. */
  readonly timeZone: string;
  readonly dialect: 'standard' | 'aws';
  /** Sorted ascending. */
  readonly minutes: readonly number[];
  /** Sorted ascending. */
  readonly hours: readonly number[];
  /** 1–12. */
  readonly months: ReadonlySet<number>;
  /** Null when every year matches. */
  readonly years: readonly number[] | null;
  readonly dayOfMonth: DayOfMonthRule | null;
  readonly dayOfWeek: DayOfWeekRule | null;
  /** How the two day fields combine: both must match, either may, or only one counts. */
  readonly dayMode: 'and' | 'or';
}

export type Schedule = CronSchedule | RateSchedule;

export type ScheduleParseResult = { ok: true; schedule: Schedule } | { ok: false; error: string };

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** More than any daylight-saving shift (2 h, Antarctica/Troll). */
const MAX_SHIFT_MS = 3 * HOUR_MS;
/** How far `next`/`previous` look for a matching day when the years are unrestricted. */
const SEARCH_YEARS = 30;
const AWS_MIN_YEAR = 1970;
const AWS_MAX_YEAR = 2199;

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** One line that names every accepted form, appended to messages about unrecognisable input. */
export const SCHEDULE_FORMS =
  'use 5-field cron ("0 3 * * *"), a macro (@hourly, @daily, @weekly, @monthly, @yearly), cron(0 3 * * ? *) or rate(5 minutes), optionally after TZ=<IANA zone>';

class ScheduleError extends Error {}

function fail(message: string): never {
  throw new ScheduleError(message);
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses a schedule expression. Never throws: an invalid one gives `{ok: false, error}` with a
 * message that says which part is wrong and how to write it.
 *
 * @example parseSchedule('TZ=Europe/Paris 30 2 * * MON-FRI')
 * @example parseSchedule('cron(0 12 ? * MON#1 *)') // noon on the first Monday of each month, UTC
 */
export function parseSchedule(text: string): ScheduleParseResult {
  try {
    return { ok: true, schedule: parseOrThrow(text) };
  } catch (error) {
    if (error instanceof ScheduleError) return { ok: false, error: error.message };
    throw error;
  }
}

function parseOrThrow(raw: string): Schedule {
  const expression = raw.trim().replace(/\s+/g, ' ');
  if (expression === '') fail(`the schedule is empty; ${SCHEDULE_FORMS}`);
  let rest = expression;
  let timeZone = 'UTC';
  let zoneGiven = false;
  const tz = /^(?:CRON_)?TZ=(\S*)\s*(.*)$/i.exec(rest);
  if (tz) {
    const zone = tz[1] ?? '';
    if (zone === '') fail('TZ= needs a timezone name, such as TZ=Europe/Paris or TZ=UTC');
    const canonical = canonicalTimeZone(zone);
    if (canonical === null) {
      fail(`unknown timezone "${zone}": use an IANA name such as Europe/Paris, America/New_York or UTC`);
    }
    timeZone = canonical;
    zoneGiven = true;
    rest = tz[2] ?? '';
    if (rest === '') fail(`TZ=${zone} must be followed by a cron expression, e.g. "TZ=${zone} 0 3 * * *"`);
  }
  const lower = rest.toLowerCase();
  if (lower.startsWith('rate(') || lower.startsWith('rate ')) {
    if (zoneGiven) fail('rate(...) fires every period whatever the timezone; remove the TZ= prefix');
    return parseRate(rest, expression);
  }
  if (lower.startsWith('cron(') || lower.startsWith('cron ')) return parseAwsCron(rest, expression, timeZone);
  if (rest.startsWith('@')) {
    const macro = MACROS[lower];
    if (!macro) {
      const hint = lower === '@reboot' ? '@reboot has no time of day, so Berth cannot expect runs from it; ' : `unknown macro "${rest}": `;
      fail(`${hint}use one of ${Object.keys(MACROS).join(', ')}`);
    }
    return parseStandardCron(macro, expression, timeZone);
  }
  return parseStandardCron(rest, expression, timeZone);
}

/** The runtime's name for a valid IANA timezone, or null when Intl does not know it. */
export function canonicalTimeZone(name: string): string | null {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

function parseRate(text: string, expression: string): RateSchedule {
  const m = /^rate\((.*)\)$/i.exec(text);
  if (!m) fail(`"${text}" is not a rate expression: write rate(<number> <unit>), e.g. rate(5 minutes), rate(1 hour), rate(2 days)`);
  const inner = (m[1] ?? '').trim();
  const parts = inner.split(' ').filter(Boolean);
  if (parts.length !== 2) {
    fail(`rate(${inner}) needs a number and a unit, e.g. rate(5 minutes), rate(1 hour) or rate(2 days)`);
  }
  const [value, unit] = parts as [string, string];
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    fail(`rate(${inner}): "${value}" must be a whole number of at least 1`);
  }
  const n = Number(value);
  const unitMs: Record<string, number> = { second: SECOND_MS, seconds: SECOND_MS, minute: MINUTE_MS, minutes: MINUTE_MS, hour: HOUR_MS, hours: HOUR_MS, day: DAY_MS, days: DAY_MS };
  const size = unitMs[unit.toLowerCase()];
  if (size === undefined) fail(`rate(${inner}): unknown unit "${unit}"; use second(s), minute(s), hour(s) or day(s)`);
  const periodMs = n * size;
  if (periodMs > 366 * DAY_MS) fail(`rate(${inner}) is longer than a year; use a cron expression for rare schedules`);
  return { kind: 'rate', expression, periodMs };
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Index of names[0] (months: 1, days of week: 0, or 1 in AWS). */
  nameBase?: number;
  /** Values accepted beyond `max` and what they mean (standard day-of-week 7 = Sunday). */
  alias?: Record<number, number>;
}

interface ParsedField {
  values: Set<number>;
  /** Written starting with `*` (Vixie's rule for combining the two day fields). */
  star: boolean;
}

function parseValue(token: string, spec: FieldSpec, whole: string): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    const aliasMax = spec.alias ? Math.max(spec.max, ...Object.keys(spec.alias).map(Number)) : spec.max;
    if (n < spec.min || n > aliasMax) {
      fail(`${spec.name} field "${whole}": ${n} is out of range ${spec.min}–${aliasMax}`);
    }
    return n;
  }
  if (spec.names) {
    const index = spec.names.indexOf(token.toUpperCase());
    if (index >= 0) return index + (spec.nameBase ?? spec.min);
    fail(`${spec.name} field "${whole}": unknown value "${token}"; use ${spec.names.join(', ')} or ${spec.min}–${spec.max}`);
  }
  fail(`${spec.name} field "${whole}": "${token}" is not a number (${spec.min}–${spec.max})`);
}

function parseField(text: string, spec: FieldSpec): ParsedField {
  const values = new Set<number>();
  if (text === '') fail(`${spec.name} field is missing`);
  for (const item of text.split(',')) {
    if (item === '') fail(`${spec.name} field "${text}": empty item in the list (two commas, or a comma at an end)`);
    const [rangePart = '', stepPart, extra] = item.split('/');
    if (extra !== undefined) fail(`${spec.name} field "${text}": "${item}" has more than one "/"`);
    let step = 1;
    if (stepPart !== undefined) {
      if (!/^\d+$/.test(stepPart) || Number(stepPart) < 1) {
        fail(`${spec.name} field "${text}": the step after "/" must be a whole number of at least 1, got "${stepPart}"`);
      }
      step = Number(stepPart);
    }
    let from: number;
    let to: number;
    if (rangePart === '*') {
      from = spec.min;
      to = spec.max;
    } else if (rangePart.includes('-')) {
      const [a = '', b = '', more] = rangePart.split('-');
      if (more !== undefined || a === '' || b === '') fail(`${spec.name} field "${text}": "${rangePart}" is not a range like 1-5`);
      from = parseValue(a, spec, text);
      to = parseValue(b, spec, text);
      if (to < from) {
        fail(`${spec.name} field "${text}": the range ${rangePart} goes backwards; write it as two ranges, e.g. ${a}-${spec.max},${spec.min}-${b}`);
      }
    } else {
      from = parseValue(rangePart, spec, text);
      // `5/15` means from 5 to the end of the range in steps of 15 (AWS and most crons).
      to = stepPart !== undefined ? spec.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(spec.alias?.[v] ?? v);
  }
  return { values, star: text.startsWith('*') };
}

const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
const STANDARD_DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 6, names: DAY_NAMES, nameBase: 0, alias: { 7: 0 } };
const AWS_DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES, nameBase: 1 };
const YEAR: FieldSpec = { name: 'year', min: AWS_MIN_YEAR, max: AWS_MAX_YEAR };

const sorted = (values: Set<number>) => [...values].sort((a, b) => a - b);

function parseStandardCron(text: string, expression: string, timeZone: string): CronSchedule {
  const fields = text.split(' ');
  if (fields.length !== 5) {
    const hint =
      fields.length === 6
        ? ' For AWS six-field expressions (with a year) write cron(...), e.g. cron(0 3 * * ? *); Berth has no seconds field.'
        : '';
    fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${fields.length} in "${text}".${hint}`);
  }
  const [minute = '', hour = '', dom = '', month = '', dow = ''] = fields;
  for (const [name, value] of [
    ['day-of-month', dom],
    ['day-of-week', dow],
  ] as const) {
    if (value.includes('?')) fail(`${name} field "${value}": "?" belongs to AWS cron(...) expressions; in 5-field cron write *`);
    if (/[LW#]/i.test(value.replace(/[A-Za-z]{3}/g, (n) => (DAY_NAMES.includes(n.toUpperCase()) ? '' : n)))) {
      fail(`${name} field "${value}": L, W and # are supported in AWS cron(...) expressions only`);
    }
  }
  const days = parseField(dom, DAY_OF_MONTH);
  const weekdays = parseField(dow, STANDARD_DAY_OF_WEEK);
  const schedule: CronSchedule = {
    kind: 'cron',
    expression,
    timeZone,
    dialect: 'standard',
    minutes: sorted(parseField(minute, MINUTE).values),
    hours: sorted(parseField(hour, HOUR).values),
    months: parseField(month, MONTH).values,
    years: null,
    dayOfMonth: { kind: 'set', days: days.values },
    dayOfWeek: { kind: 'set', weekdays: weekdays.values },
    dayMode: days.star || weekdays.star ? 'and' : 'or',
  };
  checkFires(schedule);
  return schedule;
}

function parseAwsCron(text: string, expression: string, timeZone: string): CronSchedule {
  const m = /^cron\((.*)\)$/i.exec(text);
  if (!m) fail(`"${text}" is not an AWS cron expression: write cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 3 * * ? *)`);
  const inner = (m[1] ?? '').trim();
  const fields = inner.split(' ').filter(Boolean);
  if (fields.length !== 6) {
    fail(`cron(${inner}) needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}; e.g. cron(0 3 * * ? *)`);
  }
  const [minute = '', hour = '', dom = '', month = '', dow = '', year = ''] = fields;
  if ((dom === '?') === (dow === '?')) {
    fail(
      `cron(${inner}): exactly one of day-of-month and day-of-week must be "?" (AWS requires it), e.g. cron(0 3 * * ? *) for every day or cron(0 3 ? * MON *) for Mondays`,
    );
  }
  const yearField = parseField(year, YEAR);
  const schedule: CronSchedule = {
    kind: 'cron',
    expression,
    timeZone,
    dialect: 'aws',
    minutes: sorted(parseField(minute, MINUTE).values),
    hours: sorted(parseField(hour, HOUR).values),
    months: parseField(month, MONTH).values,
    years: yearField.star && yearField.values.size === AWS_MAX_YEAR - AWS_MIN_YEAR + 1 ? null : sorted(yearField.values),
    dayOfMonth: dom === '?' ? null : parseAwsDayOfMonth(dom),
    dayOfWeek: dow === '?' ? null : parseAwsDayOfWeek(dow),
    dayMode: 'and',
  };
  checkFires(schedule);
  return schedule;
}

function parseAwsDayOfMonth(text: string): DayOfMonthRule {
  const upper = text.toUpperCase();
  if (upper === 'L') return { kind: 'last' };
  if (upper === 'LW') return { kind: 'last-weekday' };
  const w = /^(\d+)W$/.exec(upper);
  if (w) {
    const day = Number(w[1]);
    if (day < 1 || day > 31) fail(`day-of-month field "${text}": ${day} is out of range 1–31`);
    return { kind: 'nearest-weekday', day };
  }
  if (/[LW]/.test(upper)) {
    fail(`day-of-month field "${text}": L, LW and nW (the weekday nearest day n) stand alone; they cannot be combined with other values`);
  }
  return { kind: 'set', days: parseField(text, DAY_OF_MONTH).values };
}

function parseAwsDayOfWeek(text: string): DayOfWeekRule {
  const upper = text.toUpperCase();
  const weekday = (token: string) => parseValue(token, AWS_DAY_OF_WEEK, text) - 1;
  if (upper === 'L') return { kind: 'set', weekdays: new Set([6]) };
  const last = /^([A-Z]{3}|\d+)L$/.exec(upper);
  if (last) return { kind: 'last-of-month', weekday: weekday(last[1] ?? '') };
  if (upper.includes('#')) {
    const nth = /^([A-Z]{3}|\d+)#(\d+)$/.exec(upper);
    if (!nth) fail(`day-of-week field "${text}": write the nth weekday of the month as <day>#<n>, e.g. MON#1 or 2#3, on its own`);
    const n = Number(nth[2]);
    if (n < 1 || n > 5) fail(`day-of-week field "${text}": #${n} must be between #1 and #5 (a month has at most five of each weekday)`);
    return { kind: 'nth', weekday: weekday(nth[1] ?? ''), nth: n };
  }
  if (/L/.test(upper.replace(/[A-Z]{3}/g, (n) => (DAY_NAMES.includes(n) ? '' : n)))) {
    fail(`day-of-week field "${text}": <day>L (the last such day of the month) stands alone; it cannot be combined with other values`);
  }
  const parsed = parseField(text, AWS_DAY_OF_WEEK);
  return { kind: 'set', weekdays: new Set([...parsed.values].map((v) => v - 1)) };
}

/** Refuses expressions that can never fire (30 February), naming the impossible combination. */
function checkFires(schedule: CronSchedule): void {
  const dom = schedule.dayOfMonth;
  if (dom?.kind === 'set' && schedule.dayMode === 'and' && dom.days.size > 0) {
    const longest = Math.max(...[...schedule.months].map((m) => daysInMonth(2000, m)));
    const earliest = Math.min(...dom.days);
    if (earliest > longest) {
      const names = sorted(new Set(schedule.months)).map((m) => MONTH_NAMES[m - 1]).join(', ');
      fail(`day-of-month ${earliest} does not exist in ${names}: this schedule would never fire`);
    }
  }
  const reference = schedule.years ? Date.UTC(schedule.years[0]!, 0, 1) - 1 : Date.UTC(2000, 0, 1);
  if (nextCronTime(schedule, reference) === null) {
    fail(
      schedule.years
        ? `no date in the years ${schedule.years[0]}–${schedule.years[schedule.years.length - 1]} matches: this schedule would never fire`
        : 'no date matches both the day and month fields: this schedule would never fire',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Fire times

/**
 * The first fire time strictly after `after` (epoch ms), or null when there is none (an AWS year
 * range that has passed). For a `rate(...)`, fire times are `anchor + k × period`.
 *
 * @example nextFireTime(parsed('0 3 * * *'), Date.parse('2024-05-01T05:00:00Z')) // 2024-05-02T03:00:00Z
 */
export function nextFireTime(schedule: Schedule, after: number, anchor = 0): number | null {
  if (schedule.kind === 'rate') return anchor + (Math.floor((after - anchor) / schedule.periodMs) + 1) * schedule.periodMs;
  return nextCronTime(schedule, after);
}

/** The last fire time at or before `atOrBefore`, or null when there is none. */
export function previousFireTime(schedule: Schedule, atOrBefore: number, anchor = 0): number | null {
  if (schedule.kind === 'rate') return anchor + Math.floor((atOrBefore - anchor) / schedule.periodMs) * schedule.periodMs;
  return previousCronTime(schedule, atOrBefore);
}

/** Fire times in `(from, to]`, at most `limit` of them (for previews and tests). */
export function fireTimesBetween(schedule: Schedule, from: number, to: number, limit = 1000, anchor = 0): number[] {
  const out: number[] = [];
  let t = from;
  while (out.length < limit) {
    const next = nextFireTime(schedule, t, anchor);
    if (next === null || next > to) break;
    out.push(next);
    t = next;
  }
  return out;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function weekdayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

function nearestWeekday(year: number, month: number, day: number): number | null {
  const last = daysInMonth(year, month);
  if (day > last) return null;
  const wd = weekdayOf(year, month, day);
  if (wd === 6) return day === 1 ? 3 : day - 1; // Saturday: Friday, or Monday the 3rd
  if (wd === 0) return day === last ? day - 2 : day + 1; // Sunday: Monday, or Friday before a month end
  return day;
}

function lastWeekday(year: number, month: number): number {
  const last = daysInMonth(year, month);
  const wd = weekdayOf(year, month, last);
  return wd === 6 ? last - 1 : wd === 0 ? last - 2 : last;
}

function dayOfMonthMatches(rule: DayOfMonthRule, year: number, month: number, day: number): boolean {
  switch (rule.kind) {
    case 'set':
      return rule.days.has(day);
    case 'last':
      return day === daysInMonth(year, month);
    case 'last-weekday':
      return day === lastWeekday(year, month);
    case 'nearest-weekday':
      return day === nearestWeekday(year, month, rule.day);
  }
}

function dayOfWeekMatches(rule: DayOfWeekRule, year: number, month: number, day: number): boolean {
  const wd = weekdayOf(year, month, day);
  switch (rule.kind) {
    case 'set':
      return rule.weekdays.has(wd);
    case 'last-of-month':
      return wd === rule.weekday && day + 7 > daysInMonth(year, month);
    case 'nth':
      return wd === rule.weekday && Math.ceil(day / 7) === rule.nth;
  }
}

function dayMatches(s: CronSchedule, year: number, month: number, day: number): boolean {
  const dom = s.dayOfMonth ? dayOfMonthMatches(s.dayOfMonth, year, month, day) : null;
  const dow = s.dayOfWeek ? dayOfWeekMatches(s.dayOfWeek, year, month, day) : null;
  if (dom === null) return dow ?? true;
  if (dow === null) return dom;
  return s.dayMode === 'or' ? dom || dow : dom && dow;
}

// ---- timezones -------------------------------------------------------------------------------

const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = FORMATTERS.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    FORMATTERS.set(timeZone, f);
  }
  return f;
}

/** The zone's offset from UTC (ms, positive east) at instant `t`. */
export function timeZoneOffset(timeZone: string, t: number): number {
  if (timeZone === 'UTC') return 0;
  const seconds = Math.floor(t / 1000) * 1000;
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(seconds))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - seconds;
}

/** Offsets in effect around one local date: equal when no transition touches that day. */
function dayOffsets(timeZone: string, year: number, month: number, day: number): [number, number] {
  if (timeZone === 'UTC') return [0, 0];
  const midnight = Date.UTC(year, month - 1, day);
  // Local midnight is within UTC−12…UTC+14 of `midnight`: these instants bracket the local day.
  return [timeZoneOffset(timeZone, midnight - 15 * HOUR_MS), timeZoneOffset(timeZone, midnight + DAY_MS + 13 * HOUR_MS)];
}

/**
 * The instant a wall time fires at: itself when it exists once; its first occurrence when it
 * exists twice; the instant right after the jump when it does not exist.
 */
function resolveWall(timeZone: string, wall: number, offsets: [number, number]): number {
  const [a, b] = offsets;
  if (a === b) return wall - a;
  const candidates = [wall - a, wall - b].filter((t) => timeZoneOffset(timeZone, t) === wall - t).sort((x, y) => x - y);
  if (candidates.length > 0) return candidates[0]!;
  // In a gap: the wall clock jumps over `wall` somewhere between these two instants.
  let lo = wall - Math.max(a, b);
  let hi = wall - Math.min(a, b);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (mid + timeZoneOffset(timeZone, mid) >= wall) hi = mid;
    else lo = mid;
  }
  return hi;
}

function wallParts(wall: number): { year: number; month: number; day: number } {
  const d = new Date(wall);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

function nextCronTime(s: CronSchedule, after: number): number | null {
  const startWall = Math.floor((after + timeZoneOffset(s.timeZone, after)) / MINUTE_MS) * MINUTE_MS;
  let { year, month, day } = wallParts(startWall);
  const lastYear = s.years ? s.years[s.years.length - 1]! : year + SEARCH_YEARS;
  let first = true;
  while (year <= lastYear) {
    if (s.years && !s.years.includes(year)) {
      const nextYear = s.years.find((y) => y > year);
      if (nextYear === undefined) return null;
      [year, month, day, first] = [nextYear, 1, 1, false];
      continue;
    }
    if (s.months.has(month)) {
      const dim = daysInMonth(year, month);
      for (; day <= dim; day++) {
        if (!dayMatches(s, year, month, day)) continue;
        const found = firstInDay(s, year, month, day, first ? startWall : Number.NEGATIVE_INFINITY, after);
        if (found !== null) return found;
        first = false;
      }
    }
    first = false;
    day = 1;
    if (++month > 12) [month, year] = [1, year + 1];
  }
  return null;
}

function firstInDay(s: CronSchedule, year: number, month: number, day: number, minWall: number, after: number): number | null {
  const offsets = dayOffsets(s.timeZone, year, month, day);
  for (const hour of s.hours) {
    for (const minute of s.minutes) {
      const wall = Date.UTC(year, month - 1, day, hour, minute);
      if (wall < minWall) continue;
      const t = resolveWall(s.timeZone, wall, offsets);
      if (t > after) return t;
    }
  }
  return null;
}

function previousCronTime(s: CronSchedule, atOrBefore: number): number | null {
  // Start a few hours later on the wall: when clocks went back, later wall times of the first
  // occurrence map to instants before `atOrBefore`.
  const startWall = Math.floor((atOrBefore + timeZoneOffset(s.timeZone, atOrBefore)) / MINUTE_MS) * MINUTE_MS + MAX_SHIFT_MS;
  let { year, month, day } = wallParts(startWall);
  const firstYear = s.years ? s.years[0]! : year - SEARCH_YEARS;
  let first = true;
  while (year >= firstYear) {
    if (s.years && !s.years.includes(year)) {
      const previousYear = [...s.years].reverse().find((y) => y < year);
      if (previousYear === undefined) return null;
      [year, month, day, first] = [previousYear, 12, 31, false];
      continue;
    }
    if (s.months.has(month)) {
      for (; day >= 1; day--) {
        if (!dayMatches(s, year, month, day)) continue;
        const found = lastInDay(s, year, month, day, first ? startWall : Number.POSITIVE_INFINITY, atOrBefore);
        if (found !== null) return found;
        first = false;
      }
    }
    first = false;
    if (--month < 1) [month, year] = [12, year - 1];
    day = daysInMonth(year, month);
  }
  return null;
}

function lastInDay(s: CronSchedule, year: number, month: number, day: number, maxWall: number, atOrBefore: number): number | null {
  const offsets = dayOffsets(s.timeZone, year, month, day);
  for (let h = s.hours.length - 1; h >= 0; h--) {
    for (let m = s.minutes.length - 1; m >= 0; m--) {
      const wall = Date.UTC(year, month - 1, day, s.hours[h]!, s.minutes[m]!);
      if (wall > maxWall) continue;
      const t = resolveWall(s.timeZone, wall, offsets);
      if (t <= atOrBefore) return t;
    }
  }
  return null;
}
