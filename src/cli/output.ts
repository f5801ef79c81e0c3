/**
 * Everything the CLI prints goes through here: aligned tables, `label: value` blocks, relative
 * times and durations, colours (only on a TTY and not with NO_COLOR), and `--json` output, which
 * is the API's JSON exactly.
 */

export interface TextStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export type Colour = 'red' | 'green' | 'yellow' | 'blue' | 'cyan' | 'dim' | 'bold';

const CODES: Record<Colour, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** Whether to colour a stream: a TTY, and NO_COLOR unset or empty (https://no-color.org). */
export function useColour(stream: TextStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export function paint(enabled: boolean, colour: Colour | null, text: string): string {
  if (!enabled || colour === null || text === '') return text;
  const [open, close] = CODES[colour];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Colour of an execution status: green done, red failed, yellow in between. */
export function statusColour(status: string): Colour | null {
  switch (status) {
    case 'SUCCEEDED':
      return 'green';
    case 'FAILED':
    case 'TERMINATED_AFTER_TIME_OUT':
    case 'ABANDONED':
    case 'ABORTED':
      return 'red';
    case 'STOPPED':
    case 'STOPPING':
    case 'MARKED_DONE':
    case 'EXITED_AFTER_MARKED_DONE':
      return 'yellow';
    case 'RUNNING':
    case 'MANUALLY_STARTED':
      return 'cyan';
    default:
      return null;
  }
}

export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** Colour of a cell, chosen from its text. */
  colour?: (value: string) => Colour | null;
}

/** Text width as a terminal shows it (code points; good enough for names and messages). */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, size: number, right = false): string {
  const gap = ' '.repeat(Math.max(0, size - width(text)));
  return right ? gap + text : text + gap;
}

/** Lines of an aligned table: a header row, then one row per item, columns two spaces apart. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], colour = false): string[] {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[], header: boolean) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const last = i === columns.length - 1;
        const padded = last && !c.right ? cell : pad(cell, widths[i] ?? 0, c.right);
        if (header) return paint(colour, 'bold', padded);
        return paint(colour, c.colour ? c.colour(cell) : null, padded);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header), true), ...rows.map((r) => line(r, false))];
}

/** `label: value` lines with the values aligned; multi-line values are indented. */
export function renderFields(fields: readonly (readonly [string, string])[], colour = false): string[] {
  const size = Math.max(0, ...fields.map(([label]) => width(label) + 1));
  const out: string[] = [];
  for (const [label, value] of fields) {
    const [first = '', ...rest] = value.split('\n');
    out.push(`${paint(colour, 'bold', pad(`${label}:`, size))} ${first}`.trimEnd());
    for (const more of rest) out.push(`${' '.repeat(size + 1)}${more}`.trimEnd());
  }
  return out;
}

/** `< 0.1 s`, `0.4 s`, `12 s`, `3 min 4 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = ms / 1000;
  if (s < 0.05) return '< 0.1 s';
  if (s < 10) return `${(Math.round(s * 10) / 10).toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const total = Math.round(s);
  if (total < 3600) {
    const m = Math.floor(total / 60);
    const rest = total % 60;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  if (total < 86400) {
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** `just now`, `5 s ago`, `3 min ago`, `2 h ago`, `4 d ago`, `in 10 s`; a date after 30 days. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const diff = now - at;
  const abs = Math.abs(diff);
  if (abs < 1000) return 'just now';
  if (abs > 30 * 86400 * 1000) return iso.slice(0, 10);
  const s = Math.floor(abs / 1000);
  let text: string;
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86400) text = `${Math.floor(s / 3600)} h`;
  else text = `${Math.floor(s / 86400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** An ISO time with its relative form: `2026-01-02 03:04:05 UTC (5 min ago)`. */
export function timeWithRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const readable = iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
  return `${readable} (${relativeTime(iso, now)})`;
}

/** Duration between two ISO times, or from `start` until now while it runs. */
export function durationBetween(start: string | null | undefined, end: string | null | undefined, now = Date.now()): string {
  if (!start) return '-';
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  return formatDuration(to - from);
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ⏎ ');
  const chars = [...oneLine];
  return chars.length <= max ? oneLine : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** Like `truncate`, but keeps the end (`…amazonaws.com/etl:1.4`): where an image's name and tag are. */
export function truncateStart(text: string, max: number): string {
  const chars = [...text.replace(/\s*\n\s*/g, ' ⏎ ')];
  return chars.length <= max ? chars.join('') : `…${chars.slice(chars.length - Math.max(1, max - 1)).join('')}`;
}

/** A command as a person would type it: a string as is, a list shell-quoted. */
export function formatCommand(command: string | readonly string[] | null | undefined): string {
  if (command === null || command === undefined) return '-';
  if (typeof command === 'string') return command;
  return command.map((part) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A field value in diffs and details: strings JSON-quoted, nothing as `(none)`. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  return JSON.stringify(value);
}

export function yesNo(value: boolean | null | undefined): string {
  return value === null || value === undefined ? '-' : value ? 'yes' : 'no';
}

export function orDash(value: string | number | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : String(value);
}

/** Where a command prints. `--json` turns human output off and prints the API's JSON. */
export class Output {
  readonly colour: boolean;
  readonly errColour: boolean;

  constructor(
    readonly json: boolean,
    readonly stdout: TextStream = process.stdout,
    readonly stderr: TextStream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.colour = useColour(stdout, env);
    this.errColour = useColour(stderr, env);
  }

  /** A line on stdout. */
  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  lines(texts: readonly string[]): void {
    for (const t of texts) this.line(t);
  }

  /** A line on stderr (hints, progress results, warnings). */
  note(text = ''): void {
    this.stderr.write(`${text}\n`);
  }

  /** The API's JSON, pretty-printed, on stdout. */
  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  table(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
    this.lines(renderTable(columns, rows, this.colour));
  }

  fields(fields: readonly (readonly [string, string])[]): void {
    this.lines(renderFields(fields, this.colour));
  }

  paint(colour: Colour | null, text: string): string {
    return paint(this.colour, colour, text);
  }

  paintErr(colour: Colour | null, text: string): string {
    return paint(this.errColour, colour, text);
  }

  /**
   * A page of a list command: the API's page as is with --json; else a table of its results
   * (`row` gives each one's cells) and the paging hint.
   */
  listPage<T>(page: { count: number; results: T[] }, offset: number, what: string, columns: readonly Column[], row: (item: T) => string[]): void {
    if (this.json) return this.printJson(page);
    if (page.results.length > 0) this.table(columns, page.results.map(row));
    this.pageHint(page, offset, what);
  }

  /** For lists: "Showing 1–50 of 120 …" when there are more pages. */
  pageHint(page: { count: number; results: unknown[] }, offset: number, what: string): void {
    if (page.results.length === 0) {
      this.note(offset > 0 ? `No ${what} at offset ${offset} (there are ${page.count}).` : `No ${what}.`);
      return;
    }
    const shown = offset + page.results.length;
    if (page.count > shown || offset > 0) {
      const more = page.count > shown ? `; next page: --offset ${shown}` : '';
      this.note(this.paintErr('dim', `Showing ${offset + 1}–${shown} of ${page.count} ${what}${more}.`));
    }
  }
}
