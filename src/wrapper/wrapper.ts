/**
 * One run of berth-wrap: report the start, resolve secrets, run the command (with retries,
 * timeout, signal forwarding), forward heartbeats and status updates, report the end, and return
 * the exit code (see exit-codes.ts). Offline (no API URL) it only runs the command.
 *
 * Order of a run, and why:
 * 1. Start report first, so Berth knows about the run even if a secret then fails (the failure is
 *    reported as FAILED with the variable's name). A 409/403/4xx here means the command never runs.
 * 2. If Berth cannot be reached, the command runs anyway (unless --prevent-offline-execution) and
 *    the start report keeps being retried in the background; heartbeats begin once it lands.
 * 3. A 409 to a heartbeat is a stop: the command's group is terminated (SIGTERM, grace, SIGKILL).
 */
import { hasRetriesLeft, retryDelayMs } from '../domain/retry-policy.js';
import type { RetryPolicy } from '../domain/retry-policy.js';
import { BerthApi } from './berth-api.js';
import { ecsReportFields, fetchEcsTaskMetadata } from './ecs-metadata.js';
import type { EcsReportFields } from './ecs-metadata.js';
import { conventionalExitCode, EXIT, exitCodeFor, finishStatusFor, isRetryable, signalNumber } from './exit-codes.js';
import type { RunOutcome } from './exit-codes.js';
import { LogTail } from './log-tail.js';
import { API_KEY_VARIABLES, PROC_WRAPPER_SECRET_SUFFIX, SECRET_PREFIX } from './options.js';
import type { WrapConfig } from './options.js';
import { Attempt } from './process-runner.js';
import { Reporter } from './reporter.js';
import type { Registration } from './reporter.js';
import { resolveSecrets, SecretResolutionError } from './secrets.js';
import { mergeStatus, StatusListener } from './status-listener.js';
import type { StatusState } from './status-listener.js';
import { WRAPPER_VERSION } from './version.js';
import type { WrapLog } from './wrap-log.js';

export interface WrapperDeps {
  /** The wrapper's own environment: the base of the command's, and ENV: secrets. */
  env: Readonly<Record<string, string | undefined>>;
  log: WrapLog;
  hostname(): string;
}

/** The variable the command reads the status listener's port from. */
export const STATUS_PORT_VARIABLE = 'BERTH_WRAP_STATUS_PORT';
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'];
const ECS_METADATA_TIMEOUT_MS = 2000;

/** Resolves true after `ms`, or false as soon as `signal` is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs the whole thing; resolves with berth-wrap's exit code. Throws only on a bug. */
export async function runWrapper(config: WrapConfig, deps: WrapperDeps): Promise<number> {
  const run = new WrapperRun(config, deps);
  const onSignal = (signal: NodeJS.Signals) => run.onSignal(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    return await run.execute();
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
    run.close();
  }
}

class WrapperRun {
  private readonly log: WrapLog;
  private readonly api: BerthApi | null;
  private readonly reporter: Reporter | null;
  /** Aborted by a signal to the wrapper or a stop from Berth: cancels waits before and between attempts. */
  private readonly interrupt = new AbortController();
  /** Aborted by a second signal: also cancels the finish report's retries. */
  private readonly hardInterrupt = new AbortController();
  /** Ends background registration and heartbeats when the command is done. */
  private readonly runOver = new AbortController();
  private abortSignal: NodeJS.Signals | null = null;
  private stopRequested = false;
  private current: Attempt | null = null;
  private status: StatusState = {};
  private failedAttempts = 0;
  private timedOutAttempts = 0;
  private heartbeats: Heartbeats | null = null;
  private listener: StatusListener | null = null;

  constructor(
    private readonly config: WrapConfig,
    private readonly deps: WrapperDeps,
  ) {
    this.log = deps.log;
    this.api = config.apiUrl
      ? new BerthApi({
          baseUrl: config.apiUrl,
          apiKey: config.apiKey,
          requestTimeoutMs: config.apiRequestTimeoutSeconds * 1000,
          userAgent: `berth-wrap/${WRAPPER_VERSION} node/${process.versions.node}`,
        })
      : null;
    this.reporter = this.api
      ? new Reporter({
          api: this.api,
          log: this.log,
          executionUuid: config.executionUuid,
          retryDelayMs: config.apiRetryDelaySeconds * 1000,
          conflictTimeoutMs: config.apiConflictTimeoutSeconds * 1000,
          now: () => Date.now(),
          sleep,
        })
      : null;
  }

  onSignal(signal: NodeJS.Signals): void {
    if (this.abortSignal) {
      this.log.warn(`received ${signal} again: killing the command now`);
      this.hardInterrupt.abort();
    } else {
      this.abortSignal = signal;
      this.log.info(`received ${signal}: passing it on to the command`);
    }
    this.current?.terminate({ type: 'abort', signal });
    this.interrupt.abort();
  }

  close(): void {
    this.runOver.abort();
    this.heartbeats?.stop();
    this.listener?.close();
    this.api?.close();
  }

  async execute(): Promise<number> {
    const { config, log } = this;
    const startedAt = new Date();
    let background: Promise<void> | null = null;
    let startBody: Record<string, unknown> | null = null;

    if (this.reporter) {
      const ecs = config.ecsMetadataUri ? ecsReportFields(await fetchEcsTaskMetadata(config.ecsMetadataUri, ECS_METADATA_TIMEOUT_MS)) : null;
      if (config.ecsMetadataUri && !ecs) log.debug(`no ECS task metadata at ${config.ecsMetadataUri}/task`);
      startBody = this.startBody(startedAt, ecs);
      const deadline = config.preventOfflineExecution ? Date.now() + config.apiCreationTimeoutSeconds * 1000 : Date.now();
      const first = await this.reporter.register(startBody, deadline, this.interrupt.signal);
      const refused = this.refusal(first);
      if (refused !== null) return refused;
      if (first.type === 'registered') {
        log.info(`reporting to ${config.apiUrl} as execution ${first.uuid}`);
        this.startHeartbeats();
      } else if (first.type === 'unreachable') {
        if (config.preventOfflineExecution) {
          log.error(`${first.message}; not running the command (--prevent-offline-execution)`);
          return EXIT.TEMPORARY_FAILURE;
        }
        log.warn(`${first.message}; running the command anyway and retrying the start report for ${config.apiCreationTimeoutSeconds} s`);
        background = this.registerInBackground(startBody, startedAt.getTime() + config.apiCreationTimeoutSeconds * 1000);
      }
    }

    let secrets: Record<string, string>;
    try {
      secrets = await resolveSecrets(config.secrets, config.envFrom, {
        env: this.deps.env,
        aws: { region: config.awsRegion, endpoint: config.awsEndpointUrl },
      });
    } catch (error) {
      if (!(error instanceof SecretResolutionError)) throw error;
      log.error(`${error.message}. The command was not run.`);
      this.runOver.abort();
      this.heartbeats?.stop();
      await this.heartbeats?.drain();
      await background;
      await this.finish({ status: 'FAILED', exit_code: EXIT.CONFIG_ERROR, last_status_message: `berth-wrap: ${error.message}` });
      return EXIT.CONFIG_ERROR;
    }
    if (Object.keys(secrets).length > 0) log.debug(`resolved ${Object.keys(secrets).join(', ')}`);

    if (this.reporter && config.statusListener) await this.startListener();

    const outcome = await this.runAttempts(this.childEnv(secrets));

    // Datagrams the command sent just before it exited are read before the listener closes.
    await new Promise((resolve) => setImmediate(resolve));
    this.listener?.close();
    this.runOver.abort();
    this.heartbeats?.stop();
    await this.heartbeats?.drain();
    await background;
    return this.finishRun(outcome);
  }

  /** The exit code when the start report means the command must not run, else null. */
  private refusal(registration: Registration): number | null {
    const log = this.log;
    switch (registration.type) {
      case 'stopped':
        log.info(`${registration.message}: a stop was requested before the command started; not running it`);
        return EXIT.STOPPED;
      case 'conflict_timeout':
        log.error(`${registration.message} (the Task is at its concurrency limit); not running the command`);
        return EXIT.TEMPORARY_FAILURE;
      case 'forbidden':
        log.error(
          `Berth refused the API key (${registration.message}): check BERTH_WRAP_API_KEY / PROC_WRAPPER_API_KEY and the key's scope; not running the command`,
        );
        return EXIT.FORBIDDEN;
      case 'rejected':
        log.error(`Berth rejected the start report: ${registration.message}; not running the command`);
        return EXIT.CONFIG_ERROR;
      case 'cancelled':
        return 128 + signalNumber(this.abortSignal ?? 'SIGTERM');
      case 'registered':
      case 'unreachable':
        return null;
    }
  }

  private async registerInBackground(body: Record<string, unknown>, deadline: number): Promise<void> {
    const reporter = this.reporter!;
    const result = await reporter.register(body, deadline, this.runOver.signal);
    if (result.type === 'registered') {
      this.log.info(`Berth is reachable again: reporting as execution ${result.uuid}`);
      this.startHeartbeats();
    } else if (result.type === 'stopped') {
      // A late manual start answered 409: the execution was stopped meanwhile.
      this.onStopRequested();
    } else if (result.type !== 'cancelled') {
      this.log.warn(`gave up reporting this run to Berth: ${result.message}`);
    }
  }

  private startHeartbeats(): void {
    if (this.runOver.signal.aborted || this.heartbeats) return;
    this.heartbeats = new Heartbeats({
      intervalMs: this.config.heartbeatIntervalSeconds * 1000,
      minStatusIntervalMs: this.config.statusUpdateIntervalSeconds * 1000,
      body: () => this.heartbeatBody(),
      send: (body) => this.reporter!.heartbeat(body),
      onStop: () => this.onStopRequested(),
    });
    this.heartbeats.start();
  }

  private onStopRequested(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.log.info(`Berth asked for a stop: terminating the command (SIGTERM, SIGKILL after ${this.config.terminationGracePeriodSeconds} s)`);
    this.current?.terminate({ type: 'stop' });
    this.interrupt.abort();
    this.heartbeats?.stop();
  }

  private async startListener(): Promise<void> {
    const { config, log } = this;
    try {
      this.listener = await StatusListener.start({
        port: config.statusPort,
        maxBytes: config.statusMessageMaxBytes,
        onUpdate: (update) => {
          this.status = mergeStatus(this.status, update);
          this.heartbeats?.statusChanged();
        },
        onProblem: (message) => log.warn(message),
      });
      log.debug(`listening for status updates on 127.0.0.1:${this.listener.port}`);
    } catch (error) {
      log.warn(
        `cannot listen for status updates on 127.0.0.1:${config.statusPort} (${error instanceof Error ? error.message : String(error)}); status updates are off for this run`,
      );
    }
  }

  /** The command's environment: the wrapper's, minus what is only for the wrapper, plus the secrets. */
  private childEnv(secrets: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.deps.env)) {
      if (value === undefined) continue;
      if ((API_KEY_VARIABLES as readonly string[]).includes(name)) continue;
      if (name.startsWith(SECRET_PREFIX) || name.endsWith(PROC_WRAPPER_SECRET_SUFFIX)) continue;
      env[name] = value;
    }
    Object.assign(env, secrets);
    // The command learns where to send status updates here; no variable means no listener.
    delete env[STATUS_PORT_VARIABLE];
    if (this.listener) {
      env[STATUS_PORT_VARIABLE] = String(this.listener.port);
      env.PROC_WRAPPER_STATUS_UPDATE_SOCKET_PORT = String(this.listener.port);
    }
    if (this.reporter?.uuid) env.BERTH_TASK_EXECUTION_UUID = this.reporter.uuid;
    return env;
  }

  private async runAttempts(env: Record<string, string>): Promise<RunOutcome> {
    const { config, log } = this;
    const policy: RetryPolicy = {
      max_retries: config.maxRetries,
      retry_delay_seconds: config.retryDelaySeconds,
      retry_backoff_multiplier: config.retryBackoffMultiplier,
      max_retry_delay_seconds: null,
      retry_on_timeout: config.retryOnTimeout,
    };
    const tailLines = Math.max(config.logTailLines, config.logTailLinesOnSuccess);
    const pipeOutput = this.reporter !== null && tailLines > 0;
    this.tails = { stdout: new LogTail(tailLines, config.maxLogLineLength), stderr: new LogTail(tailLines, config.maxLogLineLength) };
    const tails = this.tails;
    let attempts = 0;
    for (;;) {
      const attempt = new Attempt({
        command: config.command,
        env,
        timeoutMs: config.timeoutSeconds === null ? null : config.timeoutSeconds * 1000,
        graceMs: config.terminationGracePeriodSeconds * 1000,
        pipeOutput,
        onOutput: (stream, chunk) => tails[stream].write(chunk),
      });
      this.current = attempt;
      // A stop or a signal may have come while nothing ran; the attempt still starts and ends at once.
      const pending = attempt.run();
      if (this.stopRequested) attempt.terminate({ type: 'stop' });
      else if (this.abortSignal) attempt.terminate({ type: 'abort', signal: this.abortSignal });
      const outcome = await pending;
      this.current = null;
      attempts++;
      if (outcome.terminatedFor?.type === 'timeout') this.timedOutAttempts++;
      else if (!outcome.terminatedFor && isRetryable(outcome, false)) this.failedAttempts++;
      if (!isRetryable(outcome, config.retryOnTimeout) || !hasRetriesLeft(policy, attempts)) return outcome;
      const wait = retryDelayMs(policy, attempts);
      log.info(`attempt ${attempts} ${describeEnd(outcome, config)}; attempt ${attempts + 1} of ${1 + config.maxRetries} in ${wait / 1000} s`);
      if (!(await sleep(wait, this.interrupt.signal))) {
        return {
          end: outcome.end,
          terminatedFor: this.stopRequested ? { type: 'stop' } : { type: 'abort', signal: this.abortSignal ?? 'SIGTERM' },
        };
      }
    }
  }

  private tails: { stdout: LogTail; stderr: LogTail } | null = null;

  private async finishRun(outcome: RunOutcome): Promise<number> {
    const { config, log } = this;
    const code = exitCodeFor(outcome);
    const status = finishStatusFor(outcome);
    const described = describeEnd(outcome, config);
    // Offline, the command's own exit code says it all: stay out of its output.
    if (outcome.end.type === 'spawn_failed') log.error(`the command ${described}`);
    else if (status === 'SUCCEEDED' || (!this.reporter && !outcome.terminatedFor)) log.debug(`the command ${described}; exiting with ${code}`);
    else log.info(`the command ${described}; exiting with ${code}`);
    if (status === null) return code;
    const tailLines = status === 'SUCCEEDED' ? config.logTailLinesOnSuccess : config.logTailLines;
    const body: Record<string, unknown> = {
      status,
      exit_code: conventionalExitCode(outcome.end) ?? code,
      ...(outcome.end.type === 'spawn_failed' ? { last_status_message: `berth-wrap: the command ${described}` } : {}),
    };
    if (tailLines > 0 && this.tails) {
      const stdout = this.tails.stdout.last(tailLines);
      const stderr = this.tails.stderr.last(tailLines);
      if (stderr !== '') body.error_log_tail = stderr;
      if (stdout !== '') body.debug_log_tail = stdout;
    }
    await this.finish(body);
    return code;
  }

  /** The finish report, with the counts and the attempts so far. */
  private async finish(fields: Record<string, unknown>): Promise<void> {
    const reporter = this.reporter;
    if (!reporter) return;
    if (!reporter.uuid) {
      this.log.warn('Berth never acknowledged this run, so its end is not recorded there');
      return;
    }
    const body = {
      ...this.status,
      failed_attempts: this.failedAttempts,
      timed_out_attempts: this.timedOutAttempts,
      ...fields,
      finished_at: new Date().toISOString(),
    };
    // Heartbeats are over: nothing else is in flight to race the final status.
    await reporter.finish(body, Date.now() + this.config.apiFinalUpdateTimeoutSeconds * 1000, this.hardInterrupt.signal);
  }

  private heartbeatBody(): Record<string, unknown> {
    const pid = this.current?.pid;
    return {
      status: 'RUNNING',
      ...this.status,
      failed_attempts: this.failedAttempts,
      timed_out_attempts: this.timedOutAttempts,
      ...(pid ? { pid } : {}),
    };
  }

  private startBody(startedAt: Date, ecs: EcsReportFields | null): Record<string, unknown> {
    const c = this.config;
    const body: Record<string, unknown> = {
      status: 'RUNNING',
      started_at: startedAt.toISOString(),
      embedded_mode: false,
      process_command: c.command.map(shellQuote).join(' '),
      process_timeout_seconds: c.timeoutSeconds,
      process_max_retries: c.maxRetries,
      process_retry_delay_seconds: c.retryDelaySeconds,
      process_termination_grace_period_seconds: c.terminationGracePeriodSeconds,
      task_max_concurrency: c.taskMaxConcurrency,
      prevent_offline_execution: c.preventOfflineExecution,
      wrapper_log_level: c.logLevel.toUpperCase(),
      wrapper_family: 'berth-wrap',
      wrapper_version: WRAPPER_VERSION,
      api_request_timeout_seconds: c.apiRequestTimeoutSeconds,
      api_retry_delay_seconds: c.apiRetryDelaySeconds,
      api_creation_error_timeout_seconds: c.apiCreationTimeoutSeconds,
      api_creation_conflict_timeout_seconds: c.apiConflictTimeoutSeconds,
      api_final_update_timeout_seconds: c.apiFinalUpdateTimeoutSeconds,
      heartbeat_interval_seconds: c.heartbeatIntervalSeconds,
      status_update_interval_seconds: c.statusUpdateIntervalSeconds,
      status_update_port: c.statusListener ? c.statusPort : null,
      status_update_message_max_bytes: c.statusMessageMaxBytes,
      num_log_lines_sent_on_failure: c.logTailLines,
      num_log_lines_sent_on_timeout: c.logTailLines,
      num_log_lines_sent_on_success: c.logTailLinesOnSuccess,
      max_log_line_length: c.maxLogLineLength,
      hostname: this.deps.hostname(),
      task_version_number: c.taskVersionNumber,
      task_version_text: c.taskVersionText,
      task_version_signature: c.taskVersionSignature,
      ...(ecs ?? {}),
    };
    if (!c.executionUuid) {
      const task: Record<string, unknown> = c.taskName ? { name: c.taskName } : { uuid: c.taskUuid };
      if (c.autoCreateTask) {
        task.was_auto_created = true;
        task.passive = true;
        task.max_concurrency = c.taskMaxConcurrency ?? -1;
        if (c.runEnvironment) task.run_environment = { name: c.runEnvironment };
        if (ecs) task.execution_method_type = ecs.execution_method_type;
      }
      body.task = task;
    }
    // Unset settings are left out rather than sent as null.
    for (const [key, value] of Object.entries(body)) if (value === null || value === undefined) delete body[key];
    return body;
  }
}

/** Sends heartbeats on a timer, and status updates promptly but at most once per interval. */
class Heartbeats {
  private timer: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private lastSentAt = 0;
  private stopped = false;

  constructor(
    private readonly options: {
      intervalMs: number;
      minStatusIntervalMs: number;
      body(): Record<string, unknown>;
      send(body: Record<string, unknown>): Promise<'ok' | 'stop' | 'failed'>;
      onStop(): void;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sendNow(), this.options.intervalMs);
  }

  /** New status from the command: send soon, rate-limited. */
  statusChanged(): void {
    if (this.stopped || this.statusTimer) return;
    const wait = Math.max(0, this.lastSentAt + this.options.minStatusIntervalMs - Date.now());
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      this.sendNow();
    }, wait);
  }

  /** Waits for a heartbeat still on its way, so that it cannot overtake the finish report. */
  async drain(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.statusTimer) clearTimeout(this.statusTimer);
  }

  private sendNow(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.lastSentAt = Date.now();
    this.inFlight = this.options
      .send(this.options.body())
      .then((result) => {
        if (result === 'stop' && !this.stopped) this.options.onStop();
      })
      .finally(() => {
        this.inFlight = null;
        if (this.again) {
          this.again = false;
          this.sendNow();
        }
      });
  }
}

function describeEnd(outcome: RunOutcome, config: WrapConfig): string {
  const end = outcome.end;
  switch (outcome.terminatedFor?.type) {
    case 'timeout':
      return `timed out after ${config.timeoutSeconds} s and was terminated`;
    case 'stop':
      return 'was stopped at Berth\'s request';
    case 'abort':
      return `was ended after berth-wrap received ${outcome.terminatedFor.signal}`;
    case undefined:
      break;
  }
  switch (end.type) {
    case 'exited':
      return end.exitCode === 0 ? 'succeeded' : `exited with code ${end.exitCode}`;
    case 'signaled':
      return `was killed by ${end.signal}`;
    case 'spawn_failed':
      return end.errno === 'ENOENT'
        ? `${JSON.stringify(config.command[0])} was not found (check PATH, or give an absolute path)`
        : `${JSON.stringify(config.command[0])} could not be run: ${end.message}`;
  }
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
