import { z } from 'zod';
import { Environment, Name, Timestamp, Uuid } from './common.js';
import { Secrets } from './run-environment.js';
import type { RetryPolicy } from './retry-policy.js';
import { parseSchedule } from './schedule.js';
import { NotificationProfileRefs } from './notification-profile.js';
import { ServiceSettings } from './service.js';

const Command = z
  .union([
    z.string().trim().min(1, { message: 'command must not be empty' }),
    z.array(z.string()).min(1, { message: 'command list must have at least the program name' }),
  ])
  .describe(
    'What to run. A string runs through /bin/sh -c (pipes, variables); a list runs the program directly with those arguments.',
  );

const seconds = (what: string, max: number) =>
  z
    .number({ message: `${what} must be a number of seconds` })
    .min(0, { message: `${what} must be 0 or more seconds` })
    .max(max, { message: `${what} must be at most ${max} seconds` });

const PortMapping = z.strictObject({
  container_port: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

/** A container health check, as ECS runs it. */
export const HealthCheck = z
  .strictObject({
    command: z
      .array(z.string())
      .min(1)
      .describe('["CMD-SHELL", "curl -f http://localhost/ || exit 1"] or ["CMD", "program", "arg"].'),
    interval_seconds: z.number().int().min(5).max(300).default(30),
    timeout_seconds: z.number().int().min(2).max(60).default(5),
    retries: z.number().int().min(1).max(10).default(3),
    start_period_seconds: z.number().int().min(0).max(300).default(0),
  })
  .describe('Health check of the main container (aws-ecs).');

/** Another container in the same ECS task (a log router, a proxy, …). */
export const Sidecar = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/, { message: 'must be letters, digits, "-" or "_"' }),
  image: z.string().min(1),
  essential: z
    .boolean()
    .default(false)
    .describe('If it stops, ECS stops the whole task. (Default: false)'),
  command: z.array(z.string()).optional(),
  environment: Environment.default({}),
  secrets: z.record(z.string(), z.string()).default({}),
  port_mappings: z.array(PortMapping).default([]),
  memory_reservation: z.number().int().min(4).optional().describe('Soft memory limit in MiB.'),
});

/** Fields of a Task, as written in `berth.yaml` and sent to `POST /api/v1/tasks/` (an upsert by name). */
/** What a fire does while an earlier run of the same Task (or Workflow) is still in progress. */
export const ScheduleOverlapPolicy = z.enum(['skip', 'queue']);
export type ScheduleOverlapPolicy = z.infer<typeof ScheduleOverlapPolicy>;
const ScheduleOverlap = ScheduleOverlapPolicy
  .default('skip')
  .describe(
    'Scheduled starts while an earlier execution is still in progress: skip the fire, or queue a new execution anyway (max_concurrency and on_concurrency_limit then apply). (Default: skip)',
  );

/** What the scheduler does with fire times it could not act on in time (every server was down). */
export const ScheduleMissedPolicy = z.enum(['skip', 'run_once']);
export type ScheduleMissedPolicy = z.infer<typeof ScheduleMissedPolicy>;
const ScheduleMissed = ScheduleMissedPolicy
  .default('run_once')
  .describe(
    'Fire times missed while no server was running (found more than 60 seconds late): skip them, or run once for all of them together. Never one run per missed fire. (Default: run_once)',
  );

export const TaskSpecObject = z.strictObject({
  name: Name,
  description: z.string().max(2000).optional().describe('Free text for people.'),
  run_environment: z
    .string()
    .min(1)
    .describe('Name (or uuid) of the Run Environment the Task runs in.'),
  enabled: z.boolean().default(true).describe('Disabled Tasks cannot be started. (Default: true)'),
  passive: z
    .boolean()
    .default(false)
    .describe('Monitor-only: Berth never starts it, it only receives reports from a wrapper. (Default: false)'),
  command: Command.optional(),
  working_directory: z
    .string()
    .regex(/^\//, { message: 'must be an absolute path' })
    .optional()
    .describe('Working directory of the process. (Default: the Run Environment\'s, else the directory berth server was started in)'),
  environment: Environment.default({}),
  secrets: Secrets.default({}),
  cpu: z
    .number({ message: 'cpu is in CPU units (1024 = 1 vCPU): a whole number' })
    .int({ message: 'cpu is in CPU units (1024 = 1 vCPU): a whole number such as 256, 512 or 1024' })
    .min(1, { message: 'cpu is in CPU units (1024 = 1 vCPU) and must be at least 1' })
    .max(16384, { message: 'cpu is in CPU units (1024 = 1 vCPU) and must be at most 16384' })
    .optional()
    .describe('CPU units (1024 = 1 vCPU). Informational for local Tasks.'),
  memory: z
    .number({ message: 'memory is in MiB: a whole number' })
    .int({ message: 'memory is in MiB: a whole number such as 512 or 2048' })
    .min(1, { message: 'memory is in MiB and must be at least 1' })
    .max(122880, { message: 'memory is in MiB and must be at most 122880' })
    .optional()
    .describe('Memory in MiB. Informational for local Tasks.'),
  timeout_seconds: seconds('timeout_seconds', 30 * 24 * 3600)
    .positive({ message: 'timeout_seconds must be more than 0 (omit it for no timeout)' })
    .nullable()
    .default(null)
    .describe('End the run after this many seconds with TERMINATED_AFTER_TIME_OUT. (Default: none)'),
  termination_grace_period_seconds: seconds('termination_grace_period_seconds', 3600)
    .default(30)
    .describe('After SIGTERM, how long to wait before SIGKILL. (Default: 30)'),
  max_retries: z
    .number()
    .int({ message: 'max_retries must be a whole number' })
    .min(0)
    .max(100)
    .default(0)
    .describe('Attempts after the first when an attempt fails. (Default: 0)'),
  retry_delay_seconds: seconds('retry_delay_seconds', 24 * 3600).default(10).describe('Wait before the first retry. (Default: 10)'),
  retry_backoff_multiplier: z
    .number()
    .min(1, { message: 'retry_backoff_multiplier must be at least 1 (1 = constant delay)' })
    .max(10)
    .default(1)
    .describe('Each further retry waits this many times longer. (Default: 1)'),
  max_retry_delay_seconds: seconds('max_retry_delay_seconds', 24 * 3600)
    .nullable()
    .default(null)
    .describe('Cap on one retry delay. (Default: none)'),
  retry_on_timeout: z.boolean().default(false).describe('Retry attempts that timed out too. (Default: false)'),
  max_concurrency: z
    .number()
    .int()
    .min(-1)
    .max(10000)
    .nullable()
    .default(null)
    .transform((v) => (v === -1 || v === 0 ? null : v))
    .describe('How many executions may be in progress at once; null or -1 = no limit. (Default: no limit)'),
  on_concurrency_limit: z
    .enum(['queue', 'reject'])
    .default('queue')
    .describe('When max_concurrency is reached: queue the new execution until a slot frees, or reject it with 409. (Default: queue)'),
  schedule: z
    .string()
    .trim()
    .min(1, { message: 'schedule must not be empty (omit it, or use null, for no schedule)' })
    .superRefine((text, ctx) => {
      const parsed = parseSchedule(text);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.error });
    })
    .nullable()
    .default(null)
    .describe(
      'When the Task is expected to run: 5-field cron ("0 3 * * *"), a macro (@hourly, @daily, @weekly, @monthly, @yearly), AWS cron(0 3 * * ? *) or rate(5 minutes); cron forms may start with TZ=<IANA zone> (e.g. "TZ=Europe/Paris 0 3 * * *"; otherwise UTC). rate also takes seconds, rate(30 seconds). Berth starts a non-passive, enabled Task at each fire time (run reason SCHEDULED_START; docs/schedules.md). For passive Tasks, a run not reported within max_schedule_lateness_seconds is recorded as a MISSED_SCHEDULED_RUN event (docs/liveness.md).',
    ),
  schedule_overlap: ScheduleOverlap,
  schedule_missed: ScheduleMissed,
  image: z
    .string()
    .min(1)
    .max(1024)
    .optional()
    .describe('Container image (aws-ecs), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/etl:1.4 or public.ecr.aws/docker/library/python:3.12.'),
  container_name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, { message: 'must be letters, digits, "-" or "_"' })
    .optional()
    .describe('Name of the main container (aws-ecs): the one command, environment and secrets go to. (Default: main, or the first essential container of task_definition)'),
  port_mappings: z.array(PortMapping).optional().describe('Ports the main container listens on (aws-ecs).'),
  health_check: HealthCheck.optional(),
  sidecars: z.array(Sidecar).optional().describe('More containers in the task (aws-ecs).'),
  task_definition: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      'A raw ECS task definition (the JSON of RegisterTaskDefinition, camelCase) to start from; Berth sets the family, network mode, Fargate compatibility, logging and tags, and applies the fields above over it (aws-ecs).',
    ),
  task_definition_file: z
    .string()
    .min(1)
    .optional()
    .describe('Path of a task definition JSON file, relative to the berth.yaml; berth apply reads it into task_definition.'),
  heartbeat_interval_seconds: z
    .number({ message: 'heartbeat_interval_seconds must be a number of seconds' })
    .int({ message: 'heartbeat_interval_seconds must be a whole number of seconds' })
    .positive({ message: 'heartbeat_interval_seconds must be more than 0 (omit it, or use null, for no heartbeat check)' })
    .max(7 * 24 * 3600, { message: 'heartbeat_interval_seconds must be at most 604800 (7 days)' })
    .nullable()
    .default(null)
    .describe(
      'How often a running execution reports (a wrapper\'s PATCH is a heartbeat). When set, an in-progress execution silent for longer than this plus max_heartbeat_lateness_seconds is ABANDONED with stop reason MISSING_HEARTBEAT, and stopped if Berth started it. Null: heartbeats are not checked. (Default: none)',
    ),
  max_heartbeat_lateness_seconds: z
    .number({ message: 'max_heartbeat_lateness_seconds must be a number of seconds' })
    .int({ message: 'max_heartbeat_lateness_seconds must be a whole number of seconds' })
    .min(0, { message: 'max_heartbeat_lateness_seconds must be 0 or more seconds' })
    .max(7 * 24 * 3600, { message: 'max_heartbeat_lateness_seconds must be at most 604800 (7 days)' })
    .nullable()
    .default(null)
    .describe(
      'How late a heartbeat may be before the execution is given up. Null: the heartbeat interval, at least 60. Needs heartbeat_interval_seconds.',
    ),
  start_deadline_seconds: z
    .number({ message: 'start_deadline_seconds must be a number of seconds' })
    .int({ message: 'start_deadline_seconds must be a whole number of seconds' })
    .positive({ message: 'start_deadline_seconds must be more than 0 (omit it, or use null, for the default)' })
    .max(24 * 3600, { message: 'start_deadline_seconds must be at most 86400 (1 day)' })
    .nullable()
    .default(null)
    .describe(
      'How long a launched execution may take to be seen RUNNING (by the executor, or a wrapper\'s report) before it FAILED with stop reason FAILED_TO_START and its process or ECS task is stopped. Null: 60 for local Tasks, 600 for aws-ecs Tasks (image pulls and Fargate capacity can take minutes).',
    ),
  notification_profiles: NotificationProfileRefs,
  max_schedule_lateness_seconds: z
    .number({ message: 'max_schedule_lateness_seconds must be a number of seconds' })
    .int({ message: 'max_schedule_lateness_seconds must be a whole number of seconds' })
    .min(10, { message: 'max_schedule_lateness_seconds must be at least 10 seconds' })
    .max(7 * 24 * 3600, { message: 'max_schedule_lateness_seconds must be at most 604800 (7 days)' })
    .default(600)
    .describe(
      'Passive Tasks with a schedule: how long after an expected run Berth waits for it to be reported before it records a MISSED_SCHEDULED_RUN event. (Default: 600)',
    ),
  service: ServiceSettings.optional(),
});

/** Cross-field rules a Task must satisfy beyond field types. */
export const TaskSpec = TaskSpecObject.superRefine((task, ctx) => {
  if (!task.passive && task.command === undefined && task.image === undefined && task.task_definition === undefined && task.task_definition_file === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['command'],
      message:
        'command is required (a string for /bin/sh -c, or a list); only passive Tasks, and aws-ecs Tasks with an image or task_definition, may omit it',
    });
  }
  if (task.task_definition !== undefined && task.task_definition_file !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['task_definition_file'], message: 'give task_definition or task_definition_file, not both' });
  }
  if (task.max_heartbeat_lateness_seconds !== null && task.heartbeat_interval_seconds === null) {
    ctx.addIssue({
      code: 'custom',
      path: ['max_heartbeat_lateness_seconds'],
      message: 'max_heartbeat_lateness_seconds needs heartbeat_interval_seconds: without an interval no heartbeat is expected, so none can be late',
    });
  }
  if (task.max_retry_delay_seconds !== null && task.max_retry_delay_seconds < task.retry_delay_seconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['max_retry_delay_seconds'],
      message: 'max_retry_delay_seconds must be at least retry_delay_seconds',
    });
  }
});
export type TaskSpec = z.infer<typeof TaskSpec>;
export type TaskSpecInput = z.input<typeof TaskSpec>;

export const RunEnvironmentRef = z.object({ uuid: Uuid, name: Name, kind: z.enum(['local', 'aws-ecs']) });

/** A Task as the API returns it. */
export const Task = TaskSpecObject.omit({ run_environment: true, task_definition_file: true }).extend({
  uuid: Uuid,
  run_environment: RunEnvironmentRef,
  description: z.string().nullable(),
  command: Command.nullable(),
  working_directory: z.string().nullable(),
  cpu: z.number().int().nullable(),
  memory: z.number().int().nullable(),
  max_concurrency: z.number().int().nullable(),
  image: z.string().nullable(),
  container_name: z.string().nullable(),
  port_mappings: z.array(PortMapping).nullable(),
  health_check: HealthCheck.nullable(),
  sidecars: z.array(Sidecar).nullable(),
  task_definition: z.record(z.string(), z.unknown()).nullable(),
  service: ServiceSettings.nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Task = z.infer<typeof Task>;

/** The retry policy part of a Task. */
export function retryPolicyOf(task: Pick<TaskSpec, keyof RetryPolicy>): RetryPolicy {
  return {
    max_retries: task.max_retries,
    retry_delay_seconds: task.retry_delay_seconds,
    retry_backoff_multiplier: task.retry_backoff_multiplier,
    max_retry_delay_seconds: task.max_retry_delay_seconds,
    retry_on_timeout: task.retry_on_timeout,
  };
}
