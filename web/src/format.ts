/** Formatting shared by the pages: statuses, times, durations. */

/** The colour family of an execution, node or Workflow Execution status (used as a CSS class). */
export function statusTone(status: string): 'ok' | 'bad' | 'run' | 'wait' | 'off' | 'warn' {
  switch (status) {
    case 'SUCCEEDED':
    case 'FIRED':
    case 'pass':
      return 'ok';
    case 'FAILED':
    case 'TERMINATED_AFTER_TIME_OUT':
    case 'ABANDONED':
    case 'ABORTED':
    case 'fail':
    case 'error':
      return 'bad';
    case 'RUNNING':
    case 'MANUALLY_STARTED':
    case 'READY':
      return 'run';
    case 'QUEUED':
    case 'WAITING':
    case 'STOPPING':
    case 'PENDING':
      return 'wait';
    case 'MARKED_DONE':
    case 'EXITED_AFTER_MARKED_DONE':
    case 'warn':
    case 'warning':
      return 'warn';
    default:
      return 'off';
  }
}

export const IN_PROGRESS = new Set(['QUEUED', 'MANUALLY_STARTED', 'RUNNING', 'STOPPING']);

export function isInProgress(status: string): boolean {
  return IN_PROGRESS.has(status);
}

// One formatter for every time on the page: building one per call costs more than the formatting.
const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return TIME_FORMAT.format(new Date(iso));
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  const s = abs / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "3 min ago" / "in 2 h" relative to `now`. */
export function relative(iso: string | null | undefined, now: number): string {
  if (!iso) return '—';
  const diff = new Date(iso).getTime() - now;
  if (Math.abs(diff) < 1500) return 'just now';
  return diff < 0 ? `${formatDuration(-diff)} ago` : `in ${formatDuration(diff)}`;
}

export function durationOf(start: string | null, end: string | null, now: number): string {
  if (!start) return '—';
  return formatDuration((end ? new Date(end).getTime() : now) - new Date(start).getTime());
}

export function commandText(command: string | string[] | null): string {
  if (command === null) return '—';
  return typeof command === 'string' ? command : command.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ');
}
