/**
 * What a wrapper inside a container (CloudReactor's `proc_wrapper`, or `berth-wrap`) tells Berth
 * about a run, as data. Pure: no I/O. The rules that turn a report into a status are in
 * `attempt-outcome.ts`; the HTTP side is `docs/protocol.md`.
 *
 * Glossary:
 * - report (create): `POST /api/v1/task_executions/` with `status`: a run Berth did not start
 *   (run reason REPORTED).
 * - manual start: the first `PATCH` (status RUNNING) of an execution Berth started itself, sent by
 *   a wrapper that found `PROC_WRAPPER_TASK_EXECUTION_UUID` in its environment.
 * - heartbeat: a `PATCH` with status RUNNING and progress (counts, message, pid, …).
 * - final report: a `PATCH` with one of `WRAPPER_FINAL_STATUSES`, the exit code and log tails.
 * - wrapper info: what the wrapper says about itself (family, version, hostname, its settings),
 *   kept as one JSON document on the execution.
 */
import { z } from 'zod';
import type { ExecutionStatus } from './execution-status.js';

const TIME_MESSAGE = 'must be an ISO-8601 time such as 2024-05-01T12:00:00Z (a time without an offset is read as UTC)';

/**
 * Times as wrappers send them: ISO-8601 with an offset, or without one (Python's
 * `datetime.now().isoformat()`), which Berth reads as UTC.
 */
export const WireTime = z.iso.datetime({ offset: true, local: true, message: TIME_MESSAGE });

/** Epoch ms of a `WireTime` (a time without an offset is UTC); null when it is not one. */
export function parseWireTime(text: string): number | null {
  if (!WireTime.safeParse(text).success) return null;
  const zoned = /(?:Z|[+-]\d{2}:\d{2})$/i.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : ms;
}

/** The statuses a wrapper ends a run with. */
export const WRAPPER_FINAL_STATUSES = ['SUCCEEDED', 'FAILED', 'TERMINATED_AFTER_TIME_OUT', 'EXITED_AFTER_MARKED_DONE', 'ABORTED'] as const;
export type WrapperFinalStatus = (typeof WRAPPER_FINAL_STATUSES)[number];

export function isWrapperFinalStatus(status: string | null | undefined): status is WrapperFinalStatus {
  return (WRAPPER_FINAL_STATUSES as readonly string[]).includes(status ?? '');
}

/**
 * The wrapper's own latest account of a run, as stored on the execution (times in epoch ms).
 * For a reported execution it is the same as the execution's fields; for one Berth launched,
 * Berth's status and exit code may differ (the monitor combines both views, `attempt-outcome.ts`).
 */
export interface WrapperReportRecord {
  /** RUNNING while it runs, then one of `WRAPPER_FINAL_STATUSES`. */
  status: ExecutionStatus;
  exit_code: number | null;
  /** Attempts inside the wrapper (its own retries) that failed or timed out. */
  failed_attempts: number | null;
  timed_out_attempts: number | null;
  finished_at: number | null;
  /** When Berth received the latest of these fields (server clock). */
  received_at: number;
}

/** The report's final status, or null while the wrapper has not ended the run. */
export function finalStatusOf(report: Pick<WrapperReportRecord, 'status'> | null | undefined): WrapperFinalStatus | null {
  return report && isWrapperFinalStatus(report.status) ? report.status : null;
}

/** Most bytes of each log tail Berth keeps. Longer tails keep their end. */
export const LOG_TAIL_MAX_BYTES = 64 * 1024;

/**
 * The last `maxBytes` bytes of a log tail (UTF-8), starting on a whole character and marked as
 * cut. The end is what explains a failure, so that is what is kept.
 */
export function capLogTail(text: string, maxBytes: number = LOG_TAIL_MAX_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const head = `[… cut by Berth: this tail had ${bytes.length} bytes; the end is kept]\n`;
  let start = bytes.length - Math.max(0, maxBytes - Buffer.byteLength(head, 'utf8'));
  // Do not start inside a multi-byte character (continuation bytes are 10xxxxxx).
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return head + bytes.subarray(start).toString('utf8');
}

const Text = (max: number) => z.string().max(max, { message: `must be at most ${max} characters` });
const Num = z.number({ message: 'must be a number' });
const Int = z.number({ message: 'must be a whole number' }).int({ message: 'must be a whole number' });
const Bool = z.boolean({ message: 'must be true or false' });
const JsonObject = z.record(z.string(), z.unknown(), { message: 'must be a JSON object' });

/**
 * What a wrapper says about itself and its settings when a run starts (report or manual start).
 * All optional; checked for type so a wrong one is a clear 400, then kept in `wrapper` on the
 * execution. `process_command` is checked but not kept (command lines can hold secrets).
 */
export const WrapperInfoFields = {
  wrapper_family: Text(200).nullable().optional(),
  wrapper_version: Text(100).nullable().optional(),
  wrapper_log_level: Text(50).nullable().optional(),
  hostname: Text(1000).nullable().optional(),
  embedded_mode: Bool.nullable().optional(),
  task_version_number: z.union([Int, Text(200)]).nullable().optional(),
  task_version_text: Text(1000).nullable().optional(),
  task_version_signature: Text(1000).nullable().optional(),
  process_command: Text(100_000).nullable().optional(),
  process_timeout_seconds: Num.nullable().optional(),
  process_max_retries: Int.nullable().optional(),
  process_retry_delay_seconds: Num.nullable().optional(),
  process_termination_grace_period_seconds: Num.nullable().optional(),
  task_max_concurrency: Int.nullable().optional(),
  max_conflicting_age_seconds: Num.nullable().optional(),
  prevent_offline_execution: Bool.nullable().optional(),
  status_update_interval_seconds: Num.nullable().optional(),
  status_update_port: Int.nullable().optional(),
  status_update_message_max_bytes: Int.nullable().optional(),
  num_log_lines_sent_on_failure: Int.nullable().optional(),
  num_log_lines_sent_on_timeout: Int.nullable().optional(),
  num_log_lines_sent_on_success: Int.nullable().optional(),
  max_log_line_length: Int.nullable().optional(),
  is_service: Bool.nullable().optional(),
  schedule: Text(1000).nullable().optional(),
  heartbeat_interval_seconds: Num.nullable().optional(),
  other_instance_metadata: JsonObject.nullable().optional(),
  execution_method_type: Text(200).nullable().optional(),
  execution_method: JsonObject.nullable().optional(),
  execution_method_details: JsonObject.nullable().optional(),
  infrastructure_type: Text(200).nullable().optional(),
  infrastructure_settings: JsonObject.nullable().optional(),
  allocated_cpu_units: Num.nullable().optional(),
  allocated_memory_mb: Num.nullable().optional(),
};

/** Fields of `WrapperInfoFields` that are not kept. */
const NOT_KEPT = new Set(['process_command']);

/** The wrapper info fields present in a parsed body (null when there are none). */
export function wrapperInfoOf(body: Record<string, unknown>): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(WrapperInfoFields)) {
    if (!NOT_KEPT.has(key) && body[key] !== undefined) out[key] = body[key];
  }
  return Object.keys(out).length > 0 ? out : null;
}
