// @ts-check
/**
 * The local runner: one small Node process per batch of attempts (one or more), started detached
 * by the local spawner as `node local-runner.js '<specs as a JSON array>'`, with the attempts'
 * environments as a JSON array (same order) on its stdin.
 *
 * Why it exists: the Berth server may be SIGKILLed, Ctrl-C'd or restarted while a Task runs. The
 * runner lives in its own session, so it outlives the server, keeps enforcing each attempt's
 * timeout, and writes down how each command ended (`result.json`) for whichever server looks
 * next. It imports nothing from the project so that plain `node` starts it in milliseconds.
 *
 * Why batches: starting a Node.js process costs tens of milliseconds of CPU, far more than the
 * command it watches may cost; when the launcher starts several attempts at once they share one
 * runner. The price is shared fate: a runner killed by SIGKILL (or the out-of-memory killer)
 * loses the exit status of every attempt of its batch (each then ends ABANDONED with the reason,
 * and its orphaned processes are killed). `BERTH_LOCAL_RUNNER_BATCH_SIZE=1` gives each attempt a
 * runner of its own.
 *
 * The specs (on the command line, where `ps` shows them) say what to run and never hold an
 * environment value; the environments, secrets included, arrive through the pipe and stay in memory.
 *
 * Signals: SIGTERM or SIGINT stops every attempt of the batch; SIGUSR2 stops the attempts whose
 * `stop-requested.json` exists (how the executor stops one attempt of a batch).
 *
 * Files in each attempt directory it reads or writes (names shared with local-executor.ts):
 * - `stdout.log`, `stderr.log`  created (appended to) by the runner and handed to the command;
 *                          the runner's own `berth: …` notes go to stderr.log too
 * - `stop-requested.json`  read: a stop of this attempt
 * - `runner.json`          written right after the spawn: `{runner_pid, child_pid, started_at,
 *                          stop_signal, spec}`
 * - `result.json`          written last: `{exit_code, signal, started_at, finished_at, timed_out,
 *                          stopped, spawn_error?}`
 * After writing an attempt's result.json it writes `{"done": "<attempt_dir>"}` and a newline to
 * its stdout (the spawner's pipe), so the server hears of each attempt's end without polling;
 * once the spawner is gone the line goes nowhere and the file is what counts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * @typedef {object} RunnerSpec
 * @property {string | string[]} command  a string runs through `/bin/sh -c`, a list directly
 * @property {string} cwd                 absolute working directory of the command
 * @property {number | null} timeout_seconds
 * @property {number} grace_seconds       SIGTERM → SIGKILL delay on timeout or stop
 * @property {string} attempt_dir
 */

/**
 * @typedef {object} SpawnError
 * @property {string} code      errno code (`ENOENT`, `EACCES`…) or `WORKING_DIRECTORY_MISSING`, `RUNNER_ERROR`
 * @property {string} message
 * @property {string} program
 */

/**
 * @typedef {object} RunnerResult
 * @property {number | null} exit_code
 * @property {string | null} signal
 * @property {number | null} started_at   epoch ms; null when the command never started
 * @property {number} finished_at         epoch ms
 * @property {boolean} timed_out
 * @property {boolean} stopped
 * @property {SpawnError} [spawn_error]
 */

/**
 * @typedef {object} Attempt
 * @property {RunnerSpec} spec
 * @property {number} noteFd             the attempt's stderr.log once open (-1 before)
 * @property {number} outFd
 * @property {number | null} childPid
 * @property {number | null} startedAt
 * @property {boolean} stopRequested
 * @property {boolean} timedOut
 * @property {boolean} terminating
 * @property {boolean} finished
 * @property {NodeJS.Timeout[]} timers
 */

const RUNNER_FILE = 'runner.json';
const RESULT_FILE = 'result.json';
const STOP_FILE = 'stop-requested.json';
/** The signal that makes this runner look for stop files; written to runner.json for the executor. */
const STOP_ONE_SIGNAL = 'SIGUSR2';
/** setTimeout fires at once for delays above this; longer timeouts are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** @type {Attempt[]} */
const attempts = [];
/** Set by SIGTERM/SIGINT: every attempt, started or not, is to stop. */
let stopAll = false;

// Installed before anything else: a stop that arrives while we are still starting is remembered
// and acted on right after each spawn (or prevents it).
process.on('SIGTERM', onStopAll);
process.on('SIGINT', onStopAll);
process.on(STOP_ONE_SIGNAL, onStopFiles);
// Its stderr is /dev/null: a crash of the runner itself is written where people look.
process.on('uncaughtException', (error) => {
  for (const attempt of attempts) if (!attempt.finished) note(attempt, `the runner failed: ${describeError(error)}`);
  process.exit(1);
});

main();

function main() {
  /** @type {RunnerSpec[]} */
  let specs;
  try {
    specs = readSpecs(process.argv[2] ?? '');
  } catch (error) {
    // Without specs there is no attempt directory to write to; the executor reports the attempts
    // lost when it finds this runner gone without results.
    process.stderr.write(`berth local runner: could not read the specs: ${describeError(error)}\n`);
    process.exit(2);
  }
  for (const spec of specs) {
    attempts.push({
      spec,
      noteFd: -1,
      outFd: -1,
      childPid: null,
      startedAt: null,
      stopRequested: false,
      timedOut: false,
      terminating: false,
      finished: false,
      timers: [],
    });
  }
  /** @type {Buffer[]} */
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(/** @type {Buffer} */ (chunk)));
  process.stdin.on('error', () => undefined);
  process.stdin.on('end', () => startAll(Buffer.concat(chunks).toString('utf8')));
}

/** @param {string} input  the environments, as a JSON array in the order of the specs */
function startAll(input) {
  /** @type {Record<string, string>[] | null} */
  let envs = null;
  try {
    const parsed = JSON.parse(input);
    if (Array.isArray(parsed) && parsed.length === attempts.length) envs = parsed;
  } catch {
    envs = null;
  }
  for (let i = 0; i < attempts.length; i++) {
    const attempt = /** @type {Attempt} */ (attempts[i]);
    const env = envs?.[i];
    try {
      startAttempt(attempt, env);
    } catch (error) {
      failToSpawn(attempt, '', 'RUNNER_ERROR', describeError(error));
    }
  }
  exitWhenAllFinished();
}

/**
 * @param {Attempt} attempt
 * @param {Record<string, string> | undefined} env
 */
function startAttempt(attempt, env) {
  const { spec } = attempt;
  try {
    // The runner creates the attempt directory: the Berth server creates nothing per start.
    fs.mkdirSync(spec.attempt_dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    failToSpawn(attempt, '', 'RUNNER_ERROR', `could not create the attempt directory ${spec.attempt_dir}: ${describeError(error)}`);
    return;
  }
  try {
    attempt.outFd = fs.openSync(path.join(spec.attempt_dir, 'stdout.log'), 'a', 0o600);
    attempt.noteFd = fs.openSync(path.join(spec.attempt_dir, 'stderr.log'), 'a', 0o600);
  } catch (error) {
    failToSpawn(attempt, '', 'RUNNER_ERROR', `could not open the log files in ${spec.attempt_dir}: ${describeError(error)}`);
    return;
  }
  if (typeof env !== 'object' || env === null) {
    failToSpawn(attempt, '', 'RUNNER_ERROR', 'the runner did not receive the environment of the command (the Berth server stopped while starting it)');
    return;
  }

  if (stopAll || attempt.stopRequested || stopFileExists(attempt)) {
    // Stopped before it started: nothing to kill; report it as ended by the stop (SIGTERM).
    attempt.stopRequested = true;
    note(attempt, 'stop requested before the command started; not starting it');
    finish(attempt, { exit_code: null, signal: 'SIGTERM', started_at: null, finished_at: Date.now(), timed_out: false, stopped: true });
    return;
  }

  const program = typeof spec.command === 'string' ? '/bin/sh' : (spec.command[0] ?? '');
  const args = typeof spec.command === 'string' ? ['-c', spec.command] : spec.command.slice(1);

  if (!isDirectory(spec.cwd)) {
    failToSpawn(attempt, program, 'WORKING_DIRECTORY_MISSING', `the working directory ${spec.cwd} does not exist`);
    return;
  }

  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    // detached: the command leads its own process group, so one kill(-pgid) reaches everything
    // it started, and nothing of it is in the runner's group.
    child = spawn(program, args, { cwd: spec.cwd, env, stdio: ['ignore', attempt.outFd, attempt.noteFd], detached: true });
  } catch (error) {
    failToSpawn(attempt, program, errorCode(error) ?? 'SPAWN_FAILED', describeError(error));
    return;
  }
  child.on('error', (error) => {
    if (child.pid === undefined) {
      failToSpawn(attempt, program, errorCode(error) ?? 'SPAWN_FAILED', describeError(error));
      exitWhenAllFinished();
    }
  });
  if (child.pid === undefined) return; // the 'error' event follows

  attempt.childPid = child.pid;
  attempt.startedAt = Date.now();
  child.on('exit', (code, signal) => onChildExit(attempt, code, signal));
  try {
    writeJsonAtomic(path.join(spec.attempt_dir, RUNNER_FILE), {
      runner_pid: process.pid,
      child_pid: attempt.childPid,
      started_at: attempt.startedAt,
      stop_signal: STOP_ONE_SIGNAL,
      // What ran, for people reading the directory (no environment: no secrets).
      spec: { command: spec.command, cwd: spec.cwd, timeout_seconds: spec.timeout_seconds, grace_seconds: spec.grace_seconds },
    });
  } catch (error) {
    note(attempt, `could not write ${RUNNER_FILE}: ${describeError(error)}`);
  }

  if (spec.timeout_seconds !== null) {
    after(attempt, spec.timeout_seconds * 1000, () => {
      if (attempt.terminating) return;
      attempt.timedOut = true;
      note(attempt, `the command ran longer than its timeout of ${spec.timeout_seconds} s; sending SIGTERM`);
      terminate(attempt);
    });
  }
  // A stop that came after our first look and before runner.json existed left only the file
  // (the executor signals us only once runner.json exists).
  if (stopAll || attempt.stopRequested || stopFileExists(attempt)) requestStop(attempt);
}

function onStopAll() {
  stopAll = true;
  for (const attempt of attempts) requestStop(attempt);
}

function onStopFiles() {
  for (const attempt of attempts) if (!attempt.finished && stopFileExists(attempt)) requestStop(attempt);
}

/** @param {Attempt} attempt */
function requestStop(attempt) {
  attempt.stopRequested = true;
  if (attempt.childPid === null || attempt.terminating || attempt.finished) return;
  note(attempt, 'stop requested; sending SIGTERM');
  terminate(attempt);
}

/**
 * SIGTERM to the attempt's whole group now, SIGKILL after the grace period; once per attempt.
 * @param {Attempt} attempt
 */
function terminate(attempt) {
  if (attempt.terminating || attempt.childPid === null || attempt.finished) return;
  attempt.terminating = true;
  const pgid = attempt.childPid;
  killGroup(attempt, pgid, 'SIGTERM');
  after(attempt, attempt.spec.grace_seconds * 1000, () => {
    note(attempt, `the command did not end within ${attempt.spec.grace_seconds} s of SIGTERM; sending SIGKILL`);
    killGroup(attempt, pgid, 'SIGKILL');
  });
}

/**
 * @param {Attempt} attempt
 * @param {number | null} code
 * @param {NodeJS.Signals | null} signal
 */
function onChildExit(attempt, code, signal) {
  if (attempt.finished) return;
  // Background processes it left behind would otherwise run on unwatched.
  if (attempt.childPid !== null) killGroup(attempt, attempt.childPid, 'SIGKILL');
  finish(attempt, {
    exit_code: code,
    signal,
    started_at: attempt.startedAt,
    finished_at: Date.now(),
    timed_out: attempt.timedOut,
    stopped: attempt.stopRequested,
  });
  exitWhenAllFinished();
}

/**
 * @param {Attempt} attempt
 * @param {string} program
 * @param {string} code
 * @param {string} message
 */
function failToSpawn(attempt, program, code, message) {
  if (attempt.finished) return;
  const what = program ? `"${program}"` : 'the command';
  note(attempt, `could not start ${what}: ${message}`);
  finish(attempt, {
    exit_code: null,
    signal: null,
    started_at: null,
    finished_at: Date.now(),
    timed_out: false,
    stopped: attempt.stopRequested,
    spawn_error: { code, message, program },
  });
}

/**
 * Writes the attempt's result, then tells the spawner (if it still listens).
 * @param {Attempt} attempt
 * @param {RunnerResult} result
 */
function finish(attempt, result) {
  if (attempt.finished) return;
  attempt.finished = true;
  for (const timer of attempt.timers) clearTimeout(timer);
  try {
    writeJsonAtomic(path.join(attempt.spec.attempt_dir, RESULT_FILE), result);
  } catch (error) {
    // Unreadable for the server: it reports the attempt lost, with this note in its stderr.log.
    note(attempt, `could not write ${RESULT_FILE}: ${describeError(error)}`);
  }
  for (const fd of [attempt.outFd, attempt.noteFd]) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
  attempt.outFd = -1;
  attempt.noteFd = -1;
  try {
    // One write(2) of a short line: atomic on a pipe. EPIPE once the spawner is gone.
    fs.writeSync(1, JSON.stringify({ done: attempt.spec.attempt_dir }) + '\n');
  } catch {
    // Nobody listens any more; result.json is what counts.
  }
}

function exitWhenAllFinished() {
  if (attempts.every((attempt) => attempt.finished)) process.exit(0);
}

/**
 * @param {Attempt} attempt
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
function killGroup(attempt, pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') note(attempt, `could not send ${signal} to process group ${pgid}: ${describeError(error)}`);
  }
}

/**
 * Runs `fn` after `ms`, chaining timers because setTimeout cannot wait longer than ~24.8 days.
 * @param {Attempt} attempt
 * @param {number} ms
 * @param {() => void} fn
 */
function after(attempt, ms, fn) {
  const deadline = Date.now() + ms;
  const arm = () => {
    if (attempt.finished) return;
    const left = deadline - Date.now();
    if (left <= 0) return fn();
    attempt.timers.push(setTimeout(arm, Math.min(left, MAX_TIMER_MS)));
  };
  arm();
}

/**
 * A `berth: …` line in the attempt's stderr.log, where people read the command's errors.
 * @param {Attempt} attempt
 * @param {string} text
 */
function note(attempt, text) {
  if (attempt.noteFd < 0) return;
  try {
    fs.writeSync(attempt.noteFd, `berth: ${text}\n`);
  } catch {
    // Nowhere left to say it.
  }
}

/** @param {Attempt} attempt */
function stopFileExists(attempt) {
  return fs.existsSync(path.join(attempt.spec.attempt_dir, STOP_FILE));
}

/**
 * @param {string} argument  the specs as a JSON array
 * @returns {RunnerSpec[]}
 */
function readSpecs(argument) {
  /** @type {unknown} */
  const raw = JSON.parse(argument);
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('the specs are not a non-empty JSON array');
  return raw.map((item, i) => {
    if (typeof item !== 'object' || item === null) throw new Error(`spec ${i} is not a JSON object`);
    const spec = /** @type {Record<string, unknown>} */ (item);
    const command = spec.command;
    const validCommand =
      (typeof command === 'string' && command.length > 0) ||
      (Array.isArray(command) && command.length > 0 && command.every((part) => typeof part === 'string'));
    if (!validCommand) throw new Error(`spec ${i}: "command" must be a non-empty string or list of strings`);
    if (typeof spec.cwd !== 'string') throw new Error(`spec ${i}: "cwd" must be a string`);
    if (typeof spec.attempt_dir !== 'string' || !path.isAbsolute(spec.attempt_dir)) throw new Error(`spec ${i}: "attempt_dir" must be an absolute path`);
    const timeout = spec.timeout_seconds;
    const grace = spec.grace_seconds;
    return {
      command: /** @type {string | string[]} */ (command),
      cwd: spec.cwd,
      timeout_seconds: typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0 ? timeout : null,
      grace_seconds: typeof grace === 'number' && Number.isFinite(grace) && grace >= 0 ? grace : 10,
      attempt_dir: spec.attempt_dir,
    };
  });
}

/**
 * @param {string} file
 * @param {unknown} value
 */
function writeJsonAtomic(file, value) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** @param {string} dir */
function isDirectory(dir) {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * @param {unknown} error
 * @returns {string | undefined}
 */
function errorCode(error) {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

/** @param {unknown} error */
function describeError(error) {
  const code = errorCode(error);
  if (code === 'ENOENT') return 'no such file or directory (ENOENT): the program is not on PATH, or a script names an interpreter that does not exist';
  if (code === 'EACCES') return 'permission denied (EACCES): the file is not executable';
  return error instanceof Error ? error.message : String(error);
}
