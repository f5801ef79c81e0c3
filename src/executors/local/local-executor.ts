import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BerthError } from '../../domain/errors.js';
import { startFailure, type Failure } from '../../domain/failure.js';
import type {
  Executor,
  ExecutorHandle,
  ExecutorLogPage,
  LogChunk,
  LogReadOptions,
  Observation,
  RecoverKey,
  StartRequest,
  StartResult,
} from '../executor.js';
import { resolveLocalSecrets, type HostEnvironment } from './local-secrets.js';
import { RunnerSpawnError, SpawnerClient } from './spawner-client.js';

/*
 * Glossary of the attempt directory `<dataDir>/executions/<execution uuid>-<attempt>/` (one flat
 * level: a directory is the costliest thing a start creates):
 * - (the directory itself) created exclusively by the one `start` that may spawn this attempt
 * - `start.lock`           only when a start was cut short: claimed (O_EXCL) by the one restart
 * - `stdout.log`, `stderr.log`  the command's output, written by the command itself (the runner
 *                          creates them and adds its own `berth: …` notes to stderr.log)
 * - `runner.json`          `{runner_pid, child_pid, started_at, spec}`, written by the runner; the
 *                          spec (what ran) never holds environment values, so never secrets
 * - `stop-requested.json`  a stop request, for a runner not yet able to take SIGTERM
 * - `result.json`          how the command ended, written by the runner as its last act
 */
/*
 * And one file for all attempts, `<dataDir>/executions/spawn-journal.jsonl`: a line
 * `{token, dir, pid, at}` appended by the spawner the moment it starts a runner, so a server that
 * crashed before the runner wrote runner.json can still find it (recover). Rotated to `.1` when
 * it outgrows JOURNAL_ROTATE_BYTES at start-up; both are searched.
 */
const JOURNAL = 'spawn-journal.jsonl';
const JOURNAL_ROTATE_BYTES = 8 * 1024 * 1024;
/** Most launch tokens kept in memory from the journal. */
const JOURNAL_INDEX_LIMIT = 200_000;

const FILES = {
  lock: 'start.lock',
  stdout: 'stdout.log',
  stderr: 'stderr.log',
  runner: 'runner.json',
  stop: 'stop-requested.json',
  result: 'result.json',
} as const;

const RUNNER_PATH = fileURLToPath(new URL('./local-runner.js', import.meta.url));

/** Host variables a command inherits; everything else of the server (API keys, database URLs) stays out. */
const INHERITED_HOST_VARIABLES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/**
 * Most bytes of specs on one runner's command line: Linux refuses a single argument over 128 KiB
 * (E2BIG), so long commands split a batch over more runners. (A spec above it alone still goes.)
 */
const MAX_SPECS_BYTES = 96 * 1024;

const SAFE_PATH_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The handle of one local attempt, as stored in the database. */
export const LocalHandle = z.object({
  executor: z.literal('local'),
  /** Absolute path of the attempt directory. */
  attempt_dir: z.string().min(1),
  /** Pid of the runner process, which may run other attempts too (not of the command: that is in `runner.json`). */
  runner_pid: z.number().int().positive(),
  launch_token: z.string(),
  execution_uuid: z.string(),
  attempt: z.number().int(),
});
export type LocalHandle = z.infer<typeof LocalHandle>;

const JournalEntry = z.object({ token: z.string(), dir: z.string(), pid: z.number().int().positive() });
const RunnerInfo = z.object({
  runner_pid: z.number().int().positive(),
  child_pid: z.number().int().positive(),
  started_at: z.number(),
  /** The signal that stops one attempt of this runner (SIGUSR2); absent: SIGTERM (a runner of one attempt from an older Berth). */
  stop_signal: z.literal('SIGUSR2').optional(),
});
type RunnerInfo = z.infer<typeof RunnerInfo>;
const SpawnError = z.object({ code: z.string(), message: z.string(), program: z.string() });
type SpawnError = z.infer<typeof SpawnError>;
const RunnerResult = z.object({
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  started_at: z.number().nullable(),
  finished_at: z.number(),
  timed_out: z.boolean(),
  stopped: z.boolean(),
  spawn_error: SpawnError.optional(),
});
const StartLock = z.object({ created_at: z.number() });
const Cursor = z.object({ o: z.number().int().nonnegative(), e: z.number().int().nonnegative() });
type Cursor = z.infer<typeof Cursor>;

/** One attempt's part of the runner's input; mirrors `RunnerSpec` in local-runner.js. */
interface RunnerSpec {
  command: string | string[];
  cwd: string;
  timeout_seconds: number | null;
  grace_seconds: number;
  attempt_dir: string;
  launch_token: string;
}

export interface LocalExecutorOptions {
  /**
   * Berth's data directory; attempts live in `<dataDir>/executions/<executionUuid>-<attempt>/`
   * (spec, logs, result). Relative paths are resolved against the server's working directory.
   * (Required.)
   */
  dataDir: string;
  /** Absolute directory a Task runs in when it names none. (Required.) */
  defaultWorkingDirectory: string;
  /**
   * The Berth server's environment: `ENV:` secrets are read from it, and commands inherit only
   * PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_ALL, TZ and TMPDIR from it. (Default: `process.env`)
   */
  hostEnvironment?: HostEnvironment;
  /** Clock for timestamps Berth writes itself, in epoch milliseconds. (Default: `Date.now`) */
  now?: () => number;
  /** Node binary that runs the runner. (Default: `process.execPath`) */
  nodePath?: string;
  /**
   * Milliseconds a `start` may take between creating the attempt directory and recording the
   * spawned runner; `recover` waits this long before concluding that nothing was started.
   * (Default: 3000)
   */
  recoverSettleMs?: number;
  /**
   * Most attempts one runner process runs. Starts that arrive together (a launcher pass) share a
   * runner: one Node.js start-up instead of one each. A runner killed by SIGKILL loses the exit
   * status of all its attempts; 1 gives every attempt its own. (Default: 16)
   */
  runnerBatchSize?: number;
}

/** A start waiting for the next runner. */
interface BatchedStart {
  dir: string;
  request: StartRequest;
  /** The attempt's RunnerSpec as JSON, as it goes on the runner's command line. */
  specJson: string;
  specBytes: number;
  env: Record<string, string>;
  resolve: (result: StartResult) => void;
  reject: (error: unknown) => void;
}

type Prepared = { ok: true; cwd: string; env: Record<string, string> } | { ok: false; failure: Failure };

/**
 * Runs Tasks as child processes of the Berth host. Attempts are run by detached runners
 * (local-runner.js; one per batch of starts that arrive together) that outlive the server,
 * enforce the timeouts and record each outcome in files, so any later server (or this one after
 * a restart) observes an attempt through its directory alone.
 */
export class LocalExecutor implements Executor {
  readonly kind = 'local';
  readonly observeBatchSize = 500;

  private readonly dataDir: string;
  private readonly defaultWorkingDirectory: string;
  private readonly hostEnvironment: HostEnvironment;
  private readonly now: () => number;
  private readonly nodePath: string;
  private readonly recoverSettleMs: number;
  private readonly listeners = new Set<(hint?: { executionUuid: string }) => void>();
  /** Starts in progress in this process, so concurrent calls with one token share one spawn. */
  private readonly inflight = new Map<string, Promise<StartResult>>();
  /** When the command started, for attempts our spawner reports running (read once from runner.json), by attempt directory. */
  private readonly startedAt = new Map<string, number>();
  private readonly runnerBatchSize: number;
  /** Starts waiting for the next runner (flushed once the current turn of the event loop is done). */
  private batch: BatchedStart[] = [];
  private flushScheduled = false;
  private readonly spawner: SpawnerClient;
  private readonly journal: string;
  /** Launch token → runner, from the spawn journal (read incrementally). */
  private readonly journalIndex = new Map<string, { dir: string; pid: number }>();
  private journalOffset = 0;
  private executionsDirReady = false;

  constructor(options: LocalExecutorOptions) {
    this.dataDir = path.resolve(options.dataDir);
    this.defaultWorkingDirectory = path.resolve(options.defaultWorkingDirectory);
    this.hostEnvironment = options.hostEnvironment ?? process.env;
    this.now = options.now ?? Date.now;
    this.nodePath = options.nodePath ?? process.execPath;
    this.recoverSettleMs = options.recoverSettleMs ?? 3000;
    this.runnerBatchSize = Math.max(1, Math.floor(options.runnerBatchSize ?? 16));
    this.journal = path.join(this.dataDir, 'executions', JOURNAL);
    rotateJournal(this.journal);
    this.indexJournal(`${this.journal}.1`, 0);
    this.syncJournal();
    this.spawner = new SpawnerClient(
      this.nodePath,
      (dir, executionUuid) => {
        this.startedAt.delete(dir);
        this.notify(executionUuid ? { executionUuid } : undefined);
      },
      // Its runners live on (detached), but their attempts' ends will no longer be announced.
      () => this.startedAt.clear(),
    );
  }

  start(request: StartRequest): Promise<StartResult> {
    const running = this.inflight.get(request.launchToken);
    if (running) return running;
    const started = this.startOnce(request).finally(() => this.inflight.delete(request.launchToken));
    this.inflight.set(request.launchToken, started);
    return started;
  }

  async recover({ launchToken, executionUuid, attempt }: RecoverKey): Promise<ExecutorHandle | null> {
    const running = this.inflight.get(launchToken);
    if (running) {
      const result = await running;
      return result.ok ? result.handle : null;
    }
    const dir = this.attemptDir(executionUuid, attempt);
    if (dir === null) return null;
    const key = { launchToken, executionUuid, attempt };
    const handle = this.findHandle(dir, key);
    if (handle) return handle;
    if (!(await exists(dir))) return null;
    return this.waitForHandle(dir, key);
  }

  async observe(handles: readonly ExecutorHandle[]): Promise<Observation[]> {
    const observations: Observation[] = [];
    for (const raw of handles) {
      try {
        observations.push(await this.observeOne(raw));
      } catch (error) {
        observations.push({ state: 'lost', message: `Berth could not read the state of this local attempt: ${errorText(error)}` });
      }
    }
    return observations;
  }

  async stop(handle: ExecutorHandle, options: { gracePeriodSeconds: number; reason: string }): Promise<void> {
    const parsed = LocalHandle.safeParse(handle);
    if (!parsed.success) return;
    const h = parsed.data;
    try {
      if (await exists(path.join(h.attempt_dir, FILES.result))) return;
      // The file first, then the signal: a runner that has not yet written runner.json (and so
      // may not have its SIGTERM handler) finds the file right after writing it. A runner still
      // starting may not have created its directory yet.
      await fsp.mkdir(h.attempt_dir, { recursive: true, mode: 0o700 });
      await writeJsonAtomic(path.join(h.attempt_dir, FILES.stop), {
        requested_at: this.now(),
        reason: options.reason,
        grace_period_seconds: options.gracePeriodSeconds,
      });
    } catch {
      return; // the attempt directory is gone: nothing left to stop
    }
    const runner = readJsonSync(path.join(h.attempt_dir, FILES.runner), RunnerInfo);
    if (!runner) return;
    if (!isRunnerAlive(h.runner_pid, h.attempt_dir)) return;
    try {
      // SIGUSR2 makes a runner look for stop files, so only this attempt of its batch stops.
      process.kill(h.runner_pid, runner.stop_signal ?? 'SIGTERM');
    } catch {
      // ESRCH: it ended in between.
    }
  }

  async readLogs(handle: ExecutorHandle, options: LogReadOptions): Promise<ExecutorLogPage> {
    const from = decodeCursor(options.cursor);
    const parsed = LocalHandle.safeParse(handle);
    if (!parsed.success) return { entries: [], nextCursor: encodeCursor(from), complete: true };
    const dir = parsed.data.attempt_dir;
    // Finished before the sizes are taken: then nothing is appended after them.
    const finished = await exists(path.join(dir, FILES.result));
    const outFile = path.join(dir, FILES.stdout);
    const errFile = path.join(dir, FILES.stderr);
    const [outSize, errSize] = await Promise.all([fileSize(outFile), fileSize(errFile)]);
    if (outSize === null && errSize === null && !(await exists(dir))) {
      return { entries: [], nextCursor: encodeCursor(from), complete: true };
    }
    const outLeft = Math.max(0, (outSize ?? 0) - from.o);
    const errLeft = Math.max(0, (errSize ?? 0) - from.e);
    // Share the budget so a chatty stdout does not hold stderr back indefinitely.
    const limit = Math.max(1, Math.floor(options.limit));
    let outBudget = Math.min(outLeft, Math.ceil(limit / 2));
    const errBudget = Math.min(errLeft, limit - outBudget);
    outBudget = Math.min(outLeft, limit - errBudget);

    const out = await readLines(outFile, from.o, outBudget, outLeft, finished);
    const err = await readLines(errFile, from.e, errBudget, errLeft, finished);
    const next = { o: from.o + out.consumed, e: from.e + err.consumed };
    const entries: LogChunk[] = [
      ...out.lines.map((text) => ({ stream: 'stdout' as const, text })),
      ...err.lines.map((text) => ({ stream: 'stderr' as const, text })),
    ];
    const complete = finished && next.o >= (outSize ?? 0) && next.e >= (errSize ?? 0);
    return { entries, nextCursor: encodeCursor(next), complete };
  }

  describe(handle: ExecutorHandle): Record<string, unknown> {
    const parsed = LocalHandle.safeParse(handle);
    if (!parsed.success) return { description: 'not a local executor handle' };
    const h = parsed.data;
    const runner = readJsonSync(path.join(h.attempt_dir, FILES.runner), RunnerInfo);
    return {
      pid: runner?.child_pid ?? null,
      runner_pid: h.runner_pid,
      log_directory: h.attempt_dir,
      stdout_log: path.join(h.attempt_dir, FILES.stdout),
      stderr_log: path.join(h.attempt_dir, FILES.stderr),
    };
  }

  onActivity(listener: (hint?: { executionUuid: string }) => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    // Stops the spawner only; the runners it started keep running.
    await this.spawner.close();
    this.startedAt.clear();
  }

  /** `<dataDir>/executions/<uuid>-<n>`, or null when the ids would escape it. */
  private attemptDir(executionUuid: string, attempt: number): string | null {
    if (!SAFE_PATH_SEGMENT.test(executionUuid) || !Number.isSafeInteger(attempt) || attempt < 0) return null;
    return path.join(this.dataDir, 'executions', `${executionUuid}-${attempt}`);
  }

  private async startOnce(request: StartRequest): Promise<StartResult> {
    const dir = this.attemptDir(request.executionUuid, request.attempt);
    if (dir === null) {
      return {
        ok: false,
        failure: startFailure(
          'INVALID_REQUEST',
          `Berth asked the local executor for attempt ${request.attempt} of execution "${request.executionUuid}", which is not a valid directory name.`,
          'berth',
        ),
      };
    }
    const key = { launchToken: request.launchToken, executionUuid: request.executionUuid, attempt: request.attempt };
    // A start of this token that ran before (in this process, or before a crash) left its runner
    // in the spawn journal or its directory.
    const before = this.findHandle(dir, key);
    if (before) return { ok: true, handle: before };

    const prepared = await this.prepare(request);
    if (!prepared.ok) return prepared;

    // The runner creates the attempt directory itself, so the usual start creates nothing here.
    // A directory without a runner is what a runner that died while starting leaves: take the
    // lock (or wait for another start that holds it) before starting again.
    if (fs.existsSync(dir)) {
      const claimed = await this.claim(dir, key);
      if (claimed !== true) return claimed;
    } else if (!this.executionsDirReady) {
      // Where the runner creates the attempt directory and the spawner keeps its journal.
      fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
      this.executionsDirReady = true;
    }
    let spawned: StartResult;
    try {
      spawned = await this.spawnRunner(dir, request, prepared.cwd, prepared.env);
    } catch (error) {
      spawned = {
        ok: false,
        failure: startFailure('SPAWN_FAILED', `Berth could not start the local runner: ${errorText(error)}`, 'infrastructure'),
      };
    }
    if (!spawned.ok) await fsp.rm(path.join(dir, FILES.lock), { force: true });
    return spawned;
  }

  private async prepare(request: StartRequest): Promise<Prepared> {
    const task = request.task;
    const command = task.command;
    if (typeof command === 'string' ? command.trim() === '' : command.length === 0 || command[0] === '') {
      return { ok: false, failure: startFailure('COMMAND_EMPTY', `The Task "${task.name}" has an empty command.`) };
    }
    const cwd = path.resolve(this.defaultWorkingDirectory, task.workingDirectory ?? '.');
    let stat: fs.Stats | null;
    try {
      stat = fs.statSync(cwd);
    } catch {
      stat = null;
    }
    if (stat === null || !stat.isDirectory()) {
      const what = stat === null ? 'does not exist' : 'is not a directory';
      return {
        ok: false,
        failure: startFailure(
          'WORKING_DIRECTORY_MISSING',
          `The working directory ${cwd} ${what} on the Berth host. Create it, or change the Task's working_directory.`,
        ),
      };
    }
    for (const [name, value] of Object.entries(task.environment)) {
      if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
        return {
          ok: false,
          failure: startFailure(
            'ENVIRONMENT_INVALID',
            `The environment variable "${name.replace(/\0/g, '\\0')}" cannot be passed to a process: names must be non-empty without "=" or NUL, values without NUL.`,
          ),
        };
      }
    }
    const secrets = await resolveLocalSecrets(task.secrets, this.hostEnvironment);
    if (!secrets.ok) return secrets;

    const env: Record<string, string> = {};
    for (const name of INHERITED_HOST_VARIABLES) {
      const value = this.hostEnvironment[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, task.environment, secrets.values, {
      BERTH_TASK_NAME: task.name,
      BERTH_TASK_UUID: task.uuid,
      BERTH_TASK_EXECUTION_UUID: request.executionUuid,
      // A proc_wrapper (or berth-wrap) inside reports on this execution instead of creating one.
      PROC_WRAPPER_TASK_EXECUTION_UUID: request.executionUuid,
      BERTH_ATTEMPT: String(request.attempt),
    });
    return { ok: true, cwd, env };
  }

  /**
   * Takes the attempt's start lock; true when this call may spawn. A lock already held means
   * another start is under way (or died before spawning): wait for its handle, and take the lock
   * over only once it is older than `recoverSettleMs` with nothing spawned.
   */
  private async claim(dir: string, key: HandleKey): Promise<true | StartResult> {
    const lockFile = path.join(dir, FILES.lock);
    for (let round = 0; round < 2; round++) {
      try {
        await fsp.writeFile(lockFile, JSON.stringify({ created_at: this.now(), pid: process.pid }), { flag: 'wx', mode: 0o600 });
        return true;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      const handle = await this.waitForHandle(dir, key);
      if (handle) return { ok: true, handle };
      await fsp.rm(lockFile, { force: true });
    }
    return {
      ok: false,
      failure: startFailure(
        'START_IN_PROGRESS',
        `Another Berth process keeps claiming attempt ${key.attempt} of execution ${key.executionUuid} without starting it; try again.`,
        'infrastructure',
      ),
    };
  }

  /** Queues the start for the next runner; resolves once that runner is started. */
  private spawnRunner(dir: string, request: StartRequest, cwd: string, env: Record<string, string>): Promise<StartResult> {
    const spec: RunnerSpec = {
      command: request.task.command,
      cwd,
      timeout_seconds: request.task.timeoutSeconds,
      grace_seconds: request.task.terminationGracePeriodSeconds,
      attempt_dir: dir,
      launch_token: request.launchToken,
    };
    const specJson = JSON.stringify(spec);
    const specBytes = Buffer.byteLength(specJson) + 1;
    return new Promise<StartResult>((resolve, reject) => {
      this.batch.push({ dir, request, specJson, specBytes, env, resolve, reject });
      if (this.batch.length >= this.runnerBatchSize) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the starts that arrived in this turn of the event loop (a launcher pass) joined.
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Starts runners for the waiting starts: at most runnerBatchSize each, and MAX_SPECS_BYTES of specs. */
  private flush(): void {
    while (this.batch.length > 0) {
      let count = 0;
      let bytes = 0;
      while (count < this.batch.length && count < this.runnerBatchSize) {
        const next = this.batch[count]!.specBytes;
        if (count > 0 && bytes + next > MAX_SPECS_BYTES) break;
        bytes += next;
        count++;
      }
      void this.spawnBatch(this.batch.splice(0, count));
    }
  }

  private async spawnBatch(starts: BatchedStart[]): Promise<void> {
    let runnerPid: number;
    try {
      runnerPid = await this.spawner.spawn({
        command: this.nodePath,
        // The specs travel on the command line (they hold no secrets): no file to create.
        args: [RUNNER_PATH, `[${starts.map((start) => start.specJson).join(',')}]`],
        // The attempt directories do not exist yet: the runner creates them.
        cwd: path.dirname(starts[0]!.dir),
        // The runner's own environment holds nothing of the Tasks'; UV_USE_IO_URING=0 makes its
        // forks cheaper (see spawner-client.ts).
        env: { PATH: this.hostEnvironment.PATH ?? '/usr/bin:/bin', UV_USE_IO_URING: '0' },
        journal: this.journal,
        attempts: starts.map(({ dir, request }) => ({ token: request.launchToken, dir, tag: request.executionUuid })),
        // The commands' environments (secrets included) go through the pipe, never to a file or argv.
        input: JSON.stringify(starts.map((start) => start.env)),
      });
    } catch (error) {
      for (const start of starts) {
        if (error instanceof RunnerSpawnError) {
          start.resolve({
            ok: false,
            failure: startFailure(
              'SPAWN_FAILED',
              `Berth could not start the local runner with ${this.nodePath}: ${error.message}`,
              'infrastructure',
            ),
          });
        } else {
          // The spawner died mid-request: the runner may or may not exist. Throwing leaves the
          // attempt claimed without a handle, and recovery looks in the journal before retrying.
          start.reject(error);
        }
      }
      return;
    }
    for (const { dir, request, resolve } of starts) {
      resolve({ ok: true, handle: makeHandle(dir, runnerPid, { launchToken: request.launchToken, executionUuid: request.executionUuid, attempt: request.attempt }) });
    }
  }

  /**
   * The handle of what was spawned in `dir` for `key`: from the spawn journal (which knows a
   * runner from the moment it is spawned), else runner.json (a journal rotated away).
   */
  private findHandle(dir: string, key: HandleKey): LocalHandle | null {
    this.syncJournal();
    const entry = this.journalIndex.get(key.launchToken);
    if (entry && entry.dir === dir) return makeHandle(dir, entry.pid, key);
    const runner = readJsonSync(path.join(dir, FILES.runner), RunnerInfo);
    return runner ? makeHandle(dir, runner.runner_pid, key) : null;
  }

  /** Reads what was appended to the journal since the last look (one stat when nothing was). */
  private syncJournal(): void {
    let size: number;
    try {
      size = fs.statSync(this.journal).size;
    } catch {
      return;
    }
    if (size < this.journalOffset) this.journalOffset = 0; // rotated by another server process
    if (size > this.journalOffset) this.journalOffset = this.indexJournal(this.journal, this.journalOffset, size);
  }

  /** Indexes the complete lines of `file` from `from`; returns the offset after the last one. */
  private indexJournal(file: string, from: number, to?: number): number {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return from;
    }
    try {
      const end = to ?? fs.fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.max(0, end - from));
      const read = fs.readSync(fd, buffer, 0, buffer.length, from);
      const text = buffer.subarray(0, read).toString('utf8');
      const complete = text.lastIndexOf('\n') + 1;
      for (const line of text.slice(0, complete).split('\n')) {
        if (!line) continue;
        try {
          const entry = JournalEntry.parse(JSON.parse(line));
          this.journalIndex.set(entry.token, { dir: entry.dir, pid: entry.pid });
        } catch {
          // A torn line from a spawner that died mid-write: its runner was never started.
        }
      }
      if (this.journalIndex.size > JOURNAL_INDEX_LIMIT) {
        // Keep the newest half; older tokens belong to attempts long finished.
        let drop = this.journalIndex.size - JOURNAL_INDEX_LIMIT / 2;
        for (const token of this.journalIndex.keys()) {
          if (drop-- <= 0) break;
          this.journalIndex.delete(token);
        }
      }
      return from + Buffer.byteLength(text.slice(0, complete), 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Waits until a start that created `dir` records its runner, for at most `recoverSettleMs` from its beginning. */
  private async waitForHandle(dir: string, key: HandleKey): Promise<ExecutorHandle | null> {
    let age: number;
    const lock = readJsonSync(path.join(dir, FILES.lock), StartLock);
    if (lock) {
      age = this.now() - lock.created_at;
    } else {
      const stat = await fsp.stat(dir).catch(() => null);
      age = stat === null ? Infinity : Date.now() - stat.mtimeMs;
    }
    // Real time from here on: an injected clock may stand still.
    const deadline = Date.now() + Math.min(this.recoverSettleMs, Math.max(0, this.recoverSettleMs - age));
    for (;;) {
      const handle = this.findHandle(dir, key);
      if (handle) return handle;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await sleep(Math.min(left, 50));
    }
  }

  private async observeOne(raw: ExecutorHandle): Promise<Observation> {
    const parsed = LocalHandle.safeParse(raw);
    if (!parsed.success) return { state: 'lost', message: 'This handle is not a local executor handle, so Berth cannot tell what became of the attempt.' };
    const h = parsed.data;
    // Fast path: an attempt our spawner started and has not reported as ended is still running;
    // no need to look at its files or /proc on every pass.
    if (this.spawner.isRunning(h.runner_pid, h.attempt_dir)) {
      const known = this.startedAt.get(h.attempt_dir);
      if (known !== undefined) return { state: 'running', startedAt: known };
      const info = readJsonSync(path.join(h.attempt_dir, FILES.runner), RunnerInfo);
      if (info) {
        this.startedAt.set(h.attempt_dir, info.started_at);
        return { state: 'running', startedAt: info.started_at };
      }
      return { state: 'pending' };
    }
    const resultFile = path.join(h.attempt_dir, FILES.result);
    const result = readJsonSync(resultFile, RunnerResult);
    if (result) return exitedObservation(result);
    const runner = readJsonSync(path.join(h.attempt_dir, FILES.runner), RunnerInfo);
    // A runner that is starting has not created its directory yet: alive means pending.
    if (isRunnerAlive(h.runner_pid, h.attempt_dir)) {
      return runner ? { state: 'running', startedAt: runner.started_at } : { state: 'pending' };
    }
    if (!(await exists(h.attempt_dir))) {
      return {
        state: 'lost',
        message: `The attempt directory ${h.attempt_dir} does not exist (deleted, the Berth data directory moved, or the runner died before creating it), so nothing is known about how this attempt ended.`,
      };
    }
    // The runner may have written its result and exited between our two looks.
    const late = readJsonSync(resultFile, RunnerResult);
    if (late) return exitedObservation(late);
    if (await exists(resultFile)) {
      return { state: 'lost', message: `The result file ${resultFile} of this attempt is unreadable, so Berth cannot tell how it ended.` };
    }
    if (runner) killOrphanGroup(runner, h.execution_uuid);
    return {
      state: 'lost',
      message:
        `The local runner (pid ${h.runner_pid}) that watched this attempt is gone and left no result: it was killed ` +
        '(by SIGKILL, the out-of-memory killer, or a restart of the Berth host) before the command finished. ' +
        `How the command ended is unknown${runner ? '; any of its processes still running were killed' : ''}. ` +
        `Its output so far is in ${h.attempt_dir}.`,
    };
  }

  private notify(hint?: { executionUuid: string }): void {
    for (const listener of this.listeners) {
      try {
        listener(hint);
      } catch {
        // A listener's problem is not the executor's; the monitor's poll still catches up.
      }
    }
  }
}

interface HandleKey {
  launchToken: string;
  executionUuid: string;
  attempt: number;
}

function makeHandle(dir: string, runnerPid: number, key: HandleKey): LocalHandle {
  return {
    executor: 'local',
    attempt_dir: dir,
    runner_pid: runnerPid,
    launch_token: key.launchToken,
    execution_uuid: key.executionUuid,
    attempt: key.attempt,
  };
}

/** Moves a journal that outgrew its limit to `.1` (replacing the older one). */
function rotateJournal(file: string): void {
  try {
    if (fs.statSync(file).size > JOURNAL_ROTATE_BYTES) fs.renameSync(file, `${file}.1`);
  } catch {
    // No journal yet.
  }
}


function exitedObservation(result: z.infer<typeof RunnerResult>): Observation {
  return {
    state: 'exited',
    startedAt: result.started_at,
    finishedAt: result.finished_at,
    exitCode: result.exit_code,
    signal: result.signal,
    timedOut: result.timed_out,
    failure: result.spawn_error ? spawnFailure(result.spawn_error) : null,
  };
}

/** Why the command could not be started, in words that point at the fix. */
function spawnFailure(error: SpawnError): Failure {
  const program = error.program || 'the command';
  switch (error.code) {
    case 'ENOENT':
      return startFailure(
        'COMMAND_NOT_FOUND',
        `Could not start "${program}": no such program. Give its absolute path or make sure it is on the PATH of the Berth host (a script's #! interpreter must exist too).`,
      );
    case 'EACCES':
    case 'EPERM':
    case 'ENOEXEC':
      return startFailure(
        'COMMAND_NOT_EXECUTABLE',
        `Could not start "${program}": it is not executable by the Berth server's user (${error.code}). Make it executable (chmod +x) or run it through its interpreter.`,
      );
    case 'WORKING_DIRECTORY_MISSING':
      return startFailure('WORKING_DIRECTORY_MISSING', `Could not start "${program}": ${error.message}. Create it, or change the Task's working_directory.`);
    default:
      return startFailure('SPAWN_FAILED', `Could not start "${program}": ${error.message}`, 'infrastructure');
  }
}

/**
 * Whether `pid` is still this attempt's runner. A bare signal 0 would be fooled by a reused pid,
 * so on Linux the command line (which carries the spec) must also name the attempt directory.
 */
function isRunnerAlive(pid: number, attemptDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false; // ESRCH, or EPERM: a process of another user now holds the pid
  }
  if (process.platform !== 'linux') return true;
  try {
    // The specs are JSON on the runner's command line: a path with quotes or backslashes is escaped there.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(attemptDir) || cmdline.includes(JSON.stringify(attemptDir).slice(1, -1));
  } catch {
    return false;
  }
}

/**
 * Kills what is left of a command whose runner died, so it does not run on unwatched. Careful
 * not to hit a stranger's group under a reused id: nothing from before the last boot survives,
 * and on Linux some member of the group must carry this execution's BERTH_TASK_EXECUTION_UUID.
 */
function killOrphanGroup(runner: RunnerInfo, executionUuid: string): void {
  const bootedAt = Date.now() - os.uptime() * 1000;
  if (runner.started_at < bootedAt) return;
  if (process.platform === 'linux' && !groupCarries(runner.child_pid, `BERTH_TASK_EXECUTION_UUID=${executionUuid}\0`)) return;
  try {
    process.kill(-runner.child_pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone.
  }
}

function groupCarries(pgid: number, marker: string): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after "(comm)": state ppid pgrp …; comm itself may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      if (fs.readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)) return true;
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return false;
}

/**
 * Reads whole lines from `file` at `offset`, at most `budget` bytes. A trailing partial line
 * waits for its newline unless the attempt has finished and this is the end of the file; a line
 * longer than the whole budget is split so that reading always progresses.
 */
async function readLines(
  file: string,
  offset: number,
  budget: number,
  left: number,
  finished: boolean,
): Promise<{ lines: string[]; consumed: number }> {
  if (budget <= 0) return { lines: [], consumed: 0 };
  const handle = await fsp.open(file, 'r');
  let chunk: Buffer;
  try {
    const buffer = Buffer.alloc(budget);
    const { bytesRead } = await handle.read(buffer, 0, budget, offset);
    chunk = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const atEnd = chunk.length >= left;
  let take = chunk.lastIndexOf(0x0a) + 1;
  if (take < chunk.length) {
    if (atEnd && finished) take = chunk.length;
    else if (take === 0 && chunk.length === budget && !atEnd) take = utf8Boundary(chunk);
  }
  if (take === 0) return { lines: [], consumed: 0 };
  const text = chunk.subarray(0, take).toString('utf8');
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return { lines: lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line)), consumed: take };
}

/** Length of `chunk` without a UTF-8 sequence cut at its end (all of it if that would leave nothing). */
function utf8Boundary(chunk: Buffer): number {
  let lead = chunk.length - 1;
  while (lead > 0 && chunk.length - lead < 4 && ((chunk[lead] ?? 0) & 0xc0) === 0x80) lead--;
  const first = chunk[lead] ?? 0;
  const needed = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return needed > chunk.length - lead && lead > 0 ? lead : chunk.length;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(cursor: string | undefined): Cursor {
  if (cursor === undefined || cursor === '') return { o: 0, e: 0 };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = Cursor.safeParse(value);
  if (!parsed.success) {
    throw new BerthError('VALIDATION_FAILED', 'The log cursor is not one this server handed out; start again without a cursor.', {
      issues: [{ path: 'cursor', message: 'not a valid local log cursor' }],
    });
  }
  return parsed.data;
}


function readJsonSync<T>(file: string, schema: z.ZodType<T>): T | null {
  // Most looks are for files that do not exist yet (result.json of a running attempt): asking
  // first is far cheaper than the exception a failed read builds.
  if (!fs.existsSync(file)) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Readers never see half a file: write a temporary file, then rename it into place. */
async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(value), { mode: 0o600 });
  await fsp.rename(tmp, file);
}


async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await fsp.stat(file)).size;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
