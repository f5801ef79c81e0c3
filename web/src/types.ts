/**
 * The API resources the dashboard reads, as the server sends them (the OpenAPI document at
 * /api/openapi.json is the full description; only the fields shown here are declared).
 */
export type Scope = 'admin' | 'developer' | 'reporter';

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface WhoAmI {
  scope: Scope;
  api_key: { uuid: string; name: string; prefix: string; run_environment: { uuid: string } | null } | null;
  local_only: boolean;
}

export interface Failure {
  type: string;
  message: string;
  fault?: string;
  [key: string]: unknown;
}

export interface Ref {
  uuid: string;
  name: string;
}

export interface Task {
  uuid: string;
  name: string;
  description: string | null;
  run_environment: Ref & { kind: string };
  enabled: boolean;
  passive: boolean;
  command: string | string[] | null;
  image: string | null;
  schedule: string | null;
  environment: Record<string, string>;
  secrets: Record<string, string>;
  [key: string]: unknown;
}

export interface TaskSummary {
  task: Task;
  last_execution: { uuid: string; status: string; created_at: string; started_at: string | null; finished_at: string | null } | null;
  recent_finished: number;
  recent_succeeded: number;
  success_rate: number | null;
  next_fire_at: string | null;
}

export interface Attempt {
  number: number;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  failure: Failure | null;
}

export interface Execution {
  uuid: string;
  task: Ref;
  run_environment: Ref;
  status: string;
  run_reason: string;
  stop_reason: string | null;
  failure: Failure | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  stop_requested_at: string | null;
  attempt: number;
  max_attempts: number;
  attempts: Attempt[];
  exit_code: number | null;
  environment_overrides: Record<string, string>;
  success_count: number | null;
  error_count: number | null;
  skipped_count: number | null;
  expected_count: number | null;
  last_status_message: string | null;
  last_heartbeat_at: string | null;
  last_app_heartbeat_at: string | null;
  executor: { kind: string; details: Record<string, unknown> } | null;
}

export interface LogPage {
  entries: { stream: 'stdout' | 'stderr'; text: string }[];
  next_cursor: string;
  attempt: number;
  complete: boolean;
}

export interface Overview {
  since: string;
  counts: Record<string, number>;
  total: number;
  upcoming: { kind: 'task' | 'workflow'; uuid: string; name: string; schedule: string; next_fire_at: string }[];
}

export interface Workflow {
  uuid: string;
  name: string;
  description: string | null;
  version: number;
  schedule?: string | null;
  task_instances: { name: string; task: string }[];
  transitions: { from: string; to: string; on: unknown }[];
}

export interface WorkflowNode {
  name: string;
  task: { name: string; uuid: string | null };
  state: string;
  fails_workflow: boolean;
  execution: { uuid: string; status: string; exit_code: number | null; started_at: string | null; finished_at: string | null; run_number: number } | null;
  start_failure: string | null;
}

export interface WorkflowEdge {
  index: number;
  from: string;
  to: string;
  rule: string;
  state: string;
}

export interface WorkflowExecution {
  uuid: string;
  workflow: Ref;
  workflow_version: number;
  status: string;
  run_reason: string;
  failure: { code: string; message: string; instances: string[] } | null;
  attempt: number;
  created_at: string;
  started_at: string;
  finished_at: string | null;
  nodes?: WorkflowNode[];
  edges?: WorkflowEdge[];
}

export interface RunEnvironment {
  uuid: string;
  name: string;
  kind: 'local' | 'aws-ecs';
  description: string | null;
  environment: Record<string, string>;
  secrets: Record<string, string>;
  created_at: string;
  updated_at: string;
  [key: string]: unknown;
}

export interface VerifyAnswer {
  ok: boolean;
  checks: { name: string; status: 'pass' | 'fail' | 'warn' | 'skip'; message: string; fix?: string }[];
}

export interface BerthEvent {
  uuid: string;
  type: string;
  severity: string;
  message: string;
  task: Ref | null;
  task_execution: { uuid: string } | null;
  created_at: string;
}
