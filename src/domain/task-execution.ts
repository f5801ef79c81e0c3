import { z } from 'zod';
import { Environment, Name, Timestamp, Uuid } from './common.js';
import { ExecutionStatus, RunReason, StopReason } from './execution-status.js';
import { Failure } from './failure.js';
import { LOG_TAIL_MAX_BYTES, WireTime, WrapperInfoFields } from './wrapper-report.js';

/** One attempt of an execution; an execution with retries has several. */
export const Attempt = z.object({
  number: z.number().int().positive(),
  status: ExecutionStatus,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  exit_code: z.number().int().nullable(),
  failure: Failure.nullable(),
});
export type Attempt = z.infer<typeof Attempt>;

/** The wrapper's own latest account of a run, as the API shows it. */
export const WrapperReport = z.object({
  status: ExecutionStatus.describe('RUNNING while it runs, then the final status the wrapper reported.'),
  exit_code: z.number().int().nullable(),
  failed_attempts: z.number().int().nullable().describe("Attempts inside the wrapper (its own retries) that failed."),
  timed_out_attempts: z.number().int().nullable(),
  finished_at: Timestamp.nullable(),
  received_at: Timestamp.describe('When Berth received it.'),
});
export type WrapperReport = z.infer<typeof WrapperReport>;

/** A Task Execution as the API returns it (CloudReactor-compatible field names). */
export const TaskExecution = z.object({
  uuid: Uuid,
  task: z.object({ uuid: Uuid, name: Name }),
  run_environment: z.object({ uuid: Uuid, name: Name }),
  status: ExecutionStatus,
  run_reason: RunReason,
  stop_reason: StopReason.nullable(),
  failure: Failure.nullable().describe('Why it did not succeed, with a message a person can act on.'),
  created_at: Timestamp,
  updated_at: Timestamp,
  launch_after: Timestamp.nullable().describe('While QUEUED for a retry: not launched before this time.'),
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable(),
  stop_requested_at: Timestamp.nullable(),
  attempt: z.number().int().min(0).describe('Number of the current (or last) attempt; 0 before the first launch.'),
  max_attempts: z.number().int().positive(),
  failed_attempts: z.number().int().min(0),
  timed_out_attempts: z.number().int().min(0),
  attempts: z.array(Attempt),
  exit_code: z.number().int().nullable(),
  environment_overrides: Environment,
  input_value: z.unknown().nullable(),
  output_value: z.unknown().nullable(),
  success_count: z.number().int().nullable(),
  error_count: z.number().int().nullable(),
  skipped_count: z.number().int().nullable(),
  expected_count: z.number().int().nullable(),
  last_status_message: z.string().nullable(),
  last_heartbeat_at: Timestamp.nullable().describe('When Berth last heard from the wrapper (its clock).'),
  last_app_heartbeat_at: Timestamp.nullable().describe("The app's own last heartbeat, as the wrapper reported it."),
  pid: z.number().int().nullable().describe('Process id of the wrapped command, as the wrapper reported it.'),
  other_runtime_metadata: z.unknown().nullable(),
  debug_log_tail: z
    .string()
    .nullable()
    .describe(`The last lines of the command's output, sent by the wrapper (at most ${LOG_TAIL_MAX_BYTES / 1024} KiB; a longer tail keeps its end).`),
  error_log_tail: z.string().nullable().describe(`The last lines of its error output, sent by the wrapper (at most ${LOG_TAIL_MAX_BYTES / 1024} KiB).`),
  wrapper: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('What the wrapper said about itself when the run started: wrapper_family, wrapper_version, hostname and its settings.'),
  wrapper_report: WrapperReport.nullable().describe(
    "The wrapper's own latest account of the run. For an execution Berth launched, status and exit_code above combine it with the executor's view (docs/protocol.md).",
  ),
  executor: z
    .object({ kind: z.string(), details: z.record(z.string(), z.unknown()) })
    .nullable()
    .describe('Which executor runs it and its handle (process id, ECS task ARN, …).'),
});
export type TaskExecution = z.infer<typeof TaskExecution>;

const wholeNumber = (field: string, min?: number) => {
  const base = z.number({ message: `${field} must be a whole number` }).int({ message: `${field} must be a whole number` });
  return min === undefined ? base : base.min(min, { message: `${field} must be ${min} or more` });
};

/** Body of `POST /api/v1/task_executions/` without `status`: start a Task (Berth launches it). */
export const StartExecutionRequest = z.object({
  status: z.undefined().optional().describe('Leave out: a body with status is a wrapper reporting a run it started.'),
  task: z
    .union([z.string().min(1), z.object({ name: Name }), z.object({ uuid: Uuid })])
    .describe('The Task to start: its name or uuid, or {"name": …} / {"uuid": …}.'),
  environment: Environment.optional().describe('Environment variables added to (and overriding) the Task\'s for this run.'),
  input_value: z.unknown().optional(),
  run_reason: z.enum(['EXPLICIT_START', 'EXPLICIT_RETRY']).optional(),
});
export type StartExecutionRequest = z.infer<typeof StartExecutionRequest>;

/** The Task of a wrapper's report: which one, and what Berth needs to create it if it is new. */
export const ReportedTask = z
  .object({
    name: Name.optional(),
    uuid: Uuid.optional(),
    was_auto_created: z
      .boolean({ message: 'task.was_auto_created must be true or false' })
      .nullable()
      .optional()
      .describe('true: create the Task (passive) if Berth does not know it, when the API key may.'),
    passive: z.boolean({ message: 'task.passive must be true or false' }).nullable().optional(),
    max_concurrency: wholeNumber('task.max_concurrency', -1)
      .nullable()
      .optional()
      .describe('For a Task created from this report: how many runs at once (-1 or null = no limit).'),
    heartbeat_interval_seconds: z.number({ message: 'task.heartbeat_interval_seconds must be a number' }).nullable().optional(),
    run_environment: z
      .object({ name: z.string().min(1).optional(), uuid: Uuid.optional() })
      .nullable()
      .optional()
      .describe("Where to create the Task (name or uuid). (Default: a reporter key's own Run Environment)"),
  })
  .refine((task) => task.name !== undefined || task.uuid !== undefined, {
    message: 'give the Task\'s name (or uuid)',
  });
export type ReportedTask = z.infer<typeof ReportedTask>;

/**
 * Body of `POST /api/v1/task_executions/` with `status`: a wrapper (proc_wrapper) reports a run
 * it started itself. Unknown fields are ignored, known ones checked.
 */
export const ReportExecutionRequest = z.object({
  status: z
    .enum(['RUNNING', 'ABORTED'])
    .describe('RUNNING: the wrapper is about to run its command. ABORTED: it will not (its configuration is invalid).'),
  // The object first: when both fail, the error names the object's bad field.
  task: z.union([ReportedTask, z.string().min(1)]).describe('The Task: {"name": …} or {"uuid": …}, with auto-create fields.'),
  started_at: WireTime.optional().describe('When the run started. (Default: when Berth received the report)'),
  input_value: z.unknown().optional(),
  stop_reason: z.string().max(100).optional(),
  ...WrapperInfoFields,
});
export type ReportExecutionRequest = z.infer<typeof ReportExecutionRequest>;

/** Either body of `POST /api/v1/task_executions/`: told apart by `status`. */
export const CreateExecutionRequest = z.discriminatedUnion('status', [ReportExecutionRequest, StartExecutionRequest], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? 'status must be RUNNING (or ABORTED) in a wrapper\'s report; leave it out to start a Task'
      : undefined,
});
export type CreateExecutionRequest = z.infer<typeof CreateExecutionRequest>;

const Count = (field: string) => wholeNumber(field, 0).nullable().optional();

/**
 * Body of `PATCH /api/v1/task_executions/{uuid}/`: a status update. `{"status": "STOPPING"}`
 * requests a stop; `{"status": "MARKED_DONE"}` marks it done; the other fields are what a wrapper
 * reports (manual start, heartbeats, the final report). Unknown fields are ignored.
 */
export const UpdateExecutionRequest = z.object({
  status: ExecutionStatus.optional(),
  success_count: Count('success_count'),
  error_count: Count('error_count'),
  skipped_count: Count('skipped_count'),
  expected_count: Count('expected_count'),
  last_status_message: z.string().max(10_000).nullable().optional(),
  last_app_heartbeat_at: WireTime.nullable().optional(),
  exit_code: wholeNumber('exit_code').nullable().optional(),
  output_value: z.unknown().optional(),
  failed_attempts: Count('failed_attempts'),
  timed_out_attempts: Count('timed_out_attempts'),
  pid: wholeNumber('pid', 0).nullable().optional(),
  other_runtime_metadata: z.unknown().optional(),
  started_at: WireTime.optional().describe('Manual start: when the run started.'),
  finished_at: WireTime.optional().describe('Final report: when the run ended. (Default: when Berth received it)'),
  debug_log_tail: z
    .string()
    .nullable()
    .optional()
    .describe(`The last lines of output; Berth keeps the last ${LOG_TAIL_MAX_BYTES / 1024} KiB.`),
  error_log_tail: z.string().nullable().optional().describe(`The last lines of error output; Berth keeps the last ${LOG_TAIL_MAX_BYTES / 1024} KiB.`),
  stop_reason: z.string().max(100).optional(),
  ...WrapperInfoFields,
});
export type UpdateExecutionRequest = z.infer<typeof UpdateExecutionRequest>;

/** A page of log lines. `next_cursor` is opaque; pass it back to continue where this page ended. */
export const LogPage = z.object({
  entries: z.array(
    z.object({
      stream: z.enum(['stdout', 'stderr']),
      text: z.string(),
    }),
  ),
  next_cursor: z.string(),
  attempt: z.number().int(),
  complete: z.boolean().describe('True when the execution has finished and every line has been returned.'),
});
export type LogPage = z.infer<typeof LogPage>;
