// @ts-check
/**
 * The local spawner: a small, long-lived helper process that starts local runners for the Berth
 * server.
 *
 * Why it exists: starting a process forks its parent, and fork costs time in proportion to the
 * parent's memory. The server is large (HTTP, database, schemas) and this process is small, so
 * runners are forked from here: about a sixth of the CPU per start, off the server's event loop.
 *
 * Protocol, one JSON object per line:
 * - stdin  `{id, command, args, cwd, env, journal, entries: [{token, dir}], input}`: start one
 *   runner for the attempts in `entries`, detached (its own session, so it outlives this process
 *   and the server), with exactly the environment `env`, `input` written to its stdin (then
 *   closed), its stdout read here and its stderr discarded (the runner writes its notes into each
 *   attempt's own stderr.log).
 * - stdout `{id, pid}` once started — after a line `{token, dir, pid, at}` per entry was appended
 *   to the `journal` file — or `{id, error: {code, message}}`; the runner's own `{done: dir}`
 *   lines as they come (an attempt ended: its result.json is written); and `{exit: pid}` when a
 *   runner it started has exited, after all of that runner's lines.
 * The journal is how a restarted server finds a runner whose start it did not see finish; one
 * append to a file kept open costs far less than creating a file per start.
 * When stdin closes (the server stopped or died) it exits; the runners keep running.
 *
 * Node built-ins only: it must start fast with plain `node`, from src/ or dist/.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** @param {unknown} message */
function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

/**
 * @typedef {{ id: number, command: string, args: string[], cwd: string, env: Record<string, string>,
 *   journal: string, entries: { token: string, dir: string }[], input: string }} SpawnRequest
 */

/**
 * Open journal files by path, appended to with one write(2) per start.
 * @type {Map<string, number>}
 */
const journals = new Map();

/** @param {string} file */
function journalFd(file) {
  let fd = journals.get(file);
  if (fd === undefined) {
    fd = fs.openSync(file, 'a', 0o600);
    journals.set(file, fd);
  }
  return fd;
}

/** @param {SpawnRequest} request */
function start(request) {
  try {
    const child = spawn(request.command, request.args, {
      cwd: request.cwd,
      env: request.env,
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', (error) => {
        const e = /** @type {NodeJS.ErrnoException} */ (error);
        send({ id: request.id, error: { code: e.code ?? 'SPAWN_FAILED', message: e.message } });
      });
      return;
    }
    // At once and synchronously: from here on a crash of anything leaves a findable runner.
    const at = Date.now();
    const lines = request.entries.map((entry) => JSON.stringify({ token: entry.token, dir: entry.dir, pid, at }) + '\n');
    fs.writeSync(journalFd(request.journal), lines.join(''));
    child.on('error', () => undefined);
    child.stdin.on('error', () => undefined);
    child.stdin.end(request.input);
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (/** @type {string} */ chunk) => {
      pending += chunk;
      const complete = pending.lastIndexOf('\n') + 1;
      if (complete === 0) return;
      // The runner's lines are already JSON messages for the server: passed on as they are.
      process.stdout.write(pending.slice(0, complete));
      pending = pending.slice(complete);
    });
    // 'close', not 'exit': after the last of its lines was read.
    child.on('close', () => send({ exit: pid }));
    send({ id: request.id, pid });
  } catch (error) {
    const e = /** @type {NodeJS.ErrnoException} */ (error);
    send({ id: request.id, error: { code: e.code ?? 'SPAWN_FAILED', message: e.message } });
  }
}

let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
    const line = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    if (line.trim() === '') continue;
    /** @type {SpawnRequest} */
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      process.stderr.write('berth local spawner: ignoring a malformed request\n');
      continue;
    }
    start(request);
  }
});
process.stdin.on('end', () => process.exit(0));
// The server went away mid-write: nothing is left to tell.
process.stdout.on('error', () => process.exit(0));
