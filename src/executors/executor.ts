/**
 * The Executor interface: the one seam between Berth's loops and the things that actually run
 * processes (`local` child processes, `aws-ecs` Fargate tasks, later Docker, Kubernetes, Lambda).
 * An executor is chosen per Run Environment kind when the server starts.
 *
 * Contract, for every implementation:
 * - `start` is idempotent per `launchToken`: calling it again with the same token (after a crash
 *   of the control plane, say) returns the handle of what the first call started and never
 *   starts a second process.
 * - `observe` takes many handles at once and answers for each; it batches its backend calls
 *   (one DescribeTasks per 100 ECS tasks, one directory scan for local processes).
 * - `observe`, `stop` and `readLogs` never throw for a single bad handle: they report it in the
 *   result. They throw only when the backend as a whole cannot be reached.
 * - Handles are plain JSON objects, stored in the database, so a restarted server can use them.
 */
import type { Failure } from '../domain/failure.js';
import type { ServiceBackend } from './service-backend.js';

/** What the executor needs to start one attempt of an execution. */
export interface StartRequest {
  executionUuid: string;
  attempt: number;
  /** `<execution uuid>-<attempt>`: the idempotency key of this start. */
  launchToken: string;
  task: {
    uuid: string;
    name: string;
    /** A string runs through `/bin/sh -c`; a list runs the program directly. */
    command: string | string[];
    /** Absolute path, or null for the executor's default. */
    workingDirectory: string | null;
    /** Plain environment: Run Environment's, then the Task's, then the run's overrides. */
    environment: Record<string, string>;
    /** Secret references by variable name (`ENV:NAME`, `FILE:/path`, AWS ARNs); resolved at start. */
    secrets: Record<string, string>;
    timeoutSeconds: number | null;
    terminationGracePeriodSeconds: number;
    cpu: number | null;
    memory: number | null;
    /** The Task's whole stored spec, for executor-specific fields (image, task_definition, …). */
    spec: Record<string, unknown>;
  };
  runEnvironment: {
    uuid: string;
    name: string;
    kind: string;
    /** The Run Environment's spec as stored (executor-specific settings). */
    settings: Record<string, unknown>;
  };
}

/** What identifies one attempt's start, for `recover`. */
export interface RecoverKey {
  launchToken: string;
  executionUuid: string;
  attempt: number;
  runEnvironment: StartRequest['runEnvironment'];
}

/** A JSON-serialisable handle that identifies what `start` started. */
export type ExecutorHandle = Record<string, unknown>;

export type StartResult =
  | { ok: true; handle: ExecutorHandle }
  /** The attempt could not be started; nothing is running. `failure.message` says why. */
  | { ok: false; failure: Failure };

/**
 * What the executor sees of one attempt.
 * - `pending`: accepted by the backend, not running yet (ECS PROVISIONING/PENDING).
 * - `running`: running; `startedAt` when it began.
 * - `exited`: finished; `exitCode` or `signal`, `timedOut` when the executor itself enforced the
 *   timeout, `failure` when it never really ran (e.g. the command could not be spawned).
 * - `lost`: the backend no longer knows it and has no record of how it ended.
 */
export type Observation =
  | { state: 'pending' }
  | { state: 'running'; startedAt: number }
  | {
      state: 'exited';
      startedAt: number | null;
      finishedAt: number;
      exitCode: number | null;
      signal: string | null;
      timedOut: boolean;
      failure: Failure | null;
    }
  | { state: 'lost'; message: string };

export interface LogReadOptions {
  /** Opaque cursor from a previous page; undefined = from the beginning. */
  cursor?: string;
  /** Upper bound on bytes (local) or events (cloud) returned in one page. */
  limit: number;
}

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface ExecutorLogPage {
  entries: LogChunk[];
  nextCursor: string;
  /** True when nothing more will ever be appended and everything was returned. */
  complete: boolean;
}

export interface Executor {
  /** The Run Environment kind it serves, e.g. `local`. */
  readonly kind: string;
  /** Most handles one `observe` call should get. */
  readonly observeBatchSize: number;

  /** Starts one attempt. Idempotent per `launchToken` (see the contract above). */
  start(request: StartRequest): Promise<StartResult>;

  /**
   * After a control-plane crash between claiming an execution and recording its handle: the
   * handle of what `launchToken` started, or null if it certainly started nothing (so the
   * attempt may be launched again).
   */
  recover(key: RecoverKey): Promise<ExecutorHandle | null>;

  /** Observes many attempts at once; the result has one entry per handle, in the same order. */
  observe(handles: readonly ExecutorHandle[]): Promise<Observation[]>;

  /**
   * Asks the process to end: SIGTERM (or ECS StopTask), then a forced kill after
   * `gracePeriodSeconds`. Returns once the request is delivered, not when the process ends.
   */
  stop(handle: ExecutorHandle, options: { gracePeriodSeconds: number; reason: string }): Promise<void>;

  /** Reads logs from `cursor` onwards. */
  readLogs(handle: ExecutorHandle, options: LogReadOptions): Promise<ExecutorLogPage>;

  /** A short human description of the handle (e.g. `pid 4242`, an ECS task ARN). */
  describe(handle: ExecutorHandle): Record<string, unknown>;

  /**
   * Registers a callback fired when some attempt may have changed state, with the execution when
   * the executor knows which (lets the monitor look at just that one, at once).
   */
  onActivity?(listener: (hint?: { executionUuid: string }) => void): void;

  /**
   * Optional housekeeping of what the executor registers for a Task (ECS task definition
   * revisions): keep the newest `keep` and any in `inUse`, remove the rest.
   */
  pruneRevisions?(request: PruneRequest): Promise<PruneResult>;

  /**
   * Optional preflight of a Run Environment (and one of its Tasks) with the credentials and
   * endpoint `start` would use: one check per thing, every check run even when others fail.
   * Never throws for a failed check; throws only for settings it cannot read at all.
   */
  verify?(request: VerifyRequest): Promise<VerifyResult>;
  /** Creates, updates or deletes a Task's schedule rule so it matches the Task. Idempotent. */
  syncScheduleRule?(request: ScheduleRuleRequest): Promise<ScheduleRuleResult>;
  /** Services (Tasks with `service:` settings) kept running by the backend itself (service-backend.ts). */
  readonly services?: ServiceBackend;

  /** Releases resources; running processes are left running (a restarted server re-attaches). */
  close(): Promise<void>;
}

export interface PruneRequest {
  task: { uuid: string; name: string };
  runEnvironment: StartRequest['runEnvironment'];
  keep: number;
  /** Revisions that running executions use: never removed. */
  inUse: readonly string[];
  dryRun: boolean;
}

export interface PruneResult {
  kept: string[];
  removed: string[];
}

/**
 * Keep a Task's schedule as a rule in the executor's own scheduler (aws-ecs: an EventBridge rule
 * that runs the ECS task directly). `task: null`-like removal is `remove: true`.
 */
export interface ScheduleRuleRequest {
  runEnvironment: StartRequest['runEnvironment'];
  task: { uuid: string; name: string; spec: Record<string, unknown> };
  /** Delete the rule (the Task is being deleted, lost its schedule, or became passive). */
  remove: boolean;
}

export interface ScheduleRuleResult {
  rule: string;
  /** What changed in AWS: nothing when the rule already matched. */
  action: 'created' | 'updated' | 'deleted' | 'unchanged';
}

export interface VerifyRequest {
  runEnvironment: StartRequest['runEnvironment'];
  /** A Task to check as well (its secrets, image, size): its stored spec. */
  task?: { uuid: string; name: string; spec: Record<string, unknown> };
}

export type VerifyStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** One line of a preflight. A failing `message` names the thing; `fix` says what to change. */
export interface VerifyCheck {
  name: string;
  status: VerifyStatus;
  message: string;
  fix?: string;
}

export interface VerifyResult {
  checks: VerifyCheck[];
}
