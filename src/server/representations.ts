/** Turns store records into the API's resources (ISO times, names next to uuids, no secrets). */
import type { ApiKey } from '../domain/api-key.js';
import { DEFAULT_SCHEDULE_LATENESS_SECONDS } from '../domain/liveness.js';
import type { RunEnvironment } from '../domain/run-environment.js';
import type { Task } from '../domain/task.js';
import type { TaskExecution } from '../domain/task-execution.js';
import type { ApiKeyRecord, ExecutionRecord, RunEnvironmentRecord, TaskRecord } from '../store/store.js';

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The spec as written (its secrets are references), with uuid and times. */
export function runEnvironmentResource(r: RunEnvironmentRecord): RunEnvironment {
  return {
    uuid: r.uuid,
    ...r.spec,
    description: r.spec.description ?? null,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export function taskResource(t: TaskRecord, env: { uuid: string; name: string; kind: 'local' | 'aws-ecs' }): Task {
  const s = t.spec;
  return {
    uuid: t.uuid,
    name: t.name,
    description: s.description ?? null,
    run_environment: { uuid: env.uuid, name: env.name, kind: env.kind },
    enabled: s.enabled,
    passive: s.passive,
    command: s.command ?? null,
    working_directory: s.working_directory ?? null,
    environment: s.environment,
    secrets: s.secrets,
    cpu: s.cpu ?? null,
    memory: s.memory ?? null,
    timeout_seconds: s.timeout_seconds,
    termination_grace_period_seconds: s.termination_grace_period_seconds,
    max_retries: s.max_retries,
    retry_delay_seconds: s.retry_delay_seconds,
    retry_backoff_multiplier: s.retry_backoff_multiplier,
    max_retry_delay_seconds: s.max_retry_delay_seconds,
    retry_on_timeout: s.retry_on_timeout,
    max_concurrency: s.max_concurrency,
    on_concurrency_limit: s.on_concurrency_limit,
    schedule: s.schedule,
    schedule_overlap: s.schedule_overlap ?? 'skip',
    schedule_missed: s.schedule_missed ?? 'run_once',
    heartbeat_interval_seconds: s.heartbeat_interval_seconds,
    // Specs stored before these fields existed lack them: show their defaults.
    max_heartbeat_lateness_seconds: s.max_heartbeat_lateness_seconds ?? null,
    start_deadline_seconds: s.start_deadline_seconds ?? null,
    max_schedule_lateness_seconds: s.max_schedule_lateness_seconds ?? DEFAULT_SCHEDULE_LATENESS_SECONDS,
    ...(s.notification_profiles !== undefined ? { notification_profiles: s.notification_profiles } : {}),
    image: s.image ?? null,
    container_name: s.container_name ?? null,
    port_mappings: s.port_mappings ?? null,
    health_check: s.health_check ?? null,
    sidecars: s.sidecars ?? null,
    task_definition: s.task_definition ?? null,
    service: s.service ?? null,
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
  };
}

export function executionResource(
  e: ExecutionRecord,
  task: { uuid: string; name: string },
  env: { uuid: string; name: string },
  describeHandle: (kind: string, handle: Record<string, unknown>) => Record<string, unknown>,
): TaskExecution {
  return {
    uuid: e.uuid,
    task: { uuid: task.uuid, name: task.name },
    run_environment: { uuid: env.uuid, name: env.name },
    status: e.status,
    run_reason: e.run_reason,
    stop_reason: e.stop_reason,
    failure: e.failure,
    created_at: iso(e.created_at),
    updated_at: iso(e.updated_at),
    launch_after: iso(e.launch_after),
    started_at: iso(e.started_at),
    finished_at: iso(e.finished_at),
    stop_requested_at: iso(e.stop_requested_at),
    attempt: e.attempt,
    max_attempts: e.max_attempts,
    failed_attempts: e.failed_attempts,
    timed_out_attempts: e.timed_out_attempts,
    attempts: e.attempts.map((a) => ({
      number: a.number,
      status: a.status,
      started_at: iso(a.started_at),
      finished_at: iso(a.finished_at),
      exit_code: a.exit_code,
      failure: a.failure,
    })),
    exit_code: e.exit_code,
    environment_overrides: e.environment_overrides,
    input_value: e.input_value ?? null,
    output_value: e.output_value ?? null,
    success_count: e.success_count,
    error_count: e.error_count,
    skipped_count: e.skipped_count,
    expected_count: e.expected_count,
    last_status_message: e.last_status_message,
    last_heartbeat_at: iso(e.last_heartbeat_at),
    last_app_heartbeat_at: iso(e.last_app_heartbeat_at),
    pid: e.pid,
    other_runtime_metadata: e.other_runtime_metadata ?? null,
    debug_log_tail: e.debug_log_tail,
    error_log_tail: e.error_log_tail,
    wrapper: e.wrapper,
    wrapper_report: e.wrapper_report
      ? {
          status: e.wrapper_report.status,
          exit_code: e.wrapper_report.exit_code,
          failed_attempts: e.wrapper_report.failed_attempts,
          timed_out_attempts: e.wrapper_report.timed_out_attempts,
          finished_at: iso(e.wrapper_report.finished_at),
          received_at: iso(e.wrapper_report.received_at),
        }
      : null,
    executor:
      e.executor_kind === null
        ? null
        : {
            kind: e.executor_kind,
            details: e.executor_handle ? describeHandle(e.executor_kind, e.executor_handle) : {},
          },
  };
}

export function apiKeyResource(k: ApiKeyRecord, env: { uuid: string; name: string } | null): ApiKey {
  return {
    uuid: k.uuid,
    name: k.name,
    scope: k.scope,
    prefix: k.prefix,
    run_environment: env,
    may_create_passive_tasks: k.may_create_passive_tasks,
    created_at: iso(k.created_at),
    last_used_at: iso(k.last_used_at),
    revoked_at: iso(k.revoked_at),
  };
}
