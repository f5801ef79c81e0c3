// @ts-check
/**
 * The local runner: one small Node process per attempt, started detached by the local executor
 * as `node local-runner.js '<spec as JSON>'` (or `node local-runner.js <path of a spec.json>`).
 *
 * Why it exists: the Berth server may be SIGKILLed, Ctrl-C'd or restarted while a Task runs. The
 * runner lives in its own session, so it outlives the server, keeps enforcing the timeout, and
 * writes down how the command ended (`result.json`) for whichever server looks next. It imports
 * nothing from the project so that plain `node` starts it in milliseconds.
 *
 * The spec says what to run and never holds an environment value: secrets stay in memory.
 *
 * Files in the attempt directory it reads or writes (names shared with local-executor.ts):
 * - `stdout.log`, `stderr.log`  created (appended to) by the runner and handed to the command;
 *                          the runner's own `berth: …` notes go to stderr.log too
 * - `stop-requested.json`  read: a stop that arrived before this runner could receive SIGTERM
 * - `runner.json`          written right after the spawn: `{runner_pid, child_pid, started_at, spec}`
 * - `result.json`          written last: `{exit_code, signal, started_at, finished_at, timed_out,
 *                          stopped, spawn_error?}`
 *
 * Its environment is the command's final environment, except that the Task's `NODE_OPTIONS`
 * arrives as `BERTH_RUNNER_CHILD_NODE_OPTIONS` (so it configures the command, not this runner).
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

const RUNNER_FILE = 'runner.json';
const RESULT_FILE = 'result.json';
const STOP_FILE = 'stop-requested.json';
const NODE_OPTIONS_ESCAPE = 'BERTH_RUNNER_CHILD_NODE_OPTIONS';
/** setTimeout fires at once for delays above this; longer timeouts are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const specArgument = process.argv[2] ?? '';
const inlineSpec = specArgument.trimStart().startsWith('{');
/** Where runner.json and result.json go: the spec's `attempt_dir`, else the spec file's folder. */
let attemptDir = inlineSpec ? process.cwd() : path.dirname(path.resolve(specArgument || '.'));
/** The attempt's stderr.log once open; the runner's notes go there. */
let noteFd = 2;

let stopRequested = false;
let timedOut = false;
let terminating = false;
let finished = false;
/** @type {number | null} */
let childPid = null;
/** @type {number | null} */
let startedAt = null;
/** @type {NodeJS.Timeout[]} */
const timers = [];
let graceSeconds = 10;

// Installed before anything else: a stop that arrives while we are still starting is remembered
// and acted on right after the spawn (or prevents it).
process.on('SIGTERM', onStopSignal);
process.on('SIGINT', onStopSignal);
// Its own stdio is /dev/null: a crash of the runner itself is written where people look.
process.on('uncaughtException', (error) => {
  note(`the runner failed: ${describeError(error)}`);
  process.exit(1);
});

main();

function main() {
  if (!specArgument) {
    note('usage: node local-runner.js <spec JSON | spec.json>');
    process.exit(2);
  }
  /** @type {RunnerSpec} */
  let spec;
  try {
    spec = readSpec(specArgument);
  } catch (error) {
    failToSpawn('', 'RUNNER_ERROR', `could not read the spec: ${describeError(error)}`);
    return;
  }
  graceSeconds = spec.grace_seconds;
  attemptDir = spec.attempt_dir;
  try {
    // The runner creates its attempt directory: the Berth server creates nothing per start.
    fs.mkdirSync(attemptDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    failToSpawn('', 'RUNNER_ERROR', `could not create the attempt directory ${attemptDir}: ${describeError(error)}`);
    return;
  }
  /** @type {number} */
  let outFd;
  /** @type {number} */
  let errFd;
  try {
    outFd = fs.openSync(path.join(attemptDir, 'stdout.log'), 'a', 0o600);
    errFd = fs.openSync(path.join(attemptDir, 'stderr.log'), 'a', 0o600);
  } catch (error) {
    failToSpawn('', 'RUNNER_ERROR', `could not open the log files in ${attemptDir}: ${describeError(error)}`);
    return;
  }
  noteFd = errFd;

  if (stopRequested || fs.existsSync(path.join(attemptDir, STOP_FILE))) {
    // Stopped before it started: nothing to kill; report it as ended by the stop (SIGTERM).
    note('stop requested before the command started; not starting it');
    finish({ exit_code: null, signal: 'SIGTERM', started_at: null, finished_at: Date.now(), timed_out: false, stopped: true });
    return;
  }

  const program = typeof spec.command === 'string' ? '/bin/sh' : (spec.command[0] ?? '');
  const args = typeof spec.command === 'string' ? ['-c', spec.command] : spec.command.slice(1);
  const shownProgram = typeof spec.command === 'string' ? '/bin/sh' : program;

  if (!isDirectory(spec.cwd)) {
    failToSpawn(shownProgram, 'WORKING_DIRECTORY_MISSING', `the working directory ${spec.cwd} does not exist`);
    return;
  }

  const env = { ...process.env };
  if (NODE_OPTIONS_ESCAPE in env) {
    env.NODE_OPTIONS = env[NODE_OPTIONS_ESCAPE];
    delete env[NODE_OPTIONS_ESCAPE];
  }

  /** @type {import('node:child_process').ChildProcess} */
  let child;
  try {
    // detached: the command leads its own process group, so one kill(-pgid) reaches everything
    // it started, and nothing of it is in the runner's group.
    child = spawn(program, args, { cwd: spec.cwd, env, stdio: ['ignore', outFd, errFd], detached: true });
  } catch (error) {
    failToSpawn(shownProgram, errorCode(error) ?? 'SPAWN_FAILED', describeError(error));
    return;
  }
  child.on('error', (error) => {
    if (child.pid === undefined) failToSpawn(shownProgram, errorCode(error) ?? 'SPAWN_FAILED', describeError(error));
  });
  if (child.pid === undefined) return; // the 'error' event follows

  childPid = child.pid;
  startedAt = Date.now();
  child.on('exit', (code, signal) => onChildExit(code, signal));
  try {
    writeJsonAtomic(path.join(attemptDir, RUNNER_FILE), {
      runner_pid: process.pid,
      child_pid: childPid,
      started_at: startedAt,
      // What ran, for people reading the directory (no environment: no secrets).
      spec: { command: spec.command, cwd: spec.cwd, timeout_seconds: spec.timeout_seconds, grace_seconds: spec.grace_seconds },
    });
  } catch (error) {
    note(`could not write ${RUNNER_FILE}: ${describeError(error)}`);
  }

  if (spec.timeout_seconds !== null) {
    after(spec.timeout_seconds * 1000, () => {
      if (terminating) return;
      timedOut = true;
      note(`the command ran longer than its timeout of ${spec.timeout_seconds} s; sending SIGTERM`);
      terminate();
    });
  }
  // A stop that came after our first look and before runner.json existed left only the file
  // (the executor signals us only once runner.json exists).
  if (stopRequested || fs.existsSync(path.join(attemptDir, STOP_FILE))) onStopSignal();
}

function onStopSignal() {
  stopRequested = true;
  if (childPid === null || terminating || finished) return;
  note('stop requested; sending SIGTERM');
  terminate();
}

/** SIGTERM to the whole group now, SIGKILL after the grace period; once per attempt. */
function terminate() {
  if (terminating || childPid === null || finished) return;
  terminating = true;
  const pgid = childPid;
  killGroup(pgid, 'SIGTERM');
  after(graceSeconds * 1000, () => {
    note(`the command did not end within ${graceSeconds} s of SIGTERM; sending SIGKILL`);
    killGroup(pgid, 'SIGKILL');
  });
}

/**
 * @param {number | null} code
 * @param {NodeJS.Signals | null} signal
 */
function onChildExit(code, signal) {
  if (finished) return;
  for (const timer of timers) clearTimeout(timer);
  // Background processes it left behind would otherwise run on unwatched.
  if (childPid !== null) killGroup(childPid, 'SIGKILL');
  finish({
    exit_code: code,
    signal,
    started_at: startedAt,
    finished_at: Date.now(),
    timed_out: timedOut,
    stopped: stopRequested,
  });
}

/**
 * @param {string} program
 * @param {string} code
 * @param {string} message
 */
function failToSpawn(program, code, message) {
  if (finished) return;
  const what = program ? `"${program}"` : 'the command';
  note(`could not start ${what}: ${message}`);
  finish({
    exit_code: null,
    signal: null,
    started_at: null,
    finished_at: Date.now(),
    timed_out: false,
    stopped: stopRequested,
    spawn_error: { code, message, program },
  });
}

/** @param {RunnerResult} result */
function finish(result) {
  if (finished) return;
  finished = true;
  try {
    writeJsonAtomic(path.join(attemptDir, RESULT_FILE), result);
  } catch (error) {
    note(`could not write ${RESULT_FILE}: ${describeError(error)}`);
    process.exit(1);
  }
  process.exit(0);
}

/**
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if (errorCode(error) !== 'ESRCH') note(`could not send ${signal} to process group ${pgid}: ${describeError(error)}`);
  }
}

/**
 * Runs `fn` after `ms`, chaining timers because setTimeout cannot wait longer than ~24.8 days.
 * @param {number} ms
 * @param {() => void} fn
 */
function after(ms, fn) {
  const deadline = Date.now() + ms;
  const arm = () => {
    const left = deadline - Date.now();
    if (left <= 0) return fn();
    timers.push(setTimeout(arm, Math.min(left, MAX_TIMER_MS)));
  };
  arm();
}

/**
 * A `berth: …` line in the attempt's stderr.log, where people read the command's errors.
 * @param {string} text
 */
function note(text) {
  try {
    fs.writeSync(noteFd, `berth: ${text}\n`);
  } catch {
    // Nowhere left to say it.
  }
}

/**
 * @param {string} argument  the spec as JSON, or the path of a file holding it
 * @returns {RunnerSpec}
 */
function readSpec(argument) {
  /** @type {unknown} */
  const raw = JSON.parse(inlineSpec ? argument : fs.readFileSync(argument, 'utf8'));
  if (typeof raw !== 'object' || raw === null) throw new Error('the spec is not a JSON object');
  const spec = /** @type {Record<string, unknown>} */ (raw);
  const command = spec.command;
  const validCommand =
    (typeof command === 'string' && command.length > 0) ||
    (Array.isArray(command) && command.length > 0 && command.every((part) => typeof part === 'string'));
  if (!validCommand) throw new Error('"command" must be a non-empty string or list of strings');
  if (typeof spec.cwd !== 'string') throw new Error('"cwd" must be a string');
  const timeout = spec.timeout_seconds;
  const grace = spec.grace_seconds;
  return {
    command: /** @type {string | string[]} */ (command),
    cwd: spec.cwd,
    timeout_seconds: typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0 ? timeout : null,
    grace_seconds: typeof grace === 'number' && Number.isFinite(grace) && grace >= 0 ? grace : 10,
    attempt_dir: typeof spec.attempt_dir === 'string' ? spec.attempt_dir : attemptDir,
  };
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
