/**
 * The one catalogue of Berth's error codes.
 *
 * Every error the API returns, the CLI prints or a loop records has a stable SCREAMING_SNAKE
 * code from this table, an HTTP status and a message template. `docs/errors.md` is generated
 * from it and checked for drift, so the documentation lists exactly these codes.
 */

export interface ErrorDefinition {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** What the code means, for the documentation. */
  readonly description: string;
}

export const ERROR_CATALOGUE = {
  VALIDATION_FAILED: {
    status: 400,
    description:
      'The request body, query or path did not match the schema. `details.issues` lists each bad field with its path and what to change.',
  },
  MALFORMED_JSON: {
    status: 400,
    description: 'The request body is not valid JSON. Send a JSON document with `Content-Type: application/json`.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'The request body has a content type other than `application/json`.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    description: 'The request body is larger than the server accepts (1 MiB).',
  },
  UNAUTHENTICATED: {
    status: 401,
    description: 'No API key, or an unknown or revoked one. Send `Authorization: Bearer <key>`.',
  },
  INSUFFICIENT_SCOPE: {
    status: 403,
    description: "The API key's scope does not allow this operation (for example a `reporter` key creating a Task).",
  },
  ROUTE_NOT_FOUND: { status: 404, description: 'No API route has this method and path.' },
  RUN_ENVIRONMENT_NOT_FOUND: { status: 404, description: 'No Run Environment has this uuid or name.' },
  TASK_NOT_FOUND: { status: 404, description: 'No Task has this uuid or name.' },
  TASK_EXECUTION_NOT_FOUND: { status: 404, description: 'No Task Execution has this uuid.' },
  API_KEY_NOT_FOUND: { status: 404, description: 'No API key has this uuid or prefix.' },
  WORKFLOW_NOT_FOUND: { status: 404, description: 'No Workflow has this uuid or name.' },
  WORKFLOW_EXECUTION_NOT_FOUND: { status: 404, description: 'No Workflow Execution has this uuid.' },
  NOTIFICATION_PROFILE_NOT_FOUND: { status: 404, description: 'No Notification Profile has this uuid or name.' },
  NOTIFICATION_PROFILE_IN_USE: {
    status: 409,
    description: 'A Run Environment, Task or Workflow names the Notification Profile in its `notification_profiles`; remove it there first (`details.users` lists them).',
  },
  EVENT_NOT_FOUND: { status: 404, description: 'No event has this uuid.' },
  WORKFLOW_HAS_ACTIVE_EXECUTIONS: {
    status: 409,
    description: 'The Workflow has executions that are still running or stopping; stop them (or wait) before deleting it.',
  },
  WORKFLOW_EXECUTION_NOT_RUNNING: {
    status: 409,
    description: 'The Workflow Execution has ended already (or is stopping): there is nothing to stop.',
  },
  WORKFLOW_EXECUTION_NOT_RETRYABLE: {
    status: 409,
    description:
      'Only a Workflow Execution that ended FAILED, STOPPED or TERMINATED_AFTER_TIME_OUT can be retried; this one succeeded or is still running.',
  },
  NAME_TAKEN: { status: 409, description: 'Another object of the same kind already has this name.' },
  RUN_ENVIRONMENT_IN_USE: {
    status: 409,
    description: 'The Run Environment still has Tasks; move or delete them first.',
  },
  TASK_HAS_ACTIVE_EXECUTIONS: {
    status: 409,
    description: 'The Task has queued or running executions; stop them before deleting the Task.',
  },
  INVALID_TRANSITION: {
    status: 409,
    description:
      'The Task Execution cannot move from its current status to the requested one (for example stopping one that already finished).',
  },
  MAX_CONCURRENCY_REACHED: {
    status: 409,
    description:
      'The Task already has `max_concurrency` executions in progress: a start when its `on_concurrency_limit` is `reject`, or a wrapper reporting a run (it waits and retries).',
  },
  STOP_REQUESTED: {
    status: 409,
    description:
      'A stop of the Task Execution was requested: the answer to a wrapper\'s heartbeat, telling it to end its command (docs/protocol.md).',
  },
  TASK_DISABLED: { status: 409, description: 'The Task is disabled (`enabled: false`); enable it to start it.' },
  TASK_IS_PASSIVE: {
    status: 409,
    description: 'The Task is passive (monitor-only): Berth does not start it, it only receives reports from it.',
  },
  EXECUTOR_DISABLED: {
    status: 409,
    description:
      'The executor this Run Environment needs is turned off on this server (for example `BERTH_LOCAL_EXECUTOR=off`).',
  },
  UNSUPPORTED_FOR_KIND: {
    status: 409,
    description: 'The operation does not apply to this Run Environment kind (for example pruning task definition revisions of a local Task).',
  },
  NOT_A_SERVICE: {
    status: 409,
    description: 'The Task has no `service:` settings, so the services commands do not apply to it (start it with `berth run`).',
  },
  SERVICE_NOT_DEPLOYED: {
    status: 409,
    description: 'The Service has no ECS service yet; deploy it first (`berth services deploy NAME` or `berth apply`).',
  },
  NO_PREVIOUS_REVISION: {
    status: 409,
    description: 'A rollback found no earlier active task definition revision of the Service to go back to (pruned or deregistered).',
  },
  CONFIG_INVALID: {
    status: 400,
    description: 'A configuration document (`berth.yaml`) is invalid; `details.issues` gives the path of each bad field.',
  },
  LOGS_UNAVAILABLE: {
    status: 404,
    description: 'The execution has no logs yet (it has not started) or its log files were removed.',
  },
  AWS_CALL_FAILED: {
    status: 502,
    description: 'A call Berth made to AWS on your behalf failed (denied, no credentials, or AWS unavailable); the message names the action.',
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    description: 'The server cannot reach its database; `/health` answers with this until it can.',
  },
  SHUTTING_DOWN: { status: 503, description: 'The server is shutting down; retry against another server or later.' },
  INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected error inside Berth. The server log has the details under the request id.',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ValidationIssue {
  /** Dotted path of the bad field, e.g. `tasks[1].timeout_seconds`. */
  path: string;
  message: string;
  code?: string;
}

/**
 * An error with a catalogue code. Thrown by the domain, store and server; the API turns it into
 * `{"error": {"code", "message", "details"}}` with the catalogue's HTTP status.
 */
export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause`. Use in every catch. */
export function coerceError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  let text: string;
  try {
    text = JSON.stringify(thrown);
  } catch {
    text = String(thrown);
  }
  return new Error(`Non-error thrown: ${text}`, { cause: thrown });
}
