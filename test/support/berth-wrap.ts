/**
 * Test harness for berth-wrap: builds the bundle (dist/berth-wrap.mjs) and runs it as a real
 * child process with a clean environment (nothing of the developer's BERTH_*, PROC_WRAPPER_* or
 * AWS_* settings leaks in).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWrapper } from '../../scripts/build-wrapper.mjs';
import { waitFor } from './temp.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE = path.join(REPO_ROOT, 'dist', 'berth-wrap.mjs');
export const PACKAGE_DIR = path.join(REPO_ROOT, 'packages', 'berth-wrap');
export const CLIENT_BUNDLE = path.join(PACKAGE_DIR, 'dist', 'client.mjs');

let built: Promise<unknown> | undefined;

/** Builds the bundle once per test file (fast; writes atomically, so parallel files are safe). */
export function ensureWrapperBuilt(): Promise<unknown> {
  built ??= buildWrapper();
  return built;
}

export interface WrapResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface WrapProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr (berth-wrap's own messages go there). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<WrapResult>;
}

export interface WrapOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  /** Another copy of the bundle (e.g. in a directory without node_modules). */
  bundle?: string;
}

/** A minimal environment, plus `extra` (undefined removes). */
export function wrapEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LANG: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts the bundled berth-wrap with `args` (options, `--`, the command). */
export function spawnWrap(args: readonly string[], options: WrapOptions = {}): WrapProcess {
  const started = Date.now();
  const child = spawn(process.execPath, [options.bundle ?? BUNDLE, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: wrapEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  if (options.input !== undefined) child.stdin!.end(options.input);
  else child.stdin!.end();
  const exited = new Promise<WrapResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr: (pattern, timeoutMs = 20_000) =>
      waitFor(
        () => {
          if (child.exitCode !== null && !pattern.test(stderr)) throw new Error(`berth-wrap exited (${child.exitCode}) first; stderr: ${stderr}`);
          return stderr.match(pattern);
        },
        `${pattern} in berth-wrap's stderr (so far: ${JSON.stringify(stderr)})`,
        timeoutMs,
      ),
    exited,
  };
}

/** Runs the bundled berth-wrap to its end. */
export function runWrap(args: readonly string[], options: WrapOptions = {}): Promise<WrapResult> {
  return spawnWrap(args, options).exited;
}

/** The execution uuid berth-wrap announced on stderr. */
export function announcedUuid(stderr: string): string {
  const m = /as execution ([0-9a-f-]{36})/.exec(stderr);
  if (!m) throw new Error(`berth-wrap did not announce an execution; stderr: ${stderr}`);
  return m[1]!;
}

/** Whether a process with this pid still runs (a zombie, dead but not yet reaped, does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
