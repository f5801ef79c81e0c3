import { z } from 'zod';
import { Environment, Name, Timestamp, Uuid } from './common.js';
import { ExecutionStatus, RunReason, StopReason } from './execution-status.js';
import { Failure } from './failure.js';

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
  last_heartbeat_at: Timestamp.nullable(),
  executor: z
    .object({ kind: z.string(), details: z.record(z.string(), z.unknown()) })
    .nullable()
    .describe('Which executor runs it and its handle (process id, ECS task ARN, …).'),
});
export type TaskExecution = z.infer<typeof TaskExecution>;

/** Body of `POST /api/v1/task_executions/`: start a Task. */
export const StartExecutionRequest = z.strictObject({
  task: z
    .union([z.string().min(1), z.strictObject({ name: Name }), z.strictObject({ uuid: Uuid })])
    .describe('The Task to start: its name or uuid, or {"name": …} / {"uuid": …}.'),
  environment: Environment.optional().describe('Environment variables added to (and overriding) the Task\'s for this run.'),
  input_value: z.unknown().optional(),
  run_reason: z.enum(['EXPLICIT_START', 'EXPLICIT_RETRY']).optional(),
});
export type StartExecutionRequest = z.infer<typeof StartExecutionRequest>;

const Count = z.number().int().min(0).nullable().optional();

/**
 * Body of `PATCH /api/v1/task_executions/{uuid}/`: a status update. `{"status": "STOPPING"}`
 * requests a stop; `{"status": "MARKED_DONE"}` marks it done; the counts and message fields are
 * progress reports from a wrapper.
 */
export const UpdateExecutionRequest = z.strictObject({
  status: ExecutionStatus.optional(),
  success_count: Count,
  error_count: Count,
  skipped_count: Count,
  expected_count: Count,
  last_status_message: z.string().max(10_000).nullable().optional(),
  last_app_heartbeat_at: Timestamp.optional(),
  exit_code: z.number().int().nullable().optional(),
  output_value: z.unknown().optional(),
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
